// The live console's terminal vocabulary, free of I/O: bytes from the keyboard to keys, and a
// screen to the ANSI sequences that draw it (issue 17). No curses: a handful of ECMA-48 sequences
// every terminal emulator and tmux understand.

/// Turns the bytes a terminal sends in raw mode into keys: printable characters, arrows, page
/// keys, Enter, Escape, Tab, Shift-Tab, Backspace; Ctrl-C arrives as ``quitByte``.
public struct KeyDecoder: Sendable {
    /// Ctrl-C in raw mode (ISIG off): the console quits on it.
    public static let quitByte: UInt8 = 3
    private var pending: [UInt8] = []

    public init() {}

    /// The keys `bytes` complete, and whether Ctrl-C was among them. A lone Escape is reported
    /// when the next read starts with something other than `[` or `O` (terminals send an escape
    /// sequence in one write), or at once when it is the last byte of a read.
    public mutating func decode(_ bytes: [UInt8]) -> (keys: [LiveConsole.Key], interrupt: Bool) {
        pending += bytes
        var keys: [LiveConsole.Key] = []
        var interrupt = false
        var i = 0
        let b = pending
        while i < b.count {
            let byte = b[i]
            if byte == 0x1b {
                guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "[") || b[i + 1] == UInt8(ascii: "O") else {
                    keys.append(.escape)
                    i += 1
                    continue
                }
                // CSI: parameters, then one final byte in 0x40...0x7e.
                var j = i + 2
                while j < b.count && !(0x40...0x7e).contains(b[j]) { j += 1 }
                guard j < b.count else { break }
                let parameters = String(decoding: b[(i + 2)..<j], as: UTF8.self)
                switch (b[j], parameters) {
                case (UInt8(ascii: "A"), _): keys.append(.up)
                case (UInt8(ascii: "B"), _): keys.append(.down)
                case (UInt8(ascii: "H"), _): keys.append(.home)
                case (UInt8(ascii: "F"), _): keys.append(.end)
                case (UInt8(ascii: "Z"), _): keys.append(.backTab)
                case (UInt8(ascii: "~"), "5"): keys.append(.pageUp)
                case (UInt8(ascii: "~"), "6"): keys.append(.pageDown)
                case (UInt8(ascii: "~"), "1"), (UInt8(ascii: "~"), "7"): keys.append(.home)
                case (UInt8(ascii: "~"), "4"), (UInt8(ascii: "~"), "8"): keys.append(.end)
                default: break
                }
                i = j + 1
                continue
            }
            switch byte {
            case Self.quitByte: interrupt = true
            case 0x0d, 0x0a: keys.append(.enter)
            case 0x09: keys.append(.tab)
            case 0x7f, 0x08: keys.append(.backspace)
            case 0x20...0x7e: keys.append(.character(Character(UnicodeScalar(byte))))
            case 0xc0...0xff:
                // One UTF-8 character (for a filter): wait until it is complete.
                let length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2
                guard i + length <= b.count else {
                    pending = Array(b[i...])
                    return (keys, interrupt)
                }
                if let c = String(validating: b[i..<(i + length)], as: UTF8.self)?.first { keys.append(.character(c)) }
                i += length
                continue
            default: break
            }
            i += 1
        }
        pending = i < b.count ? Array(b[i...]) : []
        return (keys, interrupt)
    }
}

/// The ANSI sequences of the live console.
public enum ANSI {
    /// Enter the alternate screen, hide the cursor, clear.
    public static let enter = "\u{1b}[?1049h\u{1b}[?25l\u{1b}[2J"
    /// Show the cursor, reset attributes, leave the alternate screen: the shell's screen returns
    /// as it was.
    public static let leave = "\u{1b}[0m\u{1b}[?25h\u{1b}[?1049l"

    /// The whole screen, drawn from the top-left corner. With `color` false (NO_COLOR) only
    /// reverse video and bold mark the title, headers and selection; nothing is coloured.
    public static func draw(_ screen: Screen, color: Bool) -> String {
        var out = "\u{1b}[H"
        for (index, line) in screen.lines.enumerated() {
            out += "\u{1b}[\(index + 1);1H" + attributes(line.style, color: color) + line.text + "\u{1b}[0m"
        }
        return out
    }

    static func attributes(_ style: Screen.Line.Style, color: Bool) -> String {
        switch style {
        case .plain: ""
        case .title: "\u{1b}[1;7m"
        case .header: "\u{1b}[1m"
        case .selected: "\u{1b}[7m"
        case .dim: color ? "\u{1b}[2m" : ""
        case .warning: color ? "\u{1b}[33m" : ""
        case .error: color ? "\u{1b}[1;31m" : "\u{1b}[1m"
        }
    }
}
