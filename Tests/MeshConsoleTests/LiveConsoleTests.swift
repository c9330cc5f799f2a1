import Foundation
import MeshConsole
import MeshCore
import MeshWire
import Testing

/// The live console as a value: fixed answers and events in, screens out. Golden screens live in
/// `golden/live/`; `MESH_WRITE_GOLDEN=1 swift test --filter LiveConsoleTests` rewrites them.
@Suite("live console")
struct LiveConsoleTests {
    static let start = MeshInstant(milliseconds: 1_796_328_000_000)

    /// The named golden vectors' answers, two more members (one of them dead, one a backbone
    /// peer), events and one explained placement.
    static func fixture(columns: Int, rows: Int) throws -> LiveConsole {
        guard case .status(let status) = try ConsoleRenderingTests.message("status-named"),
            case .members(let members) = try ConsoleRenderingTests.message("members-rtt"),
            case .inventory(let inventory) = try ConsoleRenderingTests.message("inventory-named"),
            case .why(let why) = try ConsoleRenderingTests.message("why-named")
        else { throw ConsoleRenderingTests.VectorError(vector: "a named console answer") }
        var console = LiveConsole(address: "127.0.0.1:7401", columns: columns, rows: rows, now: start)
        _ = console.handle(.link(.live))
        _ = console.handle(.status(status))
        var rows = members.members
        var home = rows[rows.count - 1]  // east-1, the answering node
        home.update.node = NodeID(w0: 0x7e57_0002_0000_0000, w1: 7, w2: 7, w3: 7)
        home.update.region = status.region
        home.update.name = try NodeName("east-2")
        home.update.status = .alive
        var gone = home
        gone.update.node = NodeID(w0: 0xface_0003_0000_0000, w1: 9, w2: 9, w3: 9)
        gone.update.name = try NodeName("east-manufacturing")
        gone.update.role = .industry
        gone.update.status = .dead
        var peer = home
        peer.update.node = NodeID(w0: 0x0b0e_0001_0000_0000, w1: 1, w2: 1, w3: 1)
        peer.update.region = try Region("cn-north")
        peer.update.name = try NodeName("north-1")
        rows += [home, gone, peer]
        // Round trips (issue 17): north-finance's from the vector, and north-1's.
        let roundTrips = members.roundTrips + [MemberRoundTrip(node: peer.update.node, microseconds: 48_700)]
        _ = console.handle(.members(rows, roundTrips: roundTrips))
        _ = console.handle(.inventory(inventory))
        let id = why.explanation.requestID
        let events = [
            Event(
                sequence: 1, at: start, kind: .lifecycle, severity: .info, subject: status.nodeID.hex,
                detail: "started as regional in \(status.region)"),
            Event(
                sequence: 2, at: start + .seconds(2), kind: .membership, severity: .warning, subject: gone.update.node.hex,
                detail: "industry \(status.region) 127.0.0.1:7403 is dead at incarnation 3"),
            Event(
                sequence: 3, at: why.explanation.decidedAt + .milliseconds(42), kind: .placement, severity: .info,
                subject: id.description, detail: "placed"),
        ]
        for event in events { _ = console.handle(.event(event)) }
        _ = console.handle(.why(why))
        _ = console.handle(.tick(start + .seconds(5)))
        return console
    }

    static func golden(_ name: String, _ screen: Screen, columns: Int, rows: Int) throws {
        #expect(screen.lines.count == rows, "\(name): \(screen.lines.count) lines")
        for line in screen.lines { #expect(line.text.count == columns, "\(name): a line of \(line.text.count)") }
        let url = ConsoleRenderingTests.root.appendingPathComponent("Tests/MeshConsoleTests/golden/live/\(name).txt")
        if ProcessInfo.processInfo.environment["MESH_WRITE_GOLDEN"] == "1" {
            try (screen.text + "\n").write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(screen.text + "\n" == expected, "\(name) differs from golden/live/\(name).txt:\n\(screen.text)")
    }

    @Test(arguments: [(80, 24), (132, 43)])
    func everyPaneMatchesItsGoldenScreen(columns: Int, rows: Int) throws {
        var console = try Self.fixture(columns: columns, rows: rows)
        for (key, pane) in zip("1234", LiveConsole.Pane.allCases) {
            _ = console.handle(.key(.character(key)))
            try Self.golden("\(pane)-\(columns)x\(rows)", console.screen(), columns: columns, rows: rows)
        }
        _ = console.handle(.key(.character("3")))
        _ = console.handle(.key(.enter))
        try Self.golden("why-\(columns)x\(rows)", console.screen(), columns: columns, rows: rows)
        _ = console.handle(.key(.character("?")))
        try Self.golden("help-\(columns)x\(rows)", console.screen(), columns: columns, rows: rows)
    }

    @Test func membersListTheRegionThenTheBackbonePeersByName() throws {
        let text = try Self.fixture(columns: 80, rows: 24).screen().text
        let lines = text.split(separator: "\n")
        let east2 = try #require(lines.firstIndex { $0.contains("east-2") })
        let backbone = try #require(lines.firstIndex { $0.contains("backbone") })
        let north1 = try #require(lines.firstIndex { $0.contains("north-1") })
        #expect(east2 < backbone && backbone < north1, "\(text)")
        #expect(lines.contains { $0.contains("east-manufacturing") && $0.contains("dead") }, "\(text)")
    }

    @Test func aPlacementEventAsksWhyOnceAndEnterOpensItsExplanationWithTheSumRule() throws {
        var console = LiveConsole(address: "a", now: Self.start)
        _ = console.handle(.link(.live))
        let id = RequestID(value: 0xabc)
        let event = Event(
            sequence: 5, at: Self.start, kind: .placement, severity: .info, subject: id.description, detail: "placed")
        #expect(console.handle(.event(event)) == [.explain(id)])
        #expect(console.handle(.event(event)) == [], "a replayed event is not seen twice")
        _ = console.handle(.key(.character("3")))
        #expect(console.handle(.key(.enter)) == [], "the explanation was already asked for")
        #expect(console.explaining == id)
        #expect(console.screen().text.contains("asking the node why"))
        guard case .why(var why) = try ConsoleRenderingTests.message("why-named") else { return }
        why.explanation.requestID = id
        _ = console.handle(.why(why))
        #expect(console.screen().text.contains("sum rule   considered"), "\(console.screen().text)")
        _ = console.handle(.key(.escape))
        #expect(console.explaining == nil)
    }

    @Test func aRefusalReadsAsItsReasonAndMessage() {
        var console = LiveConsole(address: "a", now: Self.start)
        let detail = #"refused: refused(no-candidates, message: "no pool in view passed the filters")"#
        _ = console.handle(
            .event(
                Event(
                    sequence: 1, at: Self.start, kind: .placement, severity: .warning,
                    subject: RequestID(value: 7).description, detail: detail)))
        #expect(console.flow.first?.detail == "refused (no-candidates): no pool in view passed the filters")
    }

    @Test func aReconnectSubscribesFromTheEventAfterTheLastOneSeenAndSkipsRepeats() {
        var console = LiveConsole(address: "a", now: Self.start)
        #expect(console.subscription.fromSequence == 1, "the first subscription replays the node's buffer")
        for sequence: UInt64 in [1, 2, 3] {
            _ = console.handle(
                .event(Event(sequence: sequence, at: Self.start, kind: .lifecycle, severity: .info, subject: "s", detail: "d")))
        }
        _ = console.handle(.link(.lost(reason: "connection refused", retryAt: Self.start + .seconds(2), attempt: 1)))
        #expect(console.screen().text.contains("NODE GONE: connection refused · reconnecting in 2 s"))
        #expect(console.subscription.fromSequence == 4)
        #expect(console.subscription.kinds == EventKind.allCases.reduce(0) { $0 | $1.mask })
        for sequence: UInt64 in [2, 3, 4] {
            _ = console.handle(
                .event(Event(sequence: sequence, at: Self.start, kind: .lifecycle, severity: .info, subject: "s", detail: "d")))
        }
        #expect(console.events.map(\.sequence) == [1, 2, 3, 4])
    }

    @Test func aNodeThatRestartedIsFollowedFromItsFirstEventAgain() throws {
        guard case .status(let status) = try ConsoleRenderingTests.message("status-named") else { return }
        var console = LiveConsole(address: "a", now: Self.start)
        _ = console.handle(.status(status))
        for sequence: UInt64 in [1, 2, 3] {
            _ = console.handle(
                .event(Event(sequence: sequence, at: Self.start, kind: .lifecycle, severity: .info, subject: "s", detail: "d")))
        }
        var restarted = status
        restarted.uptime = .milliseconds(10)
        _ = console.handle(.status(restarted))
        #expect(console.subscription.fromSequence == 1)
        _ = console.handle(
            .event(Event(sequence: 1, at: Self.start, kind: .lifecycle, severity: .info, subject: "s", detail: "again")))
        #expect(console.events.last?.detail == "again")
    }

    @Test func theFilterKeepsMatchingRowsAndEscapeClearsIt() throws {
        var console = try Self.fixture(columns: 80, rows: 24)
        for key: LiveConsole.Key in [.character("/"), .character("m"), .character("a"), .character("n"), .enter] {
            _ = console.handle(.key(key))
        }
        let text = console.screen().text
        #expect(text.contains("east-manufacturing") && !text.contains("east-2 "), "\(text)")
        _ = console.handle(.key(.escape))
        #expect(console.screen().text.contains("east-2"))
    }

    @Test func qQuitsAndEveryScreenFitsASmallTerminal() throws {
        var console = try Self.fixture(columns: 80, rows: 24)
        _ = console.handle(.resize(columns: 20, rows: 3))
        #expect(console.screen().lines.count == LiveConsole.minimumRows)
        #expect(console.handle(.key(.character("q"))) == [.quit])
    }
}
