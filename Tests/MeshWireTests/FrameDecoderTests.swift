import MeshCore
import Testing

@testable import MeshWire

/// The frame decoder checked the way swift-nio checks its decoders: the same stream delivered
/// byte by byte, all in one buffer, one frame per buffer, and in random splits, plus truncated,
/// oversized and garbage input.
@Suite("Frame decoder")
struct FrameDecoderTests {
    /// Every fixture frame, after the preface.
    static let frames: [[UInt8]] = Fixtures.cases.map(Fixtures.frame)
    static let stream: [UInt8] = Preface().bytes + frames.flatMap { $0 }

    static func drain(_ decoder: inout FrameDecoder) throws -> [Frame] {
        var out: [Frame] = []
        while let frame = try decoder.next() { out.append(frame) }
        return out
    }

    static func checkAllFramesArrived(_ frames: [Frame]) throws {
        #expect(frames.map(\.bytes) == Self.frames)
        for (frame, c) in zip(frames, Fixtures.cases) {
            #expect(try WireMessage.decode(frame) == .message(c.message, correlationID: c.correlationID, flags: c.flags))
        }
    }

    @Test func decodesEveryFrameWhenFedOneByteAtATime() throws {
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        for byte in Self.stream {
            decoder.append([byte])
            frames += try Self.drain(&decoder)
        }
        try decoder.finish()
        try Self.checkAllFramesArrived(frames)
        #expect(decoder.streamOffset == Self.stream.count)
    }

    @Test func decodesEveryFrameWhenAllArriveInOneBuffer() throws {
        var decoder = FrameDecoder()
        decoder.append(Self.stream)
        let frames = try Self.drain(&decoder)
        try decoder.finish()
        try Self.checkAllFramesArrived(frames)
    }

    @Test func decodesEveryFrameWhenEachArrivesInItsOwnBuffer() throws {
        var decoder = FrameDecoder()
        decoder.append(Preface().bytes)
        #expect(try decoder.next() == nil)
        var frames: [Frame] = []
        for frame in Self.frames {
            decoder.append(frame)
            let got = try Self.drain(&decoder)
            #expect(got.count == 1)
            frames += got
        }
        try Self.checkAllFramesArrived(frames)
    }

    @Test(arguments: [1, 2, 3, 99, 12345])
    func decodesEveryFrameWhateverTheSplitPoints(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        var index = 0
        while index < Self.stream.count {
            let chunk = min(Self.stream.count - index, 1 + rng.index(below: 300))
            decoder.append(Self.stream[index..<index + chunk])
            index += chunk
            frames += try Self.drain(&decoder)
        }
        try decoder.finish()
        try Self.checkAllFramesArrived(frames)
    }

    @Test func neverConsumesAPartialFrame() throws {
        let ping = Fixtures.frame(named: "ping")
        var decoder = FrameDecoder(expectsPreface: false)
        for cut in 0..<ping.count {
            decoder = FrameDecoder(expectsPreface: false)
            decoder.append(ping[0..<cut])
            #expect(try decoder.next() == nil, "returned a frame from \(cut) of \(ping.count) bytes")
            #expect(decoder.bufferedByteCount == cut)
            decoder.append(ping[cut...])
            #expect(try decoder.next()?.bytes == ping)
        }
    }

    @Test func reportsATruncatedStreamAtItsEnd() throws {
        let hello = Fixtures.frame(named: "hello")
        var decoder = FrameDecoder(expectsPreface: false)
        decoder.append(hello.dropLast())
        #expect(try decoder.next() == nil)
        #expect(throws: WireError(.truncated, at: hello.count - 1, "")) { try decoder.finish() }
    }

    @Test func refusesAnOversizedLengthBeforeTheBodyArrives() throws {
        var decoder = FrameDecoder(limits: WireLimits(maxFrameBytes: 4096), expectsPreface: false)
        decoder.append([0x7f, 0xff, 0xff, 0xff])  // 2 GiB declared, nothing else sent
        let error = try #require(throws: WireError.self) { try decoder.next() }
        #expect(error.matches(code: .frameTooLarge, offset: 0))
        #expect(decoder.bufferedByteCount == 4, "nothing may be buffered for the declared body")
    }

    @Test func acceptsAFrameExactlyAtTheLimitAndRefusesOneByteMore() throws {
        let limits = WireLimits(maxFrameBytes: 4096)
        let atLimit = InvalidVectors.rawFrame(type: 0x0999, flags: 1, body: Array(repeating: 0, count: 4096 - 16))
        var decoder = FrameDecoder(limits: limits, expectsPreface: false)
        decoder.append(atLimit)
        #expect(try decoder.next()?.bytes.count == 4096)
        let over = InvalidVectors.rawFrame(type: 0x0999, flags: 1, body: Array(repeating: 0, count: 4096 - 15))
        decoder = FrameDecoder(limits: limits, expectsPreface: false)
        decoder.append(over)
        #expect(throws: WireError(.frameTooLarge, at: 0, "")) { try decoder.next() }
    }

    @Test func staysFailedAfterAnError() throws {
        var decoder = FrameDecoder()
        decoder.append(Array("GET / HTTP/1.1\r\n".utf8))
        let first = try #require(throws: WireError.self) { try decoder.next() }
        decoder.append(Self.stream)
        let second = try #require(throws: WireError.self) { try decoder.next() }
        #expect(first == second)
    }

    @Test(arguments: [7, 8, 9])
    func neverTrapsOrHangsOnGarbage(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        for _ in 0..<2000 {
            var decoder = FrameDecoder(expectsPreface: rng.chance(permille: 500))
            // Half the time start from a valid stream and damage a few bytes; otherwise pure noise.
            var bytes: [UInt8]
            if rng.chance(permille: 500) {
                bytes = Self.stream
                for _ in 0..<1 + rng.index(below: 4) {
                    bytes[rng.index(below: bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                }
            } else {
                bytes = (0..<rng.index(below: 512)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            decoder.append(bytes)
            var steps = 0
            do {
                while let frame = try decoder.next() {
                    _ = try? WireMessage.decode(frame)
                    steps += 1
                    #expect(steps <= bytes.count, "decoder returned more frames than bytes")
                }
            } catch {
                #expect(error.offset >= 0)
            }
        }
    }
}
