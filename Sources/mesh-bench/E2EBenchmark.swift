import Foundation
import Glibc
import MeshCommandLine
import MeshCore
import MeshRuntime
import MeshTransport
import MeshWire
import Synchronization

/// `mesh-bench e2e`: placements entering at industry nodes and decided and committed at regional
/// nodes, between real node processes over mutual TLS on loopback, driven open-loop.
struct E2ECommand: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "placements industry → regional over TLS between real node processes: latency at open-loop rates",
        discussion: """
            Starts five node processes (this executable's `node` command, which is meshd) with mutual TLS
            on 127.0.0.1: cn-north with two regional nodes and an industry node, cn-east with one regional
            node and an industry node. Four operator consoles (each with one connection to each industry node) send
            requests on a schedule (open loop: arrivals do not wait for answers) at each rate in turn:
            80 % PLACE (1 compute unit, 60 s lease), 10 % RENEW and 10 % RELEASE of leases placed
            earlier. Latency runs from the scheduled send to the answer, so a late answer delays no
            later arrival (no coordinated omission). A request unanswered 11 s after the last send
            (its 5 s deadline plus the node's 5 s console grace) is lost.

            The floor, in the same run and at the same load: a RENEW of an unknown lease routed through
            the industry node to a regional node, which refuses it: the same two TLS hops and the same
            relay, with no decision and no commit (one in ten arrivals besides the mix).

            Acceptance (issue 15): PLACE p99 <= 2 ms at 2,000 placements/s. Also reported: p50, p99,
            p99.9 per rate, the floor's, the highest rate whose p99 stays within 10 ms, each node's
            resident memory at the end.
            """)

    @OptionGroup var output: JSONOutput
    @Option(help: "rates to run, in requests per second, comma-separated (default 250,500,1000,2000,3000)", valueName: "R,R,...")
    var rates: String?
    @Option(help: "seconds at each rate (default 5)", valueName: "S", range: 1...120) var seconds: Int?
    @Flag(help: "rates 500 and 2000, 2 s each, for smoke checks") var quick = false
    @Option(help: "keep the nodes' files (logs, data) in DIR", valueName: "DIR") var keep: String?

    static let target = (rate: 2_000.0, p99Milliseconds: 2.0)
    static let slowP99Milliseconds = 10.0

    func validate() throws {
        if quick && (rates != nil || seconds != nil) { throw ValidationError("--quick sets its own rates and seconds") }
        _ = try plannedRates()
    }

    func plannedRates() throws -> [Double] {
        if quick { return [500, 2_000] }
        guard let rates else { return [250, 500, 1_000, 2_000, 3_000] }
        let parsed = rates.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 50_000 }) else {
            throw ValidationError("--rates needs comma-separated rates from 1 to 50000 per second, not '\(rates)'")
        }
        return parsed.map { $0! }
    }

    func measure() throws -> BenchOutcome {
        if isDebugBuild { Console.progress("mesh-bench e2e: WARNING: debug build; use -c release") }
        let rates = try plannedRates()
        let seconds = Double(self.seconds ?? (quick ? 2 : 5))
        let directory = keep ?? NSTemporaryDirectory() + "mesh-bench-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
        Console.progress("mesh-bench e2e: starting 5 nodes with TLS in \(directory)")
        let federation: E2EFederation
        do { federation = try E2EFederation(directory: directory) } catch { return .failed("\(error)") }
        defer { federation.stop() }
        let driver: E2EDriver
        do { driver = try E2EDriver(federation: federation) } catch { return .failed("console: \(error)") }
        defer { driver.close() }
        guard driver.warmUp(within: 30) else {
            return .failed("no placement succeeded within 30 s of start: the nodes did not form a mesh (logs in \(directory))")
        }
        var steps: [E2EStep] = []
        for rate in rates {
            let step = driver.run(rate: rate, seconds: seconds)
            Console.progress(step.line)
            steps.append(step)
        }
        let memory = federation.members.map {
            E2EReport.Memory(node: $0.name, residentMiB: Double(E2EFederation.residentBytes($0.process)) / 1_048_576)
        }
        let report = E2EReport(
            commandLine: CommandLine.arguments, secondsPerRate: seconds, steps: steps, memory: memory,
            highestRateWithinSlowP99: steps.filter {
                $0.place.p99 <= Self.slowP99Milliseconds && $0.lost == 0 && $0.errors.isEmpty
            }.map(\.rate).max())
        print(report.table())
        if let path = output.path {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: path))
        }
        guard let judged = steps.first(where: { $0.rate == Self.target.rate }) else { return .finished([]) }
        return .finished([
            Verdict("PLACE p99 ms at 2,000/s", measured: judged.place.p99, atMost: Self.target.p99Milliseconds),
            Verdict(
                "requests lost or refused with ERROR at 2,000/s",
                measured: Double(judged.lost + judged.errors.values.reduce(0, +)),
                atMost: 0),
        ])
    }
}

/// Latency percentiles of one kind of request at one rate, in milliseconds.
struct LatencyFigure: Codable {
    var count: Int
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double

    init(_ samples: [Double]) {
        count = samples.count
        p50 = Stats.percentile(samples, 0.5)
        p99 = Stats.percentile(samples, 0.99)
        p999 = Stats.percentile(samples, 0.999)
        max = samples.max() ?? 0
    }
}

/// One rate's figures.
struct E2EStep: Codable {
    var rate: Double
    /// Requests sent per second, as achieved by the scheduler.
    var sentPerSecond: Double
    var place: LatencyFigure
    var placed: Int
    var refused: Int
    var renewRelease: LatencyFigure
    var floor: LatencyFigure
    /// Requests with no answer by their deadline plus the node's console grace (10 s after the
    /// last one was sent, plus a second).
    var lost: Int
    /// Requests answered with an ERROR frame, by code.
    var errors: [String: Int]
    /// Arrivals not sent: every connection to their node already had 64 requests in flight.
    var shed: Int

    var line: String {
        String(
            format:
                "rate %.0f/s: PLACE p50 %.2f p99 %.2f p99.9 %.2f ms (%d placed, %d refused); floor p50 %.2f p99 %.2f ms; renew/release p99 %.2f ms; lost %d; shed %d; errors %@",
            rate, place.p50, place.p99, place.p999, placed, refused, floor.p50, floor.p99, renewRelease.p99, lost, shed,
            errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
    }
}

struct E2EReport: Codable {
    struct Memory: Codable {
        var node: String
        var residentMiB: Double
    }
    var commandLine: [String]
    var secondsPerRate: Double
    var steps: [E2EStep]
    var memory: [Memory]
    var highestRateWithinSlowP99: Double?

    func table() -> String {
        var lines = [
            "| rate/s | sent/s | PLACE p50 ms | p99 | p99.9 | max | placed | refused | floor p50 ms | floor p99 | renew/release p99 | lost | shed |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in steps {
            lines.append(
                String(
                    format: "| %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %d | %.2f | %.2f | %.2f | %d | %d |", s.rate,
                    s.sentPerSecond, s.place.p50, s.place.p99, s.place.p999, s.place.max, s.placed, s.refused, s.floor.p50,
                    s.floor.p99, s.renewRelease.p99, s.lost, s.shed))
        }
        lines.append("")
        lines.append(
            "highest rate with PLACE p99 <= \(Int(E2ECommand.slowP99Milliseconds)) ms and nothing lost: "
                + (highestRateWithinSlowP99.map { String(format: "%.0f/s", $0) } ?? "none"))
        lines.append(
            "resident memory at the end: "
                + memory.map { String(format: "%@ %.0f MiB", $0.node, $0.residentMiB) }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

/// The load generator: an operator console with several TLS connections to each industry node.
final class E2EDriver: @unchecked Sendable {
    enum Kind { case place, leaseOperation, floor }
    struct Pending {
        var kind: Kind
        var scheduled: UInt64
        /// The industry node it was sent to (a lease is renewed and released where it was placed).
        var entry: Int
        /// Which of that node's connections carries it.
        var connection: Int
    }
    struct State {
        var pending: [UInt64: Pending] = [:]
        var samples: [Kind: [Double]] = [:]
        var placed = 0
        var refused = 0
        /// ERROR answers by code: the node refused the frame itself (overload, a limit).
        var errors: [UInt16: Int] = [:]
        /// Leases placed and not yet released, with the industry node they entered at.
        var leases: [(LeaseID, Int)] = []
        /// Requests in flight per (entry, connection): a node refuses a request above its bound
        /// (64, SPEC §8.5) and counts the refusal against the connection's error budget, so the
        /// console keeps to it.
        var inFlight: [Int: Int] = [:]
        /// Arrivals not sent because every connection to their node was at the bound.
        var shed = 0
    }

    /// What the transport's loop thread and the scheduler share.
    final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// One transport per console identity.
    let transports: [Transport]
    let shared = Shared()
    /// Per industry node: its NodeID, the first regional node of its region, and the connections.
    private(set) var entries: [(node: NodeID, regional: NodeID, connections: [(Transport, ConnectionID)])] = []
    private var nextCorrelation: UInt64 = 1
    private var sequence = 0

    init(federation: E2EFederation) throws {
        let shared = self.shared
        let onEvent: @Sendable (TransportEvent) -> Void = { event in
            guard case .frame(_, let message, let correlationID, _) = event, correlationID != 0 else { return }
            let now = Monotonic.nanoseconds()
            shared.state.withLock { s in
                guard let pending = s.pending.removeValue(forKey: correlationID) else { return }
                s.inFlight[pending.entry * 16 + pending.connection, default: 1] -= 1
                if case .error(let error) = message, pending.kind != .floor {
                    s.errors[error.code, default: 0] += 1
                    return
                }
                s.samples[pending.kind, default: []].append(Double(now &- pending.scheduled) / 1_000_000)
                if pending.kind == .place, case .outcome(let outcome) = message {
                    if case .placed(let leases) = outcome.result {
                        s.placed += 1
                        if let lease = leases.first { s.leases.append((lease.leaseID, pending.entry)) }
                    } else {
                        s.refused += 1
                    }
                }
            }
        }
        transports = try federation.consoles.map { console in
            var configuration = TransportConfiguration(identity: console.identity, tls: console.tls)
            configuration.connectTimeoutMilliseconds = 5_000
            return try Transport(configuration: configuration, logger: .silent, onEvent: onEvent)
        }
        for industry in federation.members where industry.role == .industry {
            guard let regional = federation.members.first(where: { $0.role == .regional && $0.region == industry.region }) else {
                continue
            }
            var connections: [(Transport, ConnectionID)] = []
            for transport in transports {
                let address = SocketAddress(host: industry.address.host, port: industry.address.port)
                let (id, _) = try runBlocking { try await transport.connect(to: address) }
                connections.append((transport, id))
            }
            entries.append((industry.nodeID, regional.nodeID, connections))
        }
    }

    func close() { transports.forEach { $0.shutdown() } }

    /// Places one request a second until one is placed (the mesh has formed), for `within` seconds.
    func warmUp(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            send(.place, entry: 0, scheduled: Monotonic.nanoseconds())
            usleep(500_000)
            if shared.state.withLock({ $0.placed > 0 }) {
                shared.state.withLock { $0 = State(leases: $0.leases) }
                return true
            }
        }
        return false
    }

    /// Sends at `rate` per second for `seconds` on a fixed schedule, then waits up to 5 s for the
    /// last answers.
    func run(rate: Double, seconds: Double) -> E2EStep {
        shared.state.withLock { $0 = State(leases: $0.leases) }
        let interval = UInt64(1_000_000_000 / rate)
        let start = Monotonic.nanoseconds() + 10_000_000
        let count = Int(rate * seconds)
        var rng = SeededRandom(seed: UInt64(rate))
        for i in 0..<count {
            let scheduled = start + UInt64(i) * interval
            waitUntil(scheduled)
            let draw = rng.next() % 10
            let entry = i % entries.count
            send(draw < 8 ? .place : .leaseOperation, entry: entry, scheduled: scheduled)
            if i % 10 == 5 { send(.floor, entry: entry, scheduled: scheduled) }
        }
        let sentSeconds = Double(Monotonic.nanoseconds() - start) / 1e9
        // A node answers by the request's deadline (5 s) plus its console grace (5 s).
        let drainDeadline = Monotonic.nanoseconds() + 11_000_000_000
        while Monotonic.nanoseconds() < drainDeadline && shared.state.withLock({ !$0.pending.isEmpty }) { usleep(10_000) }
        return shared.state.withLock { s in
            E2EStep(
                rate: rate, sentPerSecond: Double(count) / max(sentSeconds, 1e-9), place: LatencyFigure(s.samples[.place] ?? []),
                placed: s.placed, refused: s.refused, renewRelease: LatencyFigure(s.samples[.leaseOperation] ?? []),
                floor: LatencyFigure(s.samples[.floor] ?? []), lost: s.pending.count,
                errors: Dictionary(uniqueKeysWithValues: s.errors.map { (String($0.key), $0.value) }), shed: s.shed)
        }
    }

    private func send(_ kind: Kind, entry given: Int, scheduled: UInt64) {
        var index = given
        var lease: LeaseID?
        if kind == .leaseOperation {
            guard let (id, at) = shared.state.withLock({ s in s.leases.isEmpty ? nil : s.leases.removeFirst() }) else {
                return send(.place, entry: given, scheduled: scheduled)
            }
            (lease, index) = (id, at)
        }
        let entry = entries[index]
        sequence += 1
        let correlation = nextCorrelation
        nextCorrelation += 1
        let message: WireMessage
        switch kind {
        case .place:
            message = .place(
                PlacementRequest(
                    requestID: RequestID(value: UInt128(sequence) | UInt128(UInt64.random(in: 1...UInt64.max)) << 64),
                    tenant: try! TenantID("bench-tenant"), sector: .finance, idempotencyKey: "e2e-\(sequence)-\(correlation)",
                    demand: Demand(computeUnits: 1), leaseDuration: .seconds(60), deadline: wallClockNow() + .seconds(5),
                    origin: entry.node))
        case .leaseOperation:
            guard let lease else { preconditionFailure("a lease operation without a lease") }
            message =
                sequence % 2 == 0
                ? .renew(Renew(leaseID: lease, extendBy: .seconds(30)))
                : .release(Release(reservation: .lease(lease)))
        case .floor:
            let unknown = LeaseID(value: UInt128(sequence) << 32 | 0xF100)
            message = .renew(Renew(leaseID: unknown, extendBy: .seconds(1), route: [entry.node, entry.regional]))
        }
        let chosen = shared.state.withLock { s -> Int? in
            let count = entry.connections.count
            for step in 0..<count {
                let c = (sequence + step) % count
                guard s.inFlight[index * 16 + c, default: 0] < E2EDriver.maxInFlight else { continue }
                s.inFlight[index * 16 + c, default: 0] += 1
                s.pending[correlation] = Pending(kind: kind, scheduled: scheduled, entry: index, connection: c)
                return c
            }
            s.shed += 1
            return nil
        }
        guard let chosen else { return }
        let (transport, connection) = entry.connections[chosen]
        transport.send(message, correlationID: correlation, on: connection)
    }

    /// The node's bound on requests in flight per connection (SPEC §8.5, reference default).
    static let maxInFlight = 64

    private func waitUntil(_ instant: UInt64) {
        while true {
            let now = Monotonic.nanoseconds()
            if now >= instant { return }
            let gap = instant - now
            if gap > 200_000 { usleep(UInt32((gap - 100_000) / 1000)) }
        }
    }
}
