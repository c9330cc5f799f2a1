import Foundation
import Glibc
import MeshCommandLine
import MeshCore
import MeshCrypto
import MeshRuntime
import MeshTransport
import MeshWire
import Synchronization

/// `mesh-bench transport`: request/response over loopback through MeshTransport, plaintext and
/// TLS 1.3, against the C epoll reference (../shared/bench/frame-echo.c, built with `cc -O2`)
/// on the same workload in the same run.
struct TransportCommand: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "MeshTransport (plaintext, TLS 1.3) vs the C epoll frame-echo reference (ratios)",
        discussion: details)
    static let details = """
        Runs 256-byte request/response traffic over 127.0.0.1: 4 connections x 32 requests in flight
        (throughput) and 1 x 1 (latency). The C reference (frame-echo.c, compiled here with cc -O2)
        echoes 4-byte-length frames of 256 payload bytes; MeshTransport carries PING requests padded
        to the same 260 bytes on the wire (length prefix, 12-byte header, body with an ignorable
        tagged field) and its server answers each with a PONG of the same size through the full path
        (decoder, connection gate, event handler, prioritised output, TLS when on). Both sides of
        each setup run in one process per side pair: C as two processes, MeshTransport as two
        loop threads. Each setup runs --rounds times, interleaved; the median round counts.
        Round-trip latency is sampled on a quarter of the in-flight slots (every request at 1 x 1).

        Acceptance (same run, 4 x 32): plaintext >= \(Acceptance.plaintextRatio)x and TLS >= \(Acceptance.tlsRatio)x the C reference's frames/s.
        A missed target exits 1.

        --guard (CI): 4 x 32 only, \(guardRounds) rounds of \(Verdict.figure(guardSeconds)) s; judges plaintext / C and TLS / C
        (median of the per-round ratios) against their baselines divided by \(Verdict.figure(Guard.tolerance)).
        """
    @OptionGroup var output: JSONOutput
    @Option(help: "measuring time per setup and round (default 3)", valueName: "S", range: 0.2...600) var seconds: Double?
    @Option(help: "rounds, interleaving the setups (default 3)", valueName: "N", range: 1...50) var rounds: Int?
    @Option(help: "frame-echo.c (default: ../shared/bench/frame-echo.c)", valueName: "PATH") var reference: String?
    @Flag(help: "one round of one second, for smoke checks") var quick = false
    @Flag(
        name: "guard",
        help: "4 x 32 only, about twenty seconds; fails below the baselines / \(Verdict.figure(Guard.tolerance)) (CI)")
    var isGuardRun = false

    func validate() throws {
        if isGuardRun,
            let first = [("quick", quick), ("seconds", seconds != nil), ("rounds", rounds != nil)].first(where: { $0.1 })
        {
            throw ValidationError("--guard runs \(Self.guardRounds) rounds of \(Self.guardSeconds) s; it excludes --\(first.0)")
        }
        if quick && (seconds != nil || rounds != nil) {
            throw ValidationError("--quick runs one round of one second; it excludes --seconds and --rounds")
        }
    }

    static let guardRounds = 5
    static let guardSeconds = 1.0

    /// The guard's figures: frames/s over the C reference's at 4 x 32, the median of the per-round
    /// ratios. Measured with `mesh-bench transport --guard` (BENCHMARKS.md, "Guards").
    static let guardBaselines = [
        Guard.Baseline(name: "plaintext / C, 4 x 32", value: 0.62),
        Guard.Baseline(name: "TLS / C, 4 x 32", value: 0.36),
    ]

    enum Acceptance {
        static let plaintextRatio = 0.6
        static let tlsRatio = 0.4
    }

    func measure() throws -> BenchOutcome {
        let seconds = self.seconds ?? (quick ? 1.0 : isGuardRun ? Self.guardSeconds : 3.0)
        let rounds = self.rounds ?? (quick ? 1 : isGuardRun ? Self.guardRounds : 3)
        let candidates = [reference, "../shared/bench/frame-echo.c", "/work/shared/bench/frame-echo.c"]
        guard let source = candidates.compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ValidationError(
                reference.map { "--reference \($0): no such file" } ?? "cannot find frame-echo.c; pass --reference PATH")
        }
        do {
            let report = try TransportBenchmark.run(
                referenceSource: source, seconds: seconds, rounds: rounds, isGuardRun: isGuardRun,
                commandLine: CommandLine.arguments)
            print(report.table())
            if let path = output.path {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try (encoder.encode(report) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path))
                Console.progress("wrote \(path)")
            }
            return .finished(isGuardRun ? report.guards : report.acceptance)
        } catch {
            return .failed("\(error)")
        }
    }
}

/// The figures of one run.
struct TransportReport: Codable {
    struct Row: Codable {
        var implementation: String
        var connections: Int
        var depth: Int
        var framesPerSecond: Double
        /// Round-trip percentiles in microseconds (MeshTransport only: the C reference reports
        /// throughput alone; its 1 x 1 mean round trip is 1e6 / frames/s).
        var p50Microseconds: Double?
        var p99Microseconds: Double?
        var roundsFramesPerSecond: [Double]
        /// Median over the rounds of the CPU time (user + system, client and server) per round trip.
        var cpuMicrosecondsPerRoundTrip: Double?
    }
    /// A ratio printed for information, with no target.
    struct Informational: Codable {
        var name: String
        var ratio: Double
    }
    var command: String
    var payloadBytes: Int
    var wireBytesPerFrame: Int
    var secondsPerSetup: Double
    var rounds: Int
    var environment: BenchEnvironment
    var rows: [Row]
    /// The acceptance targets (judged unless this is a guard run).
    var acceptance: [Verdict]
    var informational: [Informational]
    var isGuardRun: Bool
    /// The guarded figures (empty unless ``isGuardRun``).
    var guards: [Verdict]

    func table() -> String {
        var lines = [
            "mesh-bench transport: \(payloadBytes)-byte request/response over loopback, \(wireBytesPerFrame) bytes per frame on the wire",
            "median of \(rounds) round(s) of \(secondsPerSetup) s per setup; \(environment.buildConfiguration) build, load average \(environment.loadAverageAtStart.map { String(format: "%.2f", $0) } ?? "?") at start",
            "",
            "implementation        conns x depth   frames/s      p50 µs    p99 µs   CPU µs/round trip",
        ]
        for row in rows {
            let setup = "\(row.connections) x \(row.depth)"
            lines.append(
                row.implementation.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + setup.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "%10.0f", row.framesPerSecond)
                    + (row.p50Microseconds.map { String(format: "%12.1f", $0) } ?? "           -")
                    + (row.p99Microseconds.map { String(format: "%10.1f", $0) } ?? "         -")
                    + (row.cpuMicrosecondsPerRoundTrip.map { String(format: "%20.2f", $0) } ?? "                   -"))
        }
        lines.append("")
        for c in acceptance {
            lines.append(
                String(format: "%@: %.2fx (target >= %.1fx) %@", c.name, c.measured, c.target, c.met ? "met" : "NOT MET")
                    + (isGuardRun ? " (judged in full runs, not in --guard runs)" : ""))
        }
        for c in informational {
            lines.append(String(format: "%@: %.2fx (informational)", c.name, c.ratio))
        }
        if isGuardRun {
            lines.append("")
            lines.append(Guard.table(zip(TransportCommand.guardBaselines, guards).map { ($0, $1) }))
        }
        return lines.joined(separator: "\n")
    }
}

enum TransportBenchmark {
    static let payloadBytes = 256
    static let wireBytes = payloadBytes + 4

    static func run(
        referenceSource: String, seconds: Double, rounds: Int, isGuardRun: Bool, commandLine: [String]
    ) throws -> TransportReport {
        let load = BenchEnvironment.loadAverage()
        let dir = NSTemporaryDirectory() + "mesh-bench-transport-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let binary = dir + "/frame-echo"
        let cc = try runProcess("/usr/bin/env", ["cc", "-O2", "-o", binary, referenceSource])
        guard cc.status == 0 else { throw BenchFailure("cc -O2 frame-echo.c failed: \(cc.output)") }
        let pki = try BenchPKI()

        // A guard run measures the throughput setups only (the first three), which its figures use.
        let setups: [(name: String, conns: Int, depth: Int)] = Array(
            [
                ("C epoll reference", 4, 32), ("MeshTransport plain", 4, 32), ("MeshTransport TLS", 4, 32),
                ("C epoll reference", 1, 1), ("MeshTransport plain", 1, 1), ("MeshTransport TLS", 1, 1),
            ].prefix(isGuardRun ? 3 : 6))
        var results: [[Measurement]] = Array(repeating: [], count: setups.count)
        // Profiling aid: MESH_BENCH_TRANSPORT_ONLY="MeshTransport plain 4x32" runs only the setups
        // whose "name CONNSxDEPTH" contains the text.
        let only = ProcessInfo.processInfo.environment["MESH_BENCH_TRANSPORT_ONLY"]
        for round in 1...rounds {
            for (i, setup) in setups.enumerated() {
                if let only, !"\(setup.name) \(setup.conns)x\(setup.depth)".contains(only) {
                    results[i].append(Measurement(framesPerSecond: 1, p50: nil, p99: nil))
                    continue
                }
                Console.progress("round \(round)/\(rounds): \(setup.name) \(setup.conns) x \(setup.depth)")
                let m: Measurement
                switch setup.name {
                case "C epoll reference":
                    m = try measureReference(binary, conns: setup.conns, depth: setup.depth, seconds: seconds)
                case "MeshTransport plain":
                    m = try measureTransport(tls: nil, conns: setup.conns, depth: setup.depth, seconds: seconds)
                default: m = try measureTransport(tls: pki, conns: setup.conns, depth: setup.depth, seconds: seconds)
                }
                results[i].append(m)
            }
        }
        var rows: [TransportReport.Row] = []
        for (i, setup) in setups.enumerated() {
            let sorted = results[i].sorted { $0.framesPerSecond < $1.framesPerSecond }
            let median = sorted[sorted.count / 2]
            rows.append(
                .init(
                    implementation: setup.name, connections: setup.conns, depth: setup.depth,
                    framesPerSecond: median.framesPerSecond,
                    p50Microseconds: median.p50, p99Microseconds: median.p99,
                    roundsFramesPerSecond: results[i].map(\.framesPerSecond),
                    cpuMicrosecondsPerRoundTrip: TransportBenchmark.median(results[i].compactMap(\.cpuMicrosecondsPerRoundTrip))))
        }
        let plainRatio = rows[1].framesPerSecond / rows[0].framesPerSecond
        let tlsRatio = rows[2].framesPerSecond / rows[0].framesPerSecond
        let acceptance = [
            Verdict("plaintext / C, 4 x 32", measured: plainRatio, atLeast: TransportCommand.Acceptance.plaintextRatio),
            Verdict("TLS / C, 4 x 32", measured: tlsRatio, atLeast: TransportCommand.Acceptance.tlsRatio),
        ]
        var informational = [
            TransportReport.Informational(
                name: "C CPU / plaintext CPU per round trip, 4 x 32",
                ratio: (rows[0].cpuMicrosecondsPerRoundTrip ?? 0) / (rows[1].cpuMicrosecondsPerRoundTrip ?? .infinity)),
            TransportReport.Informational(
                name: "C CPU / TLS CPU per round trip, 4 x 32",
                ratio: (rows[0].cpuMicrosecondsPerRoundTrip ?? 0) / (rows[2].cpuMicrosecondsPerRoundTrip ?? .infinity)),
        ]
        if rows.count == 6 {
            informational += [
                .init(name: "plaintext / C, 1 x 1", ratio: rows[4].framesPerSecond / rows[3].framesPerSecond),
                .init(name: "TLS / C, 1 x 1", ratio: rows[5].framesPerSecond / rows[3].framesPerSecond),
            ]
        }
        // The guard judges the median of the per-round ratios (each round runs the C reference and
        // MeshTransport back to back), in the order of `TransportCommand.guardBaselines`.
        func pairedRatio(_ setup: Int) -> Double {
            TransportBenchmark.median(zip(results[setup], results[0]).map { $0.framesPerSecond / $1.framesPerSecond }) ?? 0
        }
        let guards =
            isGuardRun
            ? zip(TransportCommand.guardBaselines, [pairedRatio(1), pairedRatio(2)]).map { $0.verdict(measured: $1) } : []
        return TransportReport(
            command: commandLine.joined(separator: " "), payloadBytes: payloadBytes, wireBytesPerFrame: wireBytes,
            secondsPerSetup: seconds, rounds: rounds, environment: .current(loadAverageAtStart: load), rows: rows,
            acceptance: acceptance, informational: informational, isGuardRun: isGuardRun, guards: guards)
    }

    struct Measurement {
        var framesPerSecond: Double
        var p50: Double?
        var p99: Double?
        /// CPU time (user + system, both ends) per round trip, in microseconds: steadier than
        /// frames/s on a shared machine, since other processes' load mostly shows as waiting.
        var cpuMicrosecondsPerRoundTrip: Double? = nil
    }

    /// User + system CPU seconds of this process (`RUSAGE_SELF`) or of its waited-for children.
    static func median(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.sorted()[values.count / 2]
    }

    static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    // MARK: - C reference

    static func measureReference(_ binary: String, conns: Int, depth: Int, seconds: Double) throws -> Measurement {
        let port = try freePort()
        let childrenCPUBefore = cpuSeconds(RUSAGE_CHILDREN.rawValue)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: binary)
        server.arguments = ["serve", String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        var stopped = false
        defer {
            if !stopped {
                server.terminate()
                server.waitUntilExit()
            }
        }
        for _ in 0..<100 where !canConnect(port) { usleep(10_000) }
        let load = try runProcess(
            binary, ["load", String(port), String(conns), String(depth), String(payloadBytes), String(seconds)])
        guard load.status == 0, let line = load.output.split(separator: "\n").first(where: { $0.hasPrefix("{") }),
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let fps = json["frames_per_s"] as? Double
        else { throw BenchFailure("frame-echo load failed: \(load.output)") }
        server.terminate()
        server.waitUntilExit()
        stopped = true
        // Both processes have been waited for: their CPU over the whole run (the load's
        // connection set-up is a few hundred microseconds of it) per frame it completed.
        let cpu = cpuSeconds(RUSAGE_CHILDREN.rawValue) - childrenCPUBefore
        let frames = fps * seconds
        return Measurement(framesPerSecond: fps, p50: nil, p99: nil, cpuMicrosecondsPerRoundTrip: cpu / frames * 1e6)
    }

    // MARK: - MeshTransport

    /// The request: a PING padded with an ignorable tagged field (tag 7) to `wireBytes` in all.
    static func paddedFrame(_ type: MessageType) throws -> [UInt8] {
        var base = try FrameEncoder.frame(.ping(Ping(nonce: 1, sentAt: MeshInstant(milliseconds: 1))), correlationID: 0)
        precondition(base.last == 0, "a PING ends with an empty tagged-field count")
        base.removeLast()
        // count 1, tag 7, two-byte varint length, padding
        let fixed = base.count + 1 + 1 + 2
        let padding = wireBytes - fixed
        precondition(padding >= 128 && padding < 16_384, "padding \(padding) needs a two-byte varint")
        var frame = base + [1, 7, UInt8(padding & 0x7F) | 0x80, UInt8(padding >> 7)]
        frame += [UInt8](repeating: 0xA5, count: padding)
        let length = UInt32(frame.count - 4)
        frame[0] = UInt8(length >> 24)
        frame[1] = UInt8(length >> 16 & 0xFF)
        frame[2] = UInt8(length >> 8 & 0xFF)
        frame[3] = UInt8(length & 0xFF)
        frame[4] = UInt8(type.rawValue >> 8)
        frame[5] = UInt8(type.rawValue & 0xFF)
        precondition(frame.count == wireBytes)
        guard case .message = try WireMessage.decode(frameBytes: frame) else {
            throw BenchFailure("the padded frame does not decode")
        }
        return frame
    }

    /// Send times of the requests in flight on one connection, oldest first (a ring).
    final class InFlight {
        let id: ConnectionID
        @exclusivity(unchecked) var times: [UInt64]
        @exclusivity(unchecked) var head = 0
        @exclusivity(unchecked) var count = 0
        init(id: ConnectionID, capacity: Int) {
            self.id = id
            times = [UInt64](repeating: 0, count: capacity)
        }
        func push(_ t: UInt64) {
            precondition(count < times.count, "more requests in flight than the depth")
            times[(head + count) % times.count] = t
            count += 1
        }
        func pop() -> UInt64? {
            if count == 0 { return nil }
            let t = times[head]
            head = (head + 1) % times.count
            count -= 1
            return t
        }
    }

    /// Per-connection client state, touched only on the client's loop thread (so its fields skip
    /// the dynamic exclusivity checks: the load generator should cost little next to the path
    /// it measures, as frame-echo's does).
    final class ClientState: @unchecked Sendable {
        /// One ring per connection; a handful, so a linear search beats hashing.
        @exclusivity(unchecked) var rings: [InFlight] = []
        @exclusivity(unchecked) var completed = 0
        @exclusivity(unchecked) var latencies: [UInt64] = []
        @exclusivity(unchecked) var measuring = false
        /// Unmanaged (the measurement keeps the transport alive until after shutdown): the load
        /// generator should not pay a retain and release per request.
        @exclusivity(unchecked) var transport: Unmanaged<Transport>? = nil
        let request: [UInt8]
        let depth: Int
        let stop = Atomic<Bool>(false)
        init(request: [UInt8], depth: Int) {
            self.request = request
            self.depth = depth
            latencies.reserveCapacity(1 << 20)
        }

        func ring(_ id: ConnectionID) -> InFlight {
            for ring in rings where ring.id == id { return ring }
            let ring = InFlight(id: id, capacity: depth)
            rings.append(ring)
            return ring
        }

        /// Sends a request stamped `now` (0: not timed).
        func send(on ring: InFlight, now: UInt64) {
            ring.push(now)
            transport!._withUnsafeGuaranteedRef { $0.send(frame: request, priority: .control, on: ring.id) }
        }

        /// Latency is sampled: a quarter of the in-flight slots are timed (every slot at 1 x 1),
        /// and a timed slot's next request is stamped with the clock read for its response, so
        /// the load generator reads the clock once per four responses, not twice per response
        /// (frame-echo's load generator reads it not at all).
        func onResponse(_ id: ConnectionID) {
            let ring = ring(id)
            guard let sent = ring.pop() else { return }
            let now = sent == 0 ? 0 : nanoseconds()
            if measuring {
                completed += 1
                if sent != 0 && latencies.count < 4_000_000 { latencies.append(now - sent) }
            }
            if !stop.load(ordering: .relaxed) { send(on: ring, now: now) }
        }
    }

    final class ServerBox: @unchecked Sendable { @exclusivity(unchecked) var transport: Unmanaged<Transport>? = nil }

    static func measureTransport(tls pki: BenchPKI?, conns: Int, depth: Int, seconds: Double) throws -> Measurement {
        let request = try paddedFrame(.ping)
        let response = try paddedFrame(.pong)
        let serverBox = ServerBox()
        var serverConfig = TransportConfiguration(
            identity: try pki?.serverIdentity ?? plainIdentity(),
            tls: try pki.map { try TLSSetup(identity: $0.server, trust: $0.trust) }, allowPlaintext: pki == nil)
        serverConfig.gate = ConnectionGate.Configuration(maxInFlight: max(64, depth * 2))
        // Every benchmark connection comes from the one client identity.
        serverConfig.refusesDuplicateNodes = false
        let server = try Transport(configuration: serverConfig, logger: .silent) { event in
            guard case .frame(let id, .ping, _, _) = event else { return }
            serverBox.transport!._withUnsafeGuaranteedRef {
                $0.send(frame: response, priority: .control, on: id, respondsToRequest: true)
            }
        }
        serverBox.transport = Unmanaged.passUnretained(server)
        let address = try server.listen(on: SocketAddress(host: "127.0.0.1", port: 0))

        let state = ClientState(request: request, depth: depth)
        let clientConfig = TransportConfiguration(
            identity: try pki?.clientIdentity ?? plainIdentity(),
            tls: try pki.map { try TLSSetup(identity: $0.client, trust: $0.trust) }, allowPlaintext: pki == nil)
        let client = try Transport(configuration: clientConfig, logger: .silent) { event in
            guard case .frame(let id, .pong, _, _) = event else { return }
            state.onResponse(id)
        }
        state.transport = Unmanaged.passUnretained(client)
        defer {
            client.shutdown()
            server.shutdown()
        }
        let ids = try blockingConnect(client, to: address, count: conns)
        let kicked = DispatchSemaphore(value: 0)
        client.executeOnLoop {
            for id in ids {
                let ring = state.ring(id)
                for slot in 0..<depth { state.send(on: ring, now: slot % 4 == 0 ? nanoseconds() : 0) }
            }
            kicked.signal()
        }
        kicked.wait()
        usleep(300_000)  // warm up
        client.executeOnLoop { state.measuring = true }
        let start = nanoseconds()
        let cpuBefore = cpuSeconds(RUSAGE_SELF.rawValue)
        usleep(UInt32(seconds * 1_000_000))
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<(Int, [UInt64], UInt64)>((0, [], 0))
        client.executeOnLoop {
            state.measuring = false
            state.stop.store(true, ordering: .relaxed)
            result.withLock { $0 = (state.completed, state.latencies, nanoseconds()) }
            done.signal()
        }
        done.wait()
        let cpu = cpuSeconds(RUSAGE_SELF.rawValue) - cpuBefore
        let (completed, latencies, end) = result.withLock { $0 }
        let elapsed = Double(end - start) / 1e9
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double? {
            sorted.isEmpty ? nil : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
        }
        if completed == 0 {
            throw BenchFailure("no responses arrived (\(pki == nil ? "plaintext" : "TLS"), \(conns) x \(depth))")
        }
        return Measurement(
            framesPerSecond: Double(completed) / elapsed, p50: percentile(0.5), p99: percentile(0.99),
            cpuMicrosecondsPerRoundTrip: cpu / Double(completed) * 1e6)
    }

    static func plainIdentity() throws -> LocalIdentity {
        LocalIdentity(nodeID: try Ed25519PrivateKey.generate().nodeID, role: .regional, region: try Region("cn-east"))
    }

    static func blockingConnect(_ transport: Transport, to address: SocketAddress, count: Int) throws -> [ConnectionID] {
        final class Results: Sendable {
            let list = Mutex<[Result<ConnectionID, TransportError>]>([])
        }
        let box = Results()
        let group = DispatchGroup()
        for _ in 0..<count {
            group.enter()
            Task {
                do {
                    let (id, _) = try await transport.connect(to: address)
                    box.list.withLock { $0.append(.success(id)) }
                } catch let error as TransportError {
                    box.list.withLock { $0.append(.failure(error)) }
                } catch {
                    box.list.withLock { $0.append(.failure(.handshakeFailed("\(error)"))) }
                }
                group.leave()
            }
        }
        group.wait()
        return try box.list.withLock { results in try results.map { try $0.get() } }
    }

    // MARK: - Helpers

    static func nanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    static func freePort() throws -> UInt16 {
        do { return try freeLoopbackPort() } catch { throw BenchFailure("\(error)") }
    }

    static func canConnect(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func runProcess(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// An in-memory federation for the TLS runs: a root, an operator, a server and a client node.
struct BenchPKI {
    let trust: FederationTrust
    let server: TLSIdentity
    let client: TLSIdentity
    let serverIdentity: LocalIdentity
    let clientIdentity: LocalIdentity

    init() throws {
        let rootKey = try Ed25519PrivateKey.generate()
        let root = try CertificateAuthority.makeRoot(key: rootKey)
        let operatorKey = try Ed25519PrivateKey.generate()
        let binding = OperatorBinding(operatorName: "Bench Operator", licenceNumber: "B1-0", publicInstitution: false)
        let operatorCert = try CertificateAuthority.issueOperator(
            publicKey: operatorKey.publicKey, binding: binding, root: root, rootKey: rootKey)
        func node() throws -> (TLSIdentity, LocalIdentity) {
            let key = try Ed25519PrivateKey.generate()
            let region = try Region("cn-east")
            let cert = try CertificateAuthority.issueNode(
                publicKey: key.publicKey,
                binding: NodeBinding(
                    nodeID: key.nodeID, role: .regional, region: region, sectors: [], operatorName: binding.operatorName,
                    licenceNumber: binding.licenceNumber),
                operatorCertificate: operatorCert, operatorKey: operatorKey)
            return (
                TLSIdentity(key: key, chain: [cert, operatorCert]),
                LocalIdentity(nodeID: key.nodeID, role: .regional, region: region)
            )
        }
        trust = try FederationTrust(root: root)
        (server, serverIdentity) = try node()
        (client, clientIdentity) = try node()
    }
}
