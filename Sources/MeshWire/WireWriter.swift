/// Appends wire primitives to a reusable byte buffer.
///
/// Encoding cannot fail. A value that breaks a wire rule (a string over its field's limit, an
/// empty idempotency key, a weight above 1000) is our own bug by the time it is encoded: values
/// from users and files are checked where they enter (`validate()` on the domain types, typed
/// errors), values from peers by the decoder. So the encoders check those rules with
/// preconditions, never writing bytes that a conforming decoder would refuse. Call ``reset()``
/// between frames to reuse the buffer's capacity.
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates a writer whose buffer starts with `capacity` bytes reserved.
    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Forgets the bytes written, keeping the buffer's capacity.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// The number of bytes written.
    public var count: Int { bytes.count }

    // MARK: - Fixed-width integers (big-endian)

    public mutating func writeU8(_ value: UInt8) { bytes.append(value) }

    public mutating func writeU16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func writeU32(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeU64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeU128(_ value: UInt128) {
        writeU64(UInt64(truncatingIfNeeded: value >> 64))
        writeU64(UInt64(truncatingIfNeeded: value))
    }

    /// Drops everything written after `count` bytes (used to undo an oversized frame).
    mutating func truncate(to count: Int) { bytes.removeSubrange(count...) }

    /// Overwrites four bytes at `position` (used to patch a frame's length prefix).
    mutating func patchU32(_ value: UInt32, at position: Int) {
        bytes[position] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[position + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[position + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[position + 3] = UInt8(truncatingIfNeeded: value)
    }

    // MARK: - Varints

    /// Unsigned LEB128, shortest form: seven bits a byte, low groups first, high bit = more.
    public mutating func writeUVarint(_ value: UInt64) {
        if value < 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value))
            return
        }
        // Collect the groups in a stack buffer, then append once.
        var buffer: (UInt64, UInt64) = (0, 0)
        let count = withUnsafeMutableBytes(of: &buffer) { raw -> Int in
            var v = value
            var n = 0
            while v >= 0x80 {
                raw[n] = UInt8(truncatingIfNeeded: v) | 0x80
                v >>= 7
                n += 1
            }
            raw[n] = UInt8(truncatingIfNeeded: v)
            return n + 1
        }
        withUnsafeBytes(of: &buffer) { bytes.append(contentsOf: $0[0..<count]) }
    }

    /// A signed integer, zigzag-mapped then written as an unsigned varint.
    public mutating func writeSVarint(_ value: Int64) {
        writeUVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// The number of bytes ``writeUVarint(_:)`` uses for `value`.
    public static func uvarintSize(_ value: UInt64) -> Int {
        var n = 1
        var v = value
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    // MARK: - Composite primitives

    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// A length-prefixed UTF-8 string.
    ///
    /// - Precondition: the string fits `maxBytes`; the decoder would refuse it otherwise.
    public mutating func writeString(_ value: String, maxBytes: Int) {
        let utf8 = value.utf8
        precondition(utf8.count <= maxBytes, "string of \(utf8.count) bytes exceeds its field limit \(maxBytes)")
        writeUVarint(UInt64(utf8.count))
        var text = value
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// A length-prefixed byte string.
    public mutating func writeBytes(_ value: [UInt8], maxBytes: Int) {
        precondition(value.count <= maxBytes, "byte string of \(value.count) bytes exceeds its field limit \(maxBytes)")
        writeUVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Raw bytes with no prefix (fixed-size fields).
    public mutating func writeRaw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }

    /// An array: a varint count, then each element.
    public mutating func writeArray<T>(_ items: [T], maxCount: Int, _ element: (inout WireWriter, T) -> Void) {
        precondition(items.count <= maxCount, "array of \(items.count) elements exceeds its field limit \(maxCount)")
        writeUVarint(UInt64(items.count))
        for item in items { element(&self, item) }
    }

    // MARK: - Tagged fields

    /// Writes a tagged section from `(tag, body)` pairs, which must be in strictly increasing tag
    /// order. Each field is written as tag, byte length, body.
    public mutating func writeTaggedFields(_ fields: [(tag: UInt64, body: (inout WireWriter) -> Void)]) {
        writeUVarint(UInt64(fields.count))
        var previous: UInt64? = nil
        for field in fields {
            if let previous { precondition(field.tag > previous, "tagged fields out of order: \(field.tag) after \(previous)") }
            previous = field.tag
            writeUVarint(field.tag)
            // Reserve one length byte (the common case), write the body, then widen the prefix
            // only if the body turned out to need a longer varint.
            let lengthAt = bytes.count
            bytes.append(0)
            field.body(&self)
            let length = UInt64(bytes.count - lengthAt - 1)
            if length < 0x80 {
                bytes[lengthAt] = UInt8(length)
            } else {
                var prefix = WireWriter(capacity: 10)
                prefix.writeUVarint(length)
                bytes.replaceSubrange(lengthAt..<lengthAt + 1, with: prefix.bytes)
            }
        }
    }

    /// Writes an empty tagged section (one zero byte): the common case.
    public mutating func writeNoTaggedFields() { bytes.append(0) }
}
