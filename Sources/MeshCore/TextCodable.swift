/// An identifier whose `Codable` form is its validated text (a node ID as 64 hex digits, a region
/// code, a compute ID path), so that configuration files and JSON read naturally and every decode
/// goes through the same validation as user input.
public protocol TextCodable: Codable {
    /// Parses and validates the text form.
    init(text: String) throws(VocabularyError)
    /// The text form; `init(text:)` accepts it back.
    var text: String { get }
}

extension TextCodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { try self.init(text: text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
