/// A decoded frame: a message with its header, or a frame the receiver skipped because it was
/// flagged ignorable and of a type (or type version) this implementation does not know.
public enum DecodedFrame: Hashable, Sendable {
    case message(WireMessage, correlationID: UInt64, flags: FrameFlags)
    case skipped(type: MessageType, typeVersion: UInt8, correlationID: UInt64)
}

extension WireMessage {
    /// The type version every message of wire version 1 has.
    public static let typeVersion: UInt8 = 1

    /// Checks a frame's header and decodes its body.
    ///
    /// Order of checks: reserved flag bits, then the type, then the type version, then the body,
    /// which must be consumed exactly. An unknown type or type version is skipped when the frame
    /// is flagged ignorable and refused otherwise.
    public static func decode(_ frame: Frame, limits: WireLimits = .default) throws(WireError) -> DecodedFrame {
        try decode(bytes: frame.bytes, start: 0, end: frame.bytes.count, limits: limits)
    }

    /// Decodes the whole frame that lies in `bytes[start..<end]` (as ``FrameDecoder/nextInPlace()``
    /// located it: length prefix checked), with the checks of ``decode(_:limits:)``. Error offsets
    /// count from `start`, as for a standalone frame.
    public static func decode(
        bytes: [UInt8], start: Int, end: Int, limits: WireLimits = .default
    ) throws(WireError)
        -> DecodedFrame
    {
        let header = FrameHeader(reading: bytes, at: start)
        let reserved = header.flags.rawValue & ~FrameFlags.defined.rawValue
        if reserved != 0 {
            throw WireError(
                .reservedBitsSet, at: 7, "frame flags 0x\(String(header.flags.rawValue, radix: 16)) set reserved bits")
        }
        // The common case first, without a registry lookup: a v1 frame of a known type
        // (`decodeBody` answers nil for a type it does not know, before reading anything).
        if header.typeVersion == typeVersion {
            var reader = WireReader(bytes: bytes, start: start + FrameHeader.bodyOffset, end: end, limits: limits)
            do {
                if let message = try decodeBody(type: header.type, from: &reader) {
                    try reader.expectEnd()
                    return .message(message, correlationID: header.correlationID, flags: header.flags)
                }
            } catch {
                throw start == 0 ? error : error.shifted(by: -start)
            }
        }
        let known = WireMessage.registry.contains { $0.type == header.type }
        if header.flags.contains(.ignorable) {
            return .skipped(type: header.type, typeVersion: header.typeVersion, correlationID: header.correlationID)
        }
        if !known {
            throw WireError(
                .unknownMessageType, at: 4, "message type \(header.type) is not known and the frame is not flagged ignorable")
        }
        precondition(header.typeVersion != typeVersion, "registry lists \(header.type) but decodeBody has no case for it")
        throw WireError(
            .unsupportedTypeVersion, at: 6,
            "type version \(header.typeVersion) of message type \(header.type) is not supported (this node speaks \(typeVersion))"
        )
    }

    /// Decodes a frame's bytes (exactly one whole frame) in one step.
    public static func decode(frameBytes: [UInt8], limits: WireLimits = .default) throws(WireError) -> DecodedFrame {
        try decode(Frame.parse(frameBytes, limits: limits), limits: limits)
    }
}

/// Writes frames into a reusable buffer.
///
/// ```swift
/// var encoder = FrameEncoder()
/// encoder.append(.ping(Ping(nonce: 7, sentAt: now)), correlationID: 1)
/// socket.write(encoder.bytes); encoder.reset()
/// ```
public struct FrameEncoder: Sendable {
    private var writer: WireWriter
    /// The largest frame this encoder may produce (the peer's negotiated limit).
    public var maxFrameBytes: Int

    public init(capacity: Int = 64 << 10, maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes) {
        writer = WireWriter(capacity: capacity)
        self.maxFrameBytes = maxFrameBytes
    }

    /// The frames appended since the last ``reset()``.
    public var bytes: [UInt8] { writer.bytes }

    /// Forgets the frames written, keeping the buffer's capacity.
    public mutating func reset() { writer.reset() }

    /// The bytes of the preface, to send before the first frame.
    public mutating func appendPreface(_ preface: Preface = Preface()) { writer.writeRaw(preface.bytes) }

    /// A message too large for the peer's frame limit; our own data, but sized by the caller, so a
    /// typed error rather than a trap: the caller should split the message (deltas, pages).
    public struct FrameTooLarge: Error, Equatable, Sendable {
        public var type: MessageType
        public var frameBytes: Int
        public var maxFrameBytes: Int
    }

    /// Appends one frame. On ``FrameTooLarge`` nothing is appended.
    public mutating func append(_ message: WireMessage, correlationID: UInt64 = 0, flags: FrameFlags = []) throws(FrameTooLarge) {
        let start = writer.count
        writer.writeU32(0)
        writer.writeU16(message.type.rawValue)
        writer.writeU8(WireMessage.typeVersion)
        writer.writeU8(flags.rawValue)
        writer.writeU64(correlationID)
        message.encodeBody(to: &writer)
        let frameBytes = writer.count - start
        if frameBytes > maxFrameBytes {
            writer.truncate(to: start)
            throw FrameTooLarge(type: message.type, frameBytes: frameBytes, maxFrameBytes: maxFrameBytes)
        }
        writer.patchU32(UInt32(frameBytes - 4), at: start)
    }

    /// Encodes one message as a standalone frame.
    public static func frame(
        _ message: WireMessage, correlationID: UInt64 = 0, flags: FrameFlags = []
    ) throws(FrameTooLarge) -> [UInt8] {
        var encoder = FrameEncoder(capacity: 256, maxFrameBytes: WireLimits.hardMaxFrameBytes)
        try encoder.append(message, correlationID: correlationID, flags: flags)
        return encoder.bytes
    }
}

extension WireError {
    /// The same error with its offset moved by `delta` (a frame decoded where it lies in a larger
    /// buffer reports offsets from the frame's first byte).
    func shifted(by delta: Int) -> WireError {
        var copy = self
        copy.offset += delta
        return copy
    }
}
