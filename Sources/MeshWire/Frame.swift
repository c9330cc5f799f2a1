/// The stream preface both sides send first: `CMSH`, wire major version, minor version, two
/// reserved bytes (zero).
public struct Preface: Equatable, Sendable {
    /// `C M S H`.
    public static let magic: [UInt8] = [0x43, 0x4D, 0x53, 0x48]
    /// The preface is always eight bytes.
    public static let byteCount = 8
    /// The wire major version this implementation speaks.
    public static let currentMajor: UInt8 = 1
    /// The wire minor version this implementation speaks. Minor versions only add tagged fields
    /// and ignorable message types, so any minor of the same major interoperates.
    public static let currentMinor: UInt8 = 0

    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8 = Preface.currentMajor, minor: UInt8 = Preface.currentMinor) {
        self.major = major
        self.minor = minor
    }

    /// The eight bytes of this preface.
    public var bytes: [UInt8] { Preface.magic + [major, minor, 0, 0] }

    /// Parses and checks eight preface bytes.
    public static func parse(_ bytes: some Collection<UInt8>) throws(WireError) -> Preface {
        let b = Array(bytes)
        if b.count < byteCount { throw WireError(.truncated, at: b.count, "the preface is 8 bytes, \(b.count) arrived") }
        for i in 0..<4 where b[i] != magic[i] {
            throw WireError(.badMagic, at: i, "the stream must start with the preface magic \"CMSH\" (43 4d 53 48)")
        }
        if b[4] != currentMajor {
            throw WireError(
                .unsupportedVersion, at: 4, "wire major version \(b[4]) is not supported; this node speaks \(currentMajor)")
        }
        if b[6] != 0 || b[7] != 0 {
            throw WireError(.reservedBitsSet, at: b[6] != 0 ? 6 : 7, "the preface's reserved bytes must be zero")
        }
        return Preface(major: b[4], minor: b[5])
    }
}

/// Frame flags (one byte). Bits other than those defined here are reserved: senders MUST send
/// them as zero and receivers MUST refuse a frame that sets one.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A receiver that does not know the message type (or its type version) MUST skip the frame
    /// instead of failing; used for optional, advisory messages.
    public static let ignorable = FrameFlags(rawValue: 0x01)

    /// Every bit defined in wire version 1.
    public static let defined: FrameFlags = [.ignorable]
}

/// The fixed 12-byte header after the length prefix.
public struct FrameHeader: Hashable, Sendable {
    /// The header's size on the wire.
    public static let byteCount = 12
    /// Length prefix plus header: where a frame's body starts.
    public static let bodyOffset = 16

    public var type: MessageType
    public var typeVersion: UInt8
    public var flags: FrameFlags
    /// Chosen by the sender of a request (non-zero) and echoed by its response; zero for one-way
    /// messages.
    public var correlationID: UInt64

    public init(type: MessageType, typeVersion: UInt8 = 1, flags: FrameFlags = [], correlationID: UInt64 = 0) {
        self.type = type
        self.typeVersion = typeVersion
        self.flags = flags
        self.correlationID = correlationID
    }

    /// The header of the frame whose length prefix starts at `start` in `bytes` (the caller has
    /// checked that the whole 16 bytes are there, e.g. ``FrameDecoder``).
    @inline(__always)
    public init(reading bytes: [UInt8], at start: Int) {
        precondition(start >= 0 && start + FrameHeader.bodyOffset <= bytes.count, "a frame header lies outside the bytes")
        self = bytes.withUnsafeBytes { b in
            FrameHeader(
                type: MessageType(rawValue: UInt16(b[start + 4]) << 8 | UInt16(b[start + 5])),
                typeVersion: b[start + 6],
                flags: FrameFlags(rawValue: b[start + 7]),
                correlationID: UInt64(bigEndian: b.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self)))
        }
    }
}

/// One complete frame: its bytes (length prefix included) and parsed header.
///
/// The body is read in place from ``bytes`` starting at ``FrameHeader/bodyOffset``, so offsets in
/// errors are positions in the frame.
public struct Frame: Sendable, Equatable {
    public let header: FrameHeader
    /// The whole frame, from its first length byte.
    public let bytes: [UInt8]

    /// The body's bytes.
    public var body: ArraySlice<UInt8> { bytes[FrameHeader.bodyOffset...] }

    init(header: FrameHeader, bytes: [UInt8]) {
        self.header = header
        self.bytes = bytes
    }

    /// A copy of a frame that ``FrameDecoder/nextInPlace()`` located in `buffer`.
    public init(located: FrameDecoder.LocatedFrame, in buffer: [UInt8]) {
        self.init(header: FrameHeader(reading: buffer, at: located.start), bytes: Array(buffer[located.start..<located.end]))
    }

    /// Parses exactly one frame from `bytes`, which must hold the whole frame and nothing else.
    public static func parse(_ bytes: [UInt8], limits: WireLimits = .default) throws(WireError) -> Frame {
        var decoder = FrameDecoder(limits: limits, expectsPreface: false)
        decoder.append(bytes)
        guard let frame = try decoder.next() else {
            try decoder.finish()
            throw WireError(.truncated, at: 0, "no bytes: a frame is at least 16 bytes")
        }
        if decoder.bufferedByteCount > 0 {
            throw WireError(.trailingBytes, at: frame.bytes.count, "\(decoder.bufferedByteCount) bytes after the frame")
        }
        return frame
    }
}

/// A 16-bit message type. The high byte names the range (control, liveness, gossip, placement,
/// console); the registry lives in ``WireMessage`` and `Protocols/SPEC.md`.
public struct MessageType: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static func < (lhs: MessageType, rhs: MessageType) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}

extension MessageType {
    /// The flags a sender sets on frames of this type: EVENT is advisory and flagged ignorable
    /// (SPEC §6.7.12), so a console that does not know a later type version skips it; every other
    /// v1 type is sent without flags.
    public var sentFlags: FrameFlags { self == .event ? .ignorable : [] }
}
