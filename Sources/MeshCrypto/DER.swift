/// The small subset of DER (ITU-T X.690) that our certificate extensions use: SEQUENCE, INTEGER
/// (non-negative, up to 64 bits), ENUMERATED, BOOLEAN, OCTET STRING and UTF8String.
///
/// Our own encoder and a bounded decoder, so the extension contents do not depend on OpenSSL's
/// ASN.1 templates. The reader never reads past its input and refuses indefinite lengths,
/// non-minimal lengths and trailing bytes.
enum DER {
    static let sequence: UInt8 = 0x30
    static let integer: UInt8 = 0x02
    static let enumerated: UInt8 = 0x0A
    static let boolean: UInt8 = 0x01
    static let octetString: UInt8 = 0x04
    static let utf8String: UInt8 = 0x0C

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var out = [tag]
        let n = content.count
        if n < 0x80 {
            out.append(UInt8(n))
        } else {
            var lengthBytes: [UInt8] = []
            var rest = n
            while rest > 0 {
                lengthBytes.insert(UInt8(rest & 0xFF), at: 0)
                rest >>= 8
            }
            out.append(0x80 | UInt8(lengthBytes.count))
            out += lengthBytes
        }
        return out + content
    }

    static func unsigned(_ tag: UInt8, _ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        } while rest > 0
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return tlv(tag, bytes)
    }

    static func utf8(_ text: String) -> [UInt8] { tlv(utf8String, Array(text.utf8)) }
    static func bool(_ value: Bool) -> [UInt8] { tlv(boolean, [value ? 0xFF : 0x00]) }

    /// A bounded reader over one DER value's contents.
    struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let end: Int

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            offset = 0
            end = bytes.count
        }

        private init(_ bytes: [UInt8], offset: Int, end: Int) {
            self.bytes = bytes
            self.offset = offset
            self.end = end
        }

        var isAtEnd: Bool { offset == end }

        /// Reads one TLV with the expected tag, returning its content range.
        mutating func read(_ tag: UInt8, _ what: String) throws(CryptoError) -> Range<Int> {
            guard offset + 2 <= end else { throw CryptoError("DER: \(what) is missing") }
            guard bytes[offset] == tag else {
                throw CryptoError(
                    "DER: \(what) has tag 0x\(String(bytes[offset], radix: 16)), expected 0x\(String(tag, radix: 16))")
            }
            var length = Int(bytes[offset + 1])
            var position = offset + 2
            if length >= 0x80 {
                let count = length & 0x7F
                guard count >= 1, count <= 3, position + count <= end else { throw CryptoError("DER: \(what) has a bad length") }
                length = 0
                for i in 0..<count { length = length << 8 | Int(bytes[position + i]) }
                guard length >= 0x80, bytes[position] != 0 else { throw CryptoError("DER: \(what) has a non-minimal length") }
                position += count
            }
            guard position + length <= end else { throw CryptoError("DER: \(what) overruns its container") }
            offset = position + length
            return position..<position + length
        }

        mutating func nested(_ tag: UInt8, _ what: String) throws(CryptoError) -> Reader {
            let range = try read(tag, what)
            return Reader(bytes, offset: range.lowerBound, end: range.upperBound)
        }

        mutating func unsigned(_ tag: UInt8, _ what: String) throws(CryptoError) -> UInt64 {
            let range = try read(tag, what)
            guard !range.isEmpty, range.count <= 9, bytes[range.lowerBound] & 0x80 == 0 else {
                throw CryptoError("DER: \(what) is not a non-negative 64-bit integer")
            }
            if range.count == 9 && bytes[range.lowerBound] != 0 { throw CryptoError("DER: \(what) exceeds 64 bits") }
            return bytes[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }

        mutating func utf8(_ what: String, maxBytes: Int) throws(CryptoError) -> String {
            let range = try read(utf8String, what)
            guard range.count <= maxBytes else { throw CryptoError("DER: \(what) is longer than \(maxBytes) bytes") }
            guard let text = String(validating: bytes[range], as: UTF8.self) else {
                throw CryptoError("DER: \(what) is not UTF-8")
            }
            return text
        }

        mutating func octets(_ what: String, maxBytes: Int) throws(CryptoError) -> [UInt8] {
            let range = try read(octetString, what)
            guard range.count <= maxBytes else { throw CryptoError("DER: \(what) is longer than \(maxBytes) bytes") }
            return Array(bytes[range])
        }

        mutating func bool(_ what: String) throws(CryptoError) -> Bool {
            let range = try read(boolean, what)
            guard range.count == 1, bytes[range.lowerBound] == 0 || bytes[range.lowerBound] == 0xFF else {
                throw CryptoError("DER: \(what) is not a DER BOOLEAN")
            }
            return bytes[range.lowerBound] == 0xFF
        }

        func finish(_ what: String) throws(CryptoError) {
            guard isAtEnd else { throw CryptoError("DER: \(end - offset) trailing bytes in \(what)") }
        }
    }
}
