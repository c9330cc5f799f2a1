/// Splits a byte stream into frames, in the shape of swift-nio's single-step decoders:
/// ``append(_:)`` bytes as they arrive, then call ``next()`` until it returns nil.
///
/// - A frame is returned only when all of it has arrived; a partial frame is never consumed.
/// - A length prefix above the limit is refused as soon as its four bytes arrive, before anything
///   is allocated for the frame, and a length below the header size likewise.
/// - After an error the stream has lost its framing: the decoder stays failed and every later
///   call rethrows the same error. The connection should send ERROR and close.
///
/// The decoder checks framing only; ``WireMessage/decode(_:limits:)`` checks headers and bodies.
public struct FrameDecoder: Sendable {
    /// The limits in force; ``WireLimits/maxFrameBytes`` may change after the handshake.
    public var limits: WireLimits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var awaitingPreface: Bool
    private var failure: WireError? = nil
    /// The preface, once it has been read.
    public private(set) var preface: Preface? = nil
    /// Bytes consumed from the stream so far (preface and whole frames), for logs.
    public private(set) var streamOffset = 0

    /// - Parameter expectsPreface: whether the stream starts with the 8-byte preface.
    public init(limits: WireLimits = .default, expectsPreface: Bool = true) {
        self.limits = limits
        self.awaitingPreface = expectsPreface
    }

    /// Bytes received but not yet returned in a frame.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Appends bytes received from the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes received from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        // As typed bytes, so that the append is one memcpy rather than a byte-by-byte loop.
        buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    private mutating func compactIfWorthwhile() {
        if readIndex > 0 && (readIndex == buffer.count || readIndex >= 64 << 10) {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// Returns the next complete frame, or nil until one has arrived.
    public mutating func next() throws(WireError) -> Frame? {
        guard let located = try nextInPlace() else { return nil }
        // One allocation and one memcpy per frame.
        return Frame(located: located, in: buffer)
    }

    /// Where a frame lies in ``bufferedBytes``, without copying it out.
    public struct LocatedFrame: Sendable {
        /// The frame's first length byte (its header: ``FrameHeader/init(reading:at:)``).
        public var start: Int
        /// One past its last byte.
        public var end: Int
    }

    /// Consumes the next whole frame like ``next()`` but leaves its bytes in place: read them
    /// from ``bufferedBytes`` (e.g. with ``WireMessage/decode(bytes:start:end:limits:)``)
    /// before the next ``append(_:)``, which may move them. The transport decodes this way, so
    /// that a frame costs no allocation of its own.
    public mutating func nextInPlace() throws(WireError) -> LocatedFrame? {
        if let failure { throw failure }
        do {
            return try step()
        } catch {
            failure = error
            throw error
        }
    }

    /// The decoder's buffer; frames located by ``nextInPlace()`` lie in it until the next
    /// ``append(_:)``. (Read it, don't keep it: a copy kept across an append costs a copy of
    /// the buffer.)
    public var bufferedBytes: [UInt8] { buffer }

    private mutating func step() throws(WireError) -> LocatedFrame? {
        let available = buffer.count - readIndex
        if awaitingPreface {
            // Check the magic byte by byte as it arrives, so garbage fails fast.
            for i in 0..<min(available, 4) where buffer[readIndex + i] != Preface.magic[i] {
                throw WireError(.badMagic, at: i, "the stream must start with the preface magic \"CMSH\" (43 4d 53 48)")
            }
            if available < Preface.byteCount { return nil }
            preface = try Preface.parse(buffer[readIndex..<readIndex + Preface.byteCount])
            readIndex += Preface.byteCount
            streamOffset += Preface.byteCount
            awaitingPreface = false
            return try step()
        }
        if available < 4 { return nil }
        let length =
            Int(buffer[readIndex]) << 24 | Int(buffer[readIndex + 1]) << 16 | Int(buffer[readIndex + 2]) << 8
            | Int(buffer[readIndex + 3])
        if length + 4 > limits.maxFrameBytes {
            throw WireError(
                .frameTooLarge, at: 0,
                "the length prefix declares \(length + 4) bytes with the prefix; the limit is \(limits.maxFrameBytes)")
        }
        if length < FrameHeader.byteCount {
            throw WireError(.frameTooShort, at: 0, "the length prefix declares \(length) bytes; the header alone is 12")
        }
        if available < 4 + length { return nil }
        let start = readIndex
        let total = 4 + length
        readIndex += total
        streamOffset += total
        return LocatedFrame(start: start, end: start + total)
    }

    /// Declares the end of the stream: throws ``WireErrorCode/truncated`` if part of a frame (or of
    /// the preface) is still buffered.
    public mutating func finish() throws(WireError) {
        if let failure { throw failure }
        let available = buffer.count - readIndex
        if available == 0 { return }
        if awaitingPreface {
            throw WireError(.truncated, at: available, "the stream ended inside the 8-byte preface")
        }
        if available < 4 {
            throw WireError(.truncated, at: available, "the stream ended inside a length prefix (\(available) of 4 bytes)")
        }
        let length =
            Int(buffer[readIndex]) << 24 | Int(buffer[readIndex + 1]) << 16 | Int(buffer[readIndex + 2]) << 8
            | Int(buffer[readIndex + 3])
        throw WireError(
            .truncated, at: available, "the frame declares \(length + 4) bytes, the stream ended after \(available)")
    }
}
