import MeshConsole
import Testing

/// The live console's terminal vocabulary: keyboard bytes to keys, screens to ANSI.
@Suite("terminal screen")
struct TerminalScreenTests {
    @Test func arrowsPageKeysAndShiftTabDecodeFromTheirEscapeSequences() {
        var decoder = KeyDecoder()
        let bytes = Array("\u{1b}[A\u{1b}[B\u{1b}[5~\u{1b}[6~\u{1b}[Z\u{1b}OH".utf8)
        #expect(decoder.decode(bytes).keys == [.up, .down, .pageUp, .pageDown, .backTab, .home])
    }

    @Test func aSequenceSplitAcrossReadsIsDecodedOnceComplete() {
        var decoder = KeyDecoder()
        #expect(decoder.decode([0x1b, UInt8(ascii: "[")]).keys == [])
        #expect(decoder.decode([UInt8(ascii: "B")]).keys == [.down])
    }

    @Test func aLoneEscapeEnterAndCtrlCAreKeysTooAndCtrlCInterrupts() {
        var decoder = KeyDecoder()
        let (keys, interrupt) = decoder.decode([0x1b, UInt8(ascii: "4"), 0x0d, 0x03])
        #expect(keys == [.escape, .character("4"), .enter])
        #expect(interrupt)
    }

    @Test func noColorKeepsReverseVideoForTheSelectionButDropsColours() {
        let screen = Screen(lines: [.init("dead", style: .error), .init("chosen", style: .selected)])
        let plain = ANSI.draw(screen, color: false)
        #expect(!plain.contains("[1;31m") && plain.contains("[7m"))
        #expect(ANSI.draw(screen, color: true).contains("[1;31m"))
    }

    @Test func leavingRestoresTheCursorAndTheMainScreen() {
        #expect(ANSI.leave.contains("\u{1b}[?25h") && ANSI.leave.contains("\u{1b}[?1049l"))
    }
}
