/// Lower-case hexadecimal encoding and decoding, used for identifiers, vectors and logs.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes `bytes` as lower-case hex, two characters per byte, no separators.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The 64-bit words as lower-case hex, 16 digits each, most significant first: the fast path
    /// for IDs, which a store writes many times per transaction (the generic radix-16
    /// `description` of `UInt128` costs several times as much).
    public static func encode(words: UInt64...) -> String {
        String(unsafeUninitializedCapacity: words.count * 16) { buffer in
            var at = 0
            for word in words {
                var shift: UInt64 = 60
                for _ in 0..<16 {
                    buffer[at] = digits[Int(truncatingIfNeeded: (word >> shift) & 0xf)]
                    at += 1
                    shift &-= 4
                }
            }
            return at
        }
    }

    /// Decodes hex text; white space between byte pairs is ignored. Returns nil when the text
    /// holds a character that is not a hex digit or an odd number of digits.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for unit in text.utf8 {
            let nibble: UInt8
            switch unit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = unit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = unit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = unit - UInt8(ascii: "A") + 10
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                if high != nil { return nil }
                continue
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? out : nil
    }
}
