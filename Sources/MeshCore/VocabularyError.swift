/// Why a piece of vocabulary text (an identifier, a region code, a sector name) was refused.
///
/// These come from users, files and peers, so they are typed errors, never traps. The
/// ``description`` names the problem and what a valid value looks like.
public struct VocabularyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of value was being parsed, e.g. "region code".
    public var what: String
    /// The offending input, shortened to at most 80 characters.
    public var input: String
    /// What is wrong and what a valid value looks like.
    public var reason: String

    public init(what: String, input: some StringProtocol, reason: String) {
        self.what = what
        self.input = input.count > 80 ? String(input.prefix(77)) + "..." : String(input)
        self.reason = reason
    }

    public var description: String { "invalid \(what) \"\(input)\": \(reason)" }
}

/// The shared grammar of short identifiers (region codes, sector names, path segments,
/// certification names, tenant names): 1 to `maxBytes` bytes of `[a-z0-9._-]`, starting with a
/// letter or digit. A closed, ASCII-only alphabet keeps identifiers comparable byte for byte,
/// printable in logs and safe in file names.
public enum IdentifierGrammar {
    /// Checks `text` against the grammar; `what` names the value in the error.
    public static func validate(_ text: String, what: String, maxBytes: Int) throws(VocabularyError) {
        let utf8 = text.utf8
        if utf8.isEmpty { throw VocabularyError(what: what, input: text, reason: "must not be empty") }
        if utf8.count > maxBytes {
            throw VocabularyError(what: what, input: text, reason: "is \(utf8.count) bytes; the limit is \(maxBytes)")
        }
        var first = true
        for unit in utf8 {
            let ok: Bool
            switch unit {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): ok = true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): ok = !first
            default: ok = false
            }
            if !ok {
                throw VocabularyError(
                    what: what, input: text,
                    reason: "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit")
            }
            first = false
        }
    }
}
