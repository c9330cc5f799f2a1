import MeshCore
import MeshWire
import Testing

/// The in-memory size of a decoded message is a performance contract, not a wire one: every
/// hand-over between the decoder, the gate and the owner moves the enum, and a move is a copy of
/// its full size.
@Suite struct WireMessageLayoutTests {
    @Test func aDecodedMessageStaysSmallBecauseLargePayloadsAreBoxed() {
        // A new case with a payload above 48 bytes must be `indirect` (see WireMessage's doc).
        #expect(MemoryLayout<WireMessage>.size <= 64)
    }

    @Test func aBoxedMessageStillRoundTripsThroughTheCodec() throws {
        let message = WireMessage.nack(Nack(helper: Fixtures.nodeA, target: Fixtures.nodeB))
        let bytes = try FrameEncoder.frame(message, correlationID: 3)
        let decoded = try WireMessage.decode(frameBytes: bytes)
        #expect(decoded == .message(message, correlationID: 3, flags: []))
    }
}
