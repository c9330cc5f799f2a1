public import MeshCore
public import MeshWire

/// The live console's whole state, as a value: the panes, the selection, the filter, the open
/// explanation, the events and placements seen, and the link to the node.
///
/// It is driven by inputs (keys, answers, events, a resize, the clock) and answers with
/// directives for the shell (fetch an explanation, quit); ``screen()`` says what to draw. It does
/// no I/O and reads no clock, so every screen can be tested without a terminal (issue 17).
public struct LiveConsole: Sendable {
    // MARK: - Vocabulary

    /// The four panes, in the order their number keys choose them.
    public enum Pane: Int, CaseIterable, Sendable {
        case members, inventory, flow, events

        public var title: String {
            switch self {
            case .members: "members"
            case .inventory: "inventory"
            case .flow: "placement flow"
            case .events: "events"
            }
        }
    }

    /// A key as the shell decoded it from the terminal.
    public enum Key: Equatable, Sendable {
        case character(Character)
        case up, down, pageUp, pageDown, home, end
        case enter, escape, tab, backTab, backspace
    }

    /// The console's link to its node.
    public enum Link: Equatable, Sendable {
        /// Dialling; `attempt` counts from 1.
        case connecting(attempt: Int)
        /// Connected and subscribed.
        case live
        /// The node went away; the shell dials again at `retryAt`.
        case lost(reason: String, retryAt: MeshInstant, attempt: Int)
    }

    /// What the shell feeds in.
    public enum Input: Sendable {
        case key(Key)
        case resize(columns: Int, rows: Int)
        /// The wall clock, for ages and the reconnect countdown.
        case tick(MeshInstant)
        case link(Link)
        case status(Status)
        /// The membership list and the node's latest round trips to its members (issue 17).
        case members([MemberRow], roundTrips: [MemberRoundTrip] = [])
        case inventory(Inventory)
        case event(Event)
        case why(Why)
        /// The node could not explain `request` (it forgot it, or it was not decided there).
        case whyFailed(RequestID, String)
    }

    /// What the shell does for the console.
    public enum Directive: Equatable, Sendable {
        /// Ask the node WHY for this request and feed the answer back as ``Input/why(_:)``.
        case explain(RequestID)
        /// Restore the terminal and exit 0.
        case quit
    }

    /// One placement seen on the event stream, completed by its explanation when it arrives.
    public struct FlowEntry: Sendable, Equatable {
        public var requestID: RequestID
        /// When the entry node published the outcome.
        public var at: MeshInstant
        public var placed: Bool
        /// The event's detail: `placed`, or `refused: reason`.
        public var detail: String
        public var why: Why?
        /// Why no explanation could be had, if it could not.
        public var whyError: String?
    }

    /// The most events kept (oldest dropped first).
    public static let maxEvents = 1_000
    /// The most placements kept in the flow (oldest dropped first).
    public static let maxFlow = 200
    /// The most explanations asked for at once.
    public static let maxExplanationsInFlight = 8

    // MARK: - State

    /// The node's address, as given on the command line.
    public let address: String
    public private(set) var columns: Int
    public private(set) var rows: Int
    public private(set) var now: MeshInstant
    public private(set) var pane: Pane = .members
    public private(set) var link: Link = .connecting(attempt: 1)
    public private(set) var status: Status?
    public private(set) var members: [MemberRow] = []
    /// The node's latest round trips to ``members``, in NodeID order.
    public private(set) var memberRoundTrips: [MemberRoundTrip] = []
    public private(set) var inventory: Inventory?
    /// Events in sequence order, without repeats.
    public private(set) var events: [Event] = []
    /// The highest sequence seen: a reconnect subscribes from the one after it.
    public private(set) var lastSequence: UInt64 = 0
    /// Placements, newest first.
    public private(set) var flow: [FlowEntry] = []
    public private(set) var filter = ""
    public private(set) var editingFilter = false
    public private(set) var showingHelp = false
    /// The request whose explanation is open, if one is.
    public private(set) var explaining: RequestID?
    private var selected = [Int](repeating: 0, count: Pane.allCases.count)
    private var overlayTop = 0
    private var asked: Set<RequestID> = []
    private var names = NodeDirectory()

    public init(address: String, columns: Int = 80, rows: Int = 24, now: MeshInstant) {
        self.address = address
        self.columns = max(columns, Self.minimumColumns)
        self.rows = max(rows, Self.minimumRows)
        self.now = now
    }

    /// The smallest screen drawn; smaller terminals see its top-left corner.
    public static let minimumColumns = 40
    public static let minimumRows = 8

    /// The subscription to ask for after (re)connecting: every kind, from the event after the
    /// last one seen; on the first connection from 1, so that the node's buffered history (the
    /// placements just made, the members that just left) is on screen from the start.
    public var subscription: Subscribe {
        Subscribe(kinds: EventKind.allCases.reduce(0) { $0 | $1.mask }, fromSequence: lastSequence + 1)
    }

    // MARK: - Inputs

    /// Applies one input; returns what the shell must do.
    public mutating func handle(_ input: Input) -> [Directive] {
        switch input {
        case .key(let key):
            return onKey(key)
        case .resize(let columns, let rows):
            self.columns = max(columns, Self.minimumColumns)
            self.rows = max(rows, Self.minimumRows)
        case .tick(let now):
            self.now = now
        case .link(let link):
            self.link = link
            // Answers in flight on a lost connection never come: ask again on the new one.
            if case .live = link {
                asked = []
                clampSelection()
                return askNext()
            }
        case .status(let status):
            // A node that restarted (or another node at the address) numbers its events from 1
            // again: without this, every new event would look like a repeat.
            if let old = self.status,
                old.nodeID != status.nodeID || status.uptime.milliseconds < old.uptime.milliseconds
            {
                lastSequence = 0
            }
            self.status = status
            names.add(status.nodeID, status.name)
        case .members(let rows, let roundTrips):
            members = rows
            memberRoundTrips = roundTrips
            names.merge(rows.directory.entries)
        case .inventory(let inventory):
            self.inventory = inventory
            names.merge(inventory.names)
        case .event(let event):
            return onEvent(event)
        case .why(let why):
            names.merge(why.names)
            asked.remove(why.explanation.requestID)
            if let index = flow.firstIndex(where: { $0.requestID == why.explanation.requestID }) {
                flow[index].why = why
                flow[index].whyError = nil
            }
            return askNext()
        case .whyFailed(let id, let reason):
            asked.remove(id)
            if let index = flow.firstIndex(where: { $0.requestID == id }) { flow[index].whyError = reason }
            return askNext()
        }
        clampSelection()
        return []
    }

    private mutating func onEvent(_ event: Event) -> [Directive] {
        // A replay after a reconnect may repeat events already seen; the sequence tells.
        guard event.sequence > lastSequence else { return [] }
        lastSequence = event.sequence
        events.append(event)
        if events.count > Self.maxEvents { events.removeFirst(events.count - Self.maxEvents) }
        guard event.kind == .placement, let id = try? RequestID(hex: event.subject) else { return [] }
        let placed = event.detail == "placed"
        guard placed || event.detail.hasPrefix("refused") else { return [] }
        // Keep the selection on the same request when a new one arrives on top.
        if pane == .flow && !flow.isEmpty { selected[Pane.flow.rawValue] += 1 }
        flow.insert(FlowEntry(requestID: id, at: event.at, placed: placed, detail: Self.outcomeText(event.detail)), at: 0)
        if flow.count > Self.maxFlow { flow.removeLast(flow.count - Self.maxFlow) }
        clampSelection()
        return ask(id)
    }

    /// The newest placement still waiting for its explanation, once one is answered: a replay
    /// can bring more placements than ``maxExplanationsInFlight``.
    private mutating func askNext() -> [Directive] {
        guard let next = flow.first(where: { $0.why == nil && $0.whyError == nil && !asked.contains($0.requestID) })
        else { return [] }
        return ask(next.requestID)
    }

    /// `refused (no-candidates): message` for the node's `refused: refused(no-candidates, message: "…")`.
    static func outcomeText(_ detail: String) -> String {
        let prefix = "refused: refused("
        guard detail.hasPrefix(prefix), let comma = detail.firstIndex(of: ",") else { return detail }
        let reason = detail[detail.index(detail.startIndex, offsetBy: prefix.count)..<comma]
        var message = detail[comma...].dropFirst().drop(while: { $0 == " " })
        if message.hasPrefix("message: ") { message = message.dropFirst("message: ".count) }
        if message.hasSuffix(")") { message = message.dropLast() }
        message = message.drop(while: { $0 == "\"" })
        if message.hasSuffix("\"") { message = message.dropLast() }
        return "refused (\(reason)): \(message)"
    }

    private mutating func ask(_ id: RequestID) -> [Directive] {
        guard link == .live, !asked.contains(id), asked.count < Self.maxExplanationsInFlight else { return [] }
        asked.insert(id)
        return [.explain(id)]
    }

    private mutating func onKey(_ key: Key) -> [Directive] {
        if editingFilter {
            switch key {
            case .enter: editingFilter = false
            case .escape:
                editingFilter = false
                filter = ""
            case .backspace: if !filter.isEmpty { filter.removeLast() }
            case .character(let c) where !c.isNewline && filter.count < 40: filter.append(c)
            default: break
            }
            selected[pane.rawValue] = 0
            return []
        }
        if showingHelp {
            if key == .character("q") { return [.quit] }
            showingHelp = false
            return []
        }
        if let id = explaining {
            switch key {
            case .escape, .enter, .backspace, .character("x"): explaining = nil
            case .up, .character("k"): overlayTop = max(0, overlayTop - 1)
            case .down, .character("j"): overlayTop += 1
            case .pageUp: overlayTop = max(0, overlayTop - bodyHeight)
            case .pageDown: overlayTop += bodyHeight
            case .character("q"): return [.quit]
            case .character("?"): showingHelp = true
            case .character("r"):
                asked.remove(id)
                return ask(id)
            default: break
            }
            return []
        }
        let count = paneRows(pane).rows.count
        var selection = selected[pane.rawValue]
        switch key {
        case .character("q"): return [.quit]
        case .character("?"): showingHelp = true
        case .character("/"):
            editingFilter = true
        case .escape: filter = ""
        case .character(let c) where ("1"..."4").contains(c):
            switchPane(to: Pane(rawValue: Int(String(c))! - 1)!)
        case .tab: switchPane(to: Pane(rawValue: (pane.rawValue + 1) % Pane.allCases.count)!)
        case .backTab:
            switchPane(to: Pane(rawValue: (pane.rawValue + Pane.allCases.count - 1) % Pane.allCases.count)!)
        case .up, .character("k"): selection -= 1
        case .down, .character("j"): selection += 1
        case .pageUp: selection -= bodyHeight - 1
        case .pageDown: selection += bodyHeight - 1
        case .home, .character("g"): selection = 0
        case .end, .character("G"): selection = count - 1
        case .enter:
            guard pane == .flow, let entry = selectedFlowEntry else { return [] }
            explaining = entry.requestID
            overlayTop = 0
            return entry.why == nil ? ask(entry.requestID) : []
        default: break
        }
        selected[pane.rawValue] = selection
        clampSelection()
        return []
    }

    private mutating func switchPane(to pane: Pane) {
        self.pane = pane
        filter = ""
    }

    private mutating func clampSelection() {
        for pane in Pane.allCases {
            let count = paneRows(pane).rows.count
            selected[pane.rawValue] = max(0, min(selected[pane.rawValue], count - 1))
        }
    }

    /// The placement the flow pane's selection is on (after the filter).
    public var selectedFlowEntry: FlowEntry? {
        let visible = filteredFlow
        let index = selected[Pane.flow.rawValue]
        return visible.indices.contains(index) ? visible[index] : nil
    }

    private var filteredFlow: [FlowEntry] {
        guard pane == .flow, !filter.isEmpty else { return flow }
        return flow.filter { flowCells($0).joined(separator: " ").lowercased().contains(filter.lowercased()) }
    }

    // MARK: - Screen

    /// What to draw: exactly ``rows`` lines of exactly ``columns`` characters.
    public func screen() -> Screen {
        var lines: [Screen.Line] = [titleLine(), tabLine()]
        if showingHelp {
            lines += framed(Self.helpText, title: "keys")
        } else if let id = explaining {
            lines += framed(explanationText(id), title: "why \(id)", top: overlayTop)
        } else {
            lines += body()
        }
        lines.append(footerLine())
        return Screen(lines: lines.map { $0.fitted(to: columns) })
    }

    /// The lines between the tabs and the footer.
    var bodyHeight: Int { rows - 3 }

    private func titleLine() -> Screen.Line {
        var parts = [" ComputeMesh"]
        if let s = status {
            parts.append("\(s.name?.name ?? s.nodeID.short) (\(s.nodeID.short)) \(s.role) \(s.region)")
            parts.append(address)
            parts.append("\(s.aliveMembers) alive, \(s.suspectMembers) suspect, \(s.deadMembers) dead")
        } else {
            parts.append(address)
        }
        // Whole parts only: what does not fit is left out rather than cut.
        var text = parts[0]
        for part in parts.dropFirst() where text.count + 3 + part.count <= columns { text += " · " + part }
        return Screen.Line(text, style: .title)
    }

    private func tabLine() -> Screen.Line {
        var text = ""
        for p in Pane.allCases {
            let label = "\(p.rawValue + 1) \(p.title)"
            text += p == pane ? "[\(label)]" : " \(label) "
            text += " "
        }
        if editingFilter || !filter.isEmpty { text += " filter: \(filter)" + (editingFilter ? "▏" : "") }
        return Screen.Line(text, style: .plain)
    }

    private func footerLine() -> Screen.Line {
        switch link {
        case .live:
            let hint =
                explaining != nil
                ? " esc:back  ↑↓:scroll  r:ask again  ?:keys  q:quit"
                : " 1-4:pane  ↑↓:select  /:filter  enter:why  ?:keys  q:quit"
            return Screen.Line(hint + "  · live, event #\(lastSequence)", style: .dim)
        case .connecting(let attempt):
            return Screen.Line(" connecting to \(address) (attempt \(attempt))…", style: .warning)
        case .lost(let reason, let retryAt, let attempt):
            let wait = retryAt.milliseconds > now.milliseconds ? (retryAt.milliseconds - now.milliseconds + 999) / 1000 : 0
            return Screen.Line(
                " NODE GONE: \(reason) · reconnecting in \(wait) s (attempt \(attempt + 1)) · showing what was last seen",
                style: .error)
        }
    }

    private func body() -> [Screen.Line] {
        let table = paneRows(pane)
        var lines: [Screen.Line] = []
        let height = bodyHeight
        if let header = table.header { lines.append(Screen.Line(header, style: .header)) }
        let room = height - lines.count
        if table.rows.isEmpty {
            lines.append(Screen.Line(filter.isEmpty ? table.empty : "  (nothing matches the filter '\(filter)')", style: .dim))
        } else {
            let selection = selected[pane.rawValue]
            let top = max(0, min(selection - room + 1, table.rows.count - room))
            for index in top..<min(table.rows.count, top + room) {
                let row = table.rows[index]
                let style: Screen.Line.Style = index == selection && table.selectable ? .selected : row.style
                lines.append(Screen.Line(row.text, style: style))
            }
        }
        while lines.count < height { lines.append(Screen.Line("", style: .plain)) }
        return lines
    }

    /// `text` in a box of the body's height, from line `top`.
    private func framed(_ text: [String], title: String, top: Int = 0) -> [Screen.Line] {
        let height = bodyHeight
        let inner = height - 2
        let start = max(0, min(top, text.count - inner))
        let head = "┌─ " + title + " "
        var lines = [Screen.Line(head + String(repeating: "─", count: max(0, columns - head.count)), style: .header)]
        for line in text.dropFirst(start).prefix(inner) { lines.append(Screen.Line("│" + line, style: .plain)) }
        while lines.count < height - 1 { lines.append(Screen.Line("│", style: .plain)) }
        let more = start + inner < text.count ? " more: ↓ " : ""
        let foot = "└─" + more
        lines.append(Screen.Line(foot + String(repeating: "─", count: max(0, columns - foot.count)), style: .header))
        return lines
    }

    static let helpText = [
        " 1 2 3 4, tab, shift-tab   members, inventory, placement flow, events",
        " ↑ ↓ (k j), pgup pgdn      move the selection; g G: first, last",
        " /                         filter the pane (enter keeps it, esc clears it)",
        " enter                     on a placement: open its explanation",
        " esc                       close the explanation or clear the filter",
        " r                         in an explanation: ask the node again",
        " ?                         this help (any key closes it)",
        " q, ctrl-c                 quit (the terminal is restored)",
        "",
        " The flow fills from the node's event stream; when the node goes away the",
        " console says so, dials again with backoff and replays the events it missed.",
    ]

    private func explanationText(_ id: RequestID) -> [String] {
        guard let entry = flow.first(where: { $0.requestID == id }) else { return [" (this placement left the flow)"] }
        guard let why = entry.why else {
            return [entry.whyError.map { " the node cannot explain it: \($0)" } ?? " asking the node why…"]
        }
        let e = why.explanation
        let directory = NodeDirectory(why.names).merged(with: names)
        var text = [
            " outcome    \(entry.detail) at \(TextFormat.instant(entry.at)) UTC",
            " sum rule   considered \(e.consideredCount) = filtered \(e.filteredCount) + scored \(e.scoredCount)"
                + (e.obeysSumRule ? "  ✓ holds" : "  ✗ BROKEN"),
        ]
        text += ConsoleText.explanation(e, focus: why.focus, names: directory, width: columns - 2)
            .split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
            .filter { !$0.hasPrefix("  (--wide adds") }
        return text
    }

    // MARK: - Pane contents

    /// One pane's table, cut to the screen's width: the header, then one line per row.
    struct PaneTable {
        struct Row {
            var text: String
            var style: Screen.Line.Style
        }
        var header: String?
        var rows: [Row]
        var empty: String
        var selectable: Bool
    }

    func paneRows(_ pane: Pane) -> PaneTable {
        let needle = pane == self.pane ? filter.lowercased() : ""
        func keep(_ cells: [String]) -> Bool { needle.isEmpty || cells.joined(separator: " ").lowercased().contains(needle) }
        switch pane {
        case .members: return membersTable(keep)
        case .inventory: return inventoryTable(keep)
        case .flow:
            let entries = flow.filter { keep(flowCells($0)) }
            return table(
                [
                    .init("when (UTC)"), .init("request"), .init("origin"), .init("path", priority: 2, flexible: true),
                    .init("outcome", flexible: true), .init("latency", priority: 1, alignRight: true),
                ], entries.map(flowCells), styles: entries.map { $0.placed ? .plain : .warning },
                empty: "  (no placements yet: they appear here as the node decides them)")
        case .events:
            let shown = events.reversed().map(eventCells).filter(keep)
            return table(
                [
                    .init("time (UTC)"), .init("#", alignRight: true), .init("kind"), .init("subject"),
                    .init("detail", flexible: true),
                ],
                shown.map { $0 },
                styles: events.reversed().filter { keep(eventCells($0)) }.map {
                    $0.severity == .error ? .error : $0.severity == .warning ? .warning : .plain
                },
                empty: "  (no events yet)")
        }
    }

    private func membersTable(_ keep: ([String]) -> Bool) -> PaneTable {
        let region = status?.region
        let home = members.filter { region == nil || $0.update.region == region }
        let backbone = members.filter { region != nil && $0.update.region != region }
        var rows: [[String]] = []
        var styles: [Screen.Line.Style] = []
        func add(_ r: MemberRow) {
            let u = r.update
            let cells = [
                names.name(of: u.node)?.name ?? u.name?.name ?? "-", u.node.short, u.role.description, u.region.code,
                u.status.description, TextFormat.roundTrip(memberRoundTrips.roundTrip(of: u.node)), String(u.incarnation),
                TextFormat.duration(r.sinceChange), u.address.description,
            ]
            guard keep(cells) else { return }
            rows.append(cells)
            let style: Screen.Line.Style =
                switch u.status {
                case .alive: .plain
                case .suspect: .warning
                case .dead: .error
                case .left: .dim
                }
            styles.append(style)
        }
        home.forEach(add)
        let homeCount = rows.count
        backbone.forEach(add)
        var table = table(
            [
                .init("node", flexible: true), .init("id"), .init("role", priority: 1), .init("region", priority: 2),
                .init("state"), .init("rtt", priority: 2, alignRight: true), .init("inc", priority: 3, alignRight: true),
                .init("since change", priority: 4), .init("address", priority: 5),
            ], rows, styles: styles, empty: "  (no members yet)")
        // The backbone peers of other regions follow the node's own region, under their own line.
        if homeCount < table.rows.count, let region {
            table.rows.insert(.init(text: "  ── backbone: regional nodes outside \(region) ──", style: .dim), at: homeCount)
        }
        return table
    }

    private func inventoryTable(_ keep: ([String]) -> Bool) -> PaneTable {
        struct Class {
            var region: String
            var kind: String
            var pools = 0
            var total: UInt64 = 0
            var free: UInt64 = 0
            var freeKnown = true
            var minPrice = UInt64.max
            var maxPrice: UInt64 = 0
            var oldest = MeshDuration.milliseconds(0)
        }
        var classes: [String: Class] = [:]
        var order: [String] = []
        for row in inventory?.pools ?? [] {
            guard case .descriptor(let d) = row.descriptor.body else { continue }
            var availability: PoolAvailability?
            if case .availability(let a)? = row.availability?.body { availability = a }
            let groups: [(String, UInt64, UInt64?)] =
                d.accelerators.isEmpty
                ? [("cpu \(d.architecture) (units)", d.computeUnits, availability?.freeComputeUnits)]
                : d.accelerators.enumerated().map { i, g in
                    let free = availability.flatMap { i < $0.freeAccelerators.count ? UInt64($0.freeAccelerators[i]) : nil }
                    return ("\(g.kind) \(g.vendor)/\(g.model)", UInt64(g.count), free)
                }
            let price = (availability?.pricePerUnitHour ?? d.pricePerUnitHour).microYuan
            for (kind, total, free) in groups {
                let key = d.residency.code + "\u{0}" + kind
                if classes[key] == nil {
                    classes[key] = Class(region: d.residency.code, kind: kind)
                    order.append(key)
                }
                classes[key]!.pools += 1
                classes[key]!.total += total
                if let free { classes[key]!.free += free } else { classes[key]!.freeKnown = false }
                classes[key]!.minPrice = min(classes[key]!.minPrice, price)
                classes[key]!.maxPrice = max(classes[key]!.maxPrice, price)
                classes[key]!.oldest = MeshDuration.milliseconds(max(classes[key]!.oldest.milliseconds, row.age.milliseconds))
            }
        }
        var rows: [[String]] = []
        for key in order.sorted() {
            let c = classes[key]!
            let low = TextFormat.price(Price(microYuan: c.minPrice))
            let range = c.minPrice == c.maxPrice ? low : low + "–" + TextFormat.price(Price(microYuan: c.maxPrice))
            rows.append([
                c.region, c.kind, String(c.pools), String(c.total), c.freeKnown ? String(c.free) : "?", range,
                TextFormat.duration(c.oldest) + " ago",
            ])
        }
        for s in inventory?.summaries ?? [] {
            let age = s.issuedAt.milliseconds <= now.milliseconds ? TextFormat.duration(now.since(s.issuedAt)) + " ago" : "now"
            let kinds: [(String, UInt64, UInt64)] =
                s.accelerators.isEmpty
                ? [("cpu (units)", s.totalComputeUnits, s.freeComputeUnits)]
                : s.accelerators.map { ("\($0.kind) \($0.vendor)/\($0.model)", $0.total, $0.free) }
            for (kind, total, free) in kinds {
                rows.append([
                    s.region.code + " (summary)", kind, String(s.poolCount), String(total), String(free),
                    "from " + TextFormat.price(s.minPricePerUnitHour), age,
                ])
            }
        }
        return table(
            [
                .init("region"), .init("class", flexible: true), .init("pools", priority: 2, alignRight: true),
                .init("capacity", alignRight: true), .init("free", alignRight: true), .init("¥/unit·h", priority: 1),
                .init("freshness", priority: 1),
            ], rows.filter(keep), styles: nil, empty: "  (no pools in view yet)", selectable: true)
    }

    private func table(
        _ columns: [TextTable.Column], _ rows: [[String]], styles: [Screen.Line.Style]?, empty: String, selectable: Bool = true
    ) -> PaneTable {
        let lines = TextTable(columns, rows: rows, indent: " ").render(width: self.columns - 1).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map { String($0) }
        let body = lines.dropFirst().prefix(rows.count)
        return PaneTable(
            header: lines.first,
            rows: body.enumerated().map { i, text in .init(text: text, style: styles?[i] ?? .plain) }, empty: empty,
            selectable: selectable)
    }

    private func flowCells(_ entry: FlowEntry) -> [String] {
        let time = String(TextFormat.instant(entry.at).suffix(8))
        let id = String(entry.requestID.description.prefix(8))
        guard let why = entry.why else {
            return [time, id, "…", entry.whyError.map { "(\($0))" } ?? "asking why…", entry.detail, "-"]
        }
        let e = why.explanation
        let directory = NodeDirectory(why.names).merged(with: names)
        let origin = e.path.first.map(directory.label) ?? directory.label(e.decidedBy)
        let path = e.path.isEmpty ? directory.label(e.decidedBy) : e.path.map(directory.label).joined(separator: "→")
        let outcome = entry.placed ? "placed on " + (e.chosen.map(directory.pool) ?? "?") : entry.detail
        // From the decision to the outcome reaching the entry node: quotes, confirm and commit.
        let latency =
            entry.at.milliseconds >= e.decidedAt.milliseconds ? TextFormat.duration(entry.at.since(e.decidedAt)) : "-"
        return [time, id, origin, path, outcome, latency]
    }

    private func eventCells(_ e: Event) -> [String] {
        var subject = e.subject
        if let node = try? NodeID(hex: e.subject) {
            subject = names.name(of: node).map { "\($0.name) (\(node.short))" } ?? node.short
        } else if let id = try? RequestID(hex: e.subject) {
            // Placement events name a request, a hold or a lease: the detail says which.
            let what = e.detail.hasPrefix("lease") ? "lease" : e.detail.hasPrefix("hold") ? "hold" : "request"
            subject = what + " " + String(id.description.prefix(8))
        }
        return [
            String(TextFormat.instant(e.at).suffix(8)), String(e.sequence), "\(e.kind.name)/\(e.severity.name)", subject,
            e.detail,
        ]
    }
}

// MARK: - Screen

/// What the live console draws: lines of plain text, each with a style the shell turns into ANSI
/// attributes (or none, with NO_COLOR).
public struct Screen: Equatable, Sendable {
    public struct Line: Equatable, Sendable {
        public enum Style: Equatable, Sendable {
            case plain, title, header, selected, dim, warning, error
        }
        public var text: String
        public var style: Style

        public init(_ text: String, style: Style) {
            self.text = text
            self.style = style
        }

        /// Cut or padded to exactly `width` characters.
        func fitted(to width: Int) -> Line {
            let cut = text.count > width ? String(text.prefix(width - 1)) + "…" : text
            return Line(cut + String(repeating: " ", count: width - cut.count), style: style)
        }
    }

    public var lines: [Line]

    public init(lines: [Line]) { self.lines = lines }

    /// The screen as text, trailing spaces removed: what `tmux capture-pane` shows, and what the
    /// golden files hold.
    public var text: String {
        lines.map { String($0.text.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n")
    }
}

extension NodeDirectory {
    /// This directory with `other`'s names added where this one has none.
    func merged(with other: NodeDirectory) -> NodeDirectory {
        var merged = other
        merged.merge(entries)
        return merged
    }
}
