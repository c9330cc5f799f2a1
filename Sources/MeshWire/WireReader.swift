/// Reads wire primitives from a frame, refusing malformed input with a ``WireError`` that names
/// the offset and the reason.
///
/// Every read checks the bytes remaining first, so no input can read out of bounds, and every
/// count is checked against both its field limit and the bytes remaining *before* anything is
/// allocated for it. Offsets are absolute positions in ``bytes`` (for a frame: from its first
/// length byte).
public struct WireReader: Sendable {
    /// The whole input; reading happens in `offset..<end`.
    public let bytes: [UInt8]
    /// The position of the next byte to read.
    public private(set) var offset: Int
    /// One past the last byte this reader may read (narrowed while reading a tagged field).
    public private(set) var end: Int
    /// The current nesting depth of structures.
    public private(set) var depth: Int = 0
    /// The limits in force.
    public let limits: WireLimits

    /// Reads `bytes[start..<end]`.
    public init(bytes: [UInt8], start: Int = 0, end: Int? = nil, limits: WireLimits = .default) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
        self.limits = limits
        precondition(start >= 0 && start <= self.end && self.end <= bytes.count, "reader window out of bounds")
    }

    /// Bytes left to read.
    public var remaining: Int { end - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset == end }

    // MARK: - Bounds

    @inline(__always)
    private func need(_ count: Int, _ what: StaticString) throws(WireError) {
        if count > end - offset { throw truncation(count, what) }
    }

    /// The error of ``need(_:_:)``, built out of line so that the checks stay small.
    @inline(never)
    private func truncation(_ count: Int, _ what: StaticString) -> WireError {
        WireError(.truncated, at: offset, "\(what) needs \(count) bytes, \(end - offset) remain")
    }

    /// Refuses any bytes left over.
    public func expectEnd(_ what: StaticString = "body") throws(WireError) {
        if offset != end { throw WireError(.trailingBytes, at: offset, "\(end - offset) bytes after the end of the \(what)") }
    }

    // MARK: - Fixed-width integers (big-endian)

    public mutating func readU8(_ what: StaticString = "u8") throws(WireError) -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readU16(_ what: StaticString = "u16") throws(WireError) -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    public mutating func readU32(_ what: StaticString = "u32") throws(WireError) -> UInt32 {
        try need(4, what)
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    public mutating func readU64(_ what: StaticString = "u64") throws(WireError) -> UInt64 {
        try need(8, what)
        // One unaligned load instead of eight bounds-checked byte reads (`need` checked the end,
        // and `end <= bytes.count` is the reader's invariant).
        let value = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        offset += 8
        return value
    }

    public mutating func readU128(_ what: StaticString = "u128") throws(WireError) -> UInt128 {
        try need(16, what)
        let high = try readU64(what)
        let low = try readU64(what)
        return UInt128(high) << 64 | UInt128(low)
    }

    /// Checks that `count` bytes remain without consuming them.
    public func peekRaw(count: Int, _ what: StaticString = "raw bytes") throws(WireError) -> ArraySlice<UInt8> {
        try need(count, what)
        return bytes[offset..<offset + count]
    }

    /// `count` raw bytes.
    public mutating func readRaw(count: Int, _ what: StaticString = "raw bytes") throws(WireError) -> ArraySlice<UInt8> {
        try need(count, what)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    // MARK: - Varints

    /// An unsigned LEB128 varint in shortest form, at most 10 bytes and 64 bits.
    ///
    /// The one-byte case (most counts, tags, lengths and small values) is inlined at every call
    /// site; longer varints take the outlined path.
    @inline(__always)
    public mutating func readUVarint(_ what: StaticString = "varint") throws(WireError) -> UInt64 {
        if offset < end {
            let byte = bytes[offset]
            if byte < 0x80 {
                offset += 1
                return UInt64(byte)
            }
        }
        return try readLongUVarint(what)
    }

    @inline(never)
    private mutating func readLongUVarint(_ what: StaticString) throws(WireError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = offset
        while true {
            if index >= end { throw WireError(.truncated, at: start, "\(what) ends after \(index - start) bytes") }
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 {
                throw WireError(.varintOverflow, at: start, "\(what) exceeds 64 bits")
            }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 {
                if byte == 0 && index - start > 1 {
                    throw WireError(.nonCanonicalVarint, at: start, "\(what) has a redundant zero byte; use the shortest form")
                }
                offset = index
                return value
            }
            shift += 7
            if shift > 63 { throw WireError(.varintOverflow, at: start, "\(what) runs past 10 bytes") }
        }
    }

    /// An unsigned varint that must not exceed `max` (e.g. a u32 quantity).
    public mutating func readUVarint(max: UInt64, _ what: StaticString) throws(WireError) -> UInt64 {
        let start = offset
        let value = try readUVarint(what)
        if value > max { throw WireError(.invalidValue, at: start, "\(what) is \(value); the limit is \(max)") }
        return value
    }

    /// A varint that must fit in 32 bits.
    public mutating func readUVarint32(_ what: StaticString) throws(WireError) -> UInt32 {
        UInt32(try readUVarint(max: UInt64(UInt32.max), what))
    }

    /// A varint that must fit in 16 bits.
    public mutating func readUVarint16(_ what: StaticString) throws(WireError) -> UInt16 {
        UInt16(try readUVarint(max: UInt64(UInt16.max), what))
    }

    /// A zigzag-encoded signed varint.
    public mutating func readSVarint(_ what: StaticString = "svarint") throws(WireError) -> Int64 {
        let raw = try readUVarint(what)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    // MARK: - Composite primitives

    /// A byte that must be 0 (false) or 1 (true).
    public mutating func readBool(_ what: StaticString = "bool") throws(WireError) -> Bool {
        let start = offset
        switch try readU8(what) {
        case 0: return false
        case 1: return true
        case let other: throw WireError(.invalidValue, at: start, "\(what) must be 0 or 1, got \(other)")
        }
    }

    /// A length-prefixed string of valid UTF-8, at most `maxBytes` long.
    public mutating func readString(maxBytes: Int, _ what: StaticString = "string") throws(WireError) -> String {
        let start = offset
        let length = try readUVarint(what)
        if length > UInt64(maxBytes) {
            throw WireError(.stringTooLong, at: start, "\(what) is \(length) bytes; the limit is \(maxBytes)")
        }
        let count = Int(length)
        try need(count, what)
        let bodyStart = offset
        let text: String? = bytes.withUnsafeBufferPointer { buffer in
            String(validating: UnsafeBufferPointer(rebasing: buffer[bodyStart..<bodyStart + count]), as: UTF8.self)
        }
        guard let text else { throw WireError(.invalidUTF8, at: bodyStart, "\(what) is not valid UTF-8") }
        offset += count
        return text
    }

    /// A length-prefixed string that must satisfy ``MeshCore/IdentifierGrammar``: checked byte by
    /// byte, so no String is built for an invalid one. Returns the text and its start offset.
    public mutating func readIdentifier(maxBytes: Int, _ what: StaticString) throws(WireError) -> String {
        let start = offset
        let length = try readUVarint(what)
        if length > UInt64(maxBytes) {
            throw WireError(.stringTooLong, at: start, "\(what) is \(length) bytes; the limit is \(maxBytes)")
        }
        let count = Int(length)
        try need(count, what)
        if count == 0 { throw WireError(.invalidValue, at: start, "\(what) must not be empty") }
        let bodyStart = offset
        let valid: Bool = bytes.withUnsafeBufferPointer { buffer in
            // Class 2: may start an identifier; class 1: may follow; 0: never.
            if WireReader.identifierClass[Int(buffer[bodyStart])] != 2 { return false }
            var ok = true
            for i in bodyStart + 1..<bodyStart + count { ok = ok && WireReader.identifierClass[Int(buffer[i])] != 0 }
            return ok
        }
        if !valid {
            throw WireError(
                .invalidValue, at: bodyStart, "\(what) must be [a-z0-9][a-z0-9._-]* (lower-case ASCII identifier)")
        }
        let text = bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[bodyStart..<bodyStart + count]), as: UTF8.self)
        }
        offset += count
        return text
    }

    /// ``MeshCore/IdentifierGrammar`` as a table: 2 for `[a-z0-9]`, 1 for `[._-]`, 0 otherwise.
    private static let identifierClass: [UInt8] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): 2
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): 1
        default: 0
        }
    }

    /// A length-prefixed byte string, at most `maxBytes` long.
    public mutating func readBytes(maxBytes: Int, _ what: StaticString = "bytes") throws(WireError) -> [UInt8] {
        let start = offset
        let length = try readUVarint(what)
        if length > UInt64(maxBytes) {
            throw WireError(.bytesTooLong, at: start, "\(what) is \(length) bytes; the limit is \(maxBytes)")
        }
        return Array(try readRaw(count: Int(length), what))
    }

    /// An array count, checked against `maxCount` and against the bytes remaining (every element
    /// takes at least `minElementBytes`), so a hostile count allocates nothing.
    public mutating func readCount(maxCount: Int, minElementBytes: Int = 1, _ what: StaticString) throws(WireError) -> Int {
        let start = offset
        let count = try readUVarint(what)
        if count > UInt64(maxCount) {
            throw WireError(.arrayTooLong, at: start, "\(what) has \(count) elements; the limit is \(maxCount)")
        }
        if Int(count) * minElementBytes > remaining {
            throw WireError(
                .truncated, at: start,
                "\(what) declares \(count) elements of at least \(minElementBytes) bytes, \(remaining) bytes remain")
        }
        return Int(count)
    }

    /// An array: a count (see ``readCount(maxCount:minElementBytes:_:)``), then each element.
    public mutating func readArray<T>(
        maxCount: Int, minElementBytes: Int = 1, _ what: StaticString,
        _ element: (inout WireReader) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        let count = try readCount(maxCount: maxCount, minElementBytes: minElementBytes, what)
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(&self)) }
        return items
    }

    /// Reads a nested structure one level deeper, refusing nesting beyond the limit.
    public mutating func nested<T>(_ what: StaticString, _ body: (inout WireReader) throws(WireError) -> T) throws(WireError) -> T
    {
        if depth >= limits.maxNestingDepth {
            throw WireError(.nestingTooDeep, at: offset, "\(what) nests deeper than \(limits.maxNestingDepth) levels")
        }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    // MARK: - Tagged fields

    /// Reads a tagged section: a count, then `(tag, length, bytes)` triples in strictly increasing
    /// tag order. `field` is called for each with the reader narrowed to that field's bytes and
    /// returns whether it knew the tag; unknown tags are skipped, known ones must be read exactly.
    public mutating func readTaggedFields(
        _ what: StaticString, _ field: (UInt64, inout WireReader) throws(WireError) -> Bool
    ) throws(WireError) {
        try walkTaggedFields(what, field)
    }

    @inline(__always)
    private mutating func walkTaggedFields(
        _ what: StaticString, _ field: (UInt64, inout WireReader) throws(WireError) -> Bool
    ) throws(WireError) {
        let count = try readCount(maxCount: limits.maxTaggedFields, minElementBytes: 2, "tagged field count")
        var previous: UInt64? = nil
        for _ in 0..<count {
            let tagStart = offset
            let tag = try readUVarint("tag")
            if let previous, tag <= previous {
                throw WireError(.tagOrder, at: tagStart, "tag \(tag) follows tag \(previous) in \(what); tags must increase")
            }
            previous = tag
            let lengthStart = offset
            let length = try readUVarint("tagged field length")
            if length > UInt64(remaining) {
                throw WireError(.truncated, at: lengthStart, "tagged field \(tag) declares \(length) bytes, \(remaining) remain")
            }
            let fieldEnd = offset + Int(length)
            let outerEnd = end
            end = fieldEnd
            let known = try field(tag, &self)
            if known {
                if offset != fieldEnd {
                    throw WireError(.trailingBytes, at: offset, "\(fieldEnd - offset) bytes after tagged field \(tag) in \(what)")
                }
            } else {
                offset = fieldEnd
            }
            end = outerEnd
        }
    }

    /// Reads a tagged section in which this version knows no tags: every field is skipped.
    /// (Most messages end this way: the walk is inlined here with the closure known, so small
    /// messages such as PING, PONG and the probes are decoded without a call per field.)
    public mutating func skipTaggedFields(_ what: StaticString) throws(WireError) {
        try walkTaggedFields(what) { _, _ throws(WireError) in false }
    }
}
