/// A plain text table that fits a terminal: left-aligned columns separated by two spaces.
///
/// Given a width, columns are dropped least important first (highest ``Column/priority``; the
/// rightmost of equals first) until the table fits, then flexible columns are cut with `…`;
/// a last line names what was hidden, which `--wide` adds back. Columns people type back (node
/// and pool names) are never flexible. Without a width (`--wide`) every
/// column is shown in full.
public struct TextTable: Sendable {
    public struct Column: Sendable {
        public var header: String
        /// 0: always shown; higher numbers are dropped first when the table does not fit.
        public var priority: Int
        /// Whether cells may be cut to make the table fit (names, free text), rather than the
        /// column dropped.
        public var flexible: Bool
        /// Numbers read better aligned on the right.
        public var alignRight: Bool

        public init(_ header: String, priority: Int = 0, flexible: Bool = false, alignRight: Bool = false) {
            self.header = header
            self.priority = priority
            self.flexible = flexible
            self.alignRight = alignRight
        }
    }

    /// The narrowest a flexible column is cut to.
    public static let minimumFlexibleWidth = 10

    public var columns: [Column]
    public var rows: [[String]]
    public var indent: String

    public init(_ columns: [Column], rows: [[String]], indent: String = "  ") {
        precondition(rows.allSatisfy { $0.count == columns.count }, "every row has one cell per column")
        self.columns = columns
        self.rows = rows
        self.indent = indent
    }

    /// The table within `width` columns, or in full when `width` is nil.
    public func render(width: Int?) -> String {
        var visible = Array(columns.indices)
        var widths = columns.indices.map { i in rows.reduce(columns[i].header.count) { max($0, $1[i].count) } }
        func total() -> Int { indent.count + visible.reduce(0) { $0 + widths[$1] } + 2 * max(0, visible.count - 1) }
        var hidden: [String] = []
        if let width {
            while total() > width {
                let droppable = visible.filter { columns[$0].priority > 0 }
                guard
                    let victim = droppable.max(by: { (columns[$0].priority, $0) < (columns[$1].priority, $1) })
                else { break }
                // A flexible column that can be cut enough is cut rather than dropped.
                let excess = total() - width
                let cuttable = visible.filter { columns[$0].flexible }.reduce(0) {
                    $0 + max(0, widths[$1] - Self.minimumFlexibleWidth)
                }
                if cuttable >= excess && columns[victim].priority <= 1 { break }
                visible.removeAll { $0 == victim }
                hidden.append(columns[victim].header)
            }
            // Cut the widest flexible column, one character at a time, until the table fits.
            while total() > width {
                guard
                    let widest = visible.filter({ columns[$0].flexible && widths[$0] > Self.minimumFlexibleWidth })
                        .max(by: { widths[$0] < widths[$1] })
                else { break }
                widths[widest] -= 1
            }
        }
        func line(_ cells: [String]) -> String {
            let padded = visible.enumerated().map { position, i in
                let cell = cut(cells[i], to: widths[i])
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                if columns[i].alignRight { return pad + cell }
                return position == visible.count - 1 ? cell : cell + pad
            }
            return indent + padded.joined(separator: "  ")
        }
        var lines = [line(columns.map(\.header))] + rows.map(line)
        if !hidden.isEmpty {
            lines.append(indent + "(--wide adds " + hidden.reversed().joined(separator: ", ") + ")")
        }
        return lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n")
    }

    private func cut(_ text: String, to width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }
}

/// `key  value` lines, values aligned and wrapped at spaces within `width` (nil: never wrapped).
public func keyValueLines(_ pairs: [(String, String)], width: Int?, indent: String = "  ") -> String {
    let keyWidth = pairs.map(\.0.count).max() ?? 0
    return pairs.map { key, value in
        wrapped(value, width: width, lead: indent + key + String(repeating: " ", count: keyWidth - key.count + 2))
    }.joined(separator: "\n")
}

/// `text` after `lead`, wrapped at spaces within `width` (nil: one line), continued under its
/// first word.
public func wrapped(_ text: String, width: Int?, lead: String = "  ") -> String {
    guard let width, lead.count + text.count > width else { return lead + text }
    var lines: [String] = []
    var current = lead
    let continuation = String(repeating: " ", count: lead.count)
    for word in text.split(separator: " ") {
        if current.count + 1 + word.count > width && current.count > lead.count {
            lines.append(current)
            current = continuation + word
        } else {
            current += (current.count > lead.count ? " " : "") + word
        }
    }
    lines.append(current)
    return lines.joined(separator: "\n")
}
