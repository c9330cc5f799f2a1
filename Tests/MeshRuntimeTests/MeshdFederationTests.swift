import Foundation
import Glibc
import MeshCore
import MeshRuntime
import MeshTestSupport
import MeshWire
import Testing

/// A fresh directory for one test (`PREFIX-XXXXXXXX` under the temp dir; short, as unix socket
/// paths in it must stay under 108 bytes).
func testDirectory(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A `meshd` process as an operator runs it: the built executable with a JSON configuration in a
/// temp dir, its readiness line read for the address it bound, stopped with a signal.
final class MeshdProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let output = Pipe()
    private(set) var address = NetAddress(host: "127.0.0.1", port: 0)
    private(set) var nodeID = NodeID(w0: 0, w1: 0, w2: 0, w3: 0)

    /// Starts meshd with `config` (a JSON object without `listen`, `dataDirectory`, and without
    /// `plaintext` unless `plaintext` is false: then `config` names its credentials) in
    /// `directory`, and waits for its readiness line.
    /// The configuration file it was started with.
    let configPath: String
    /// Where its standard error goes (its log).
    let logPath: String

    init(
        _ name: String, config: String, in directory: URL, arguments: [String] = [], environment: [String: String] = [:],
        plaintext: Bool = true
    ) async throws {
        self.name = name
        let path = directory.appendingPathComponent("\(name).json").path
        configPath = path
        logPath = directory.appendingPathComponent("\(name).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let json =
            #"{"name": "\#(name)", "listen": "127.0.0.1:0", "dataDirectory": "\#(name)", "plaintext": \#(plaintext), \#(config)}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        process.executableURL = URL(fileURLWithPath: builtProduct("meshd"))
        process.arguments = ["--config", path] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        let handle = output.fileHandleForReading
        let line = try await offPool { () -> String in
            var line = ""
            let deadline = Date().addingTimeInterval(20)
            while !line.contains("\n") && Date() < deadline {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                line += String(decoding: chunk, as: UTF8.self)
            }
            return line
        }
        // "meshd: NAME listening on HOST:PORT as ROLE node NODEID in REGION"
        let words = line.split(separator: " ")
        guard let at = words.firstIndex(of: "on"), at + 1 < words.count, let node = words.firstIndex(of: "node"),
            node + 1 < words.count, let parsed = try? NetAddress(parsing: String(words[at + 1])),
            let id = try? NodeID(hex: String(words[node + 1]))
        else {
            process.terminate()
            throw RuntimeError("meshd \(name) did not announce itself: \(line)")
        }
        address = parsed
        nodeID = id
    }

    func kill(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

    /// What it has logged so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM now, and SIGKILL from a background thread if it is still running 10 s later. Does
    /// not wait (it runs in `defer`, on Swift's cooperative pool, which a blocking wait would starve).
    func stop() {
        guard process.isRunning else { return }
        kill(SIGTERM)
        let process = self.process
        DispatchQueue.global().async {
            let stopBy = Date().addingTimeInterval(10)
            while process.isRunning && Date() < stopBy { usleep(20_000) }
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// SIGTERM, then waits (off the cooperative pool) until the process has exited.
    func terminate() async {
        stop()
        let process = self.process
        _ = try? await offPool { process.waitUntilExit() }
    }
}

/// Placement between real `meshd` processes on loopback: the defects of issue 13 as an operator
/// met them.
@Suite("meshd federation", .serialized, .timeLimit(.minutes(2)))
struct MeshdFederationTests {
    static let pool =
        #""pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5}]"#

    func temporary() throws -> URL {
        let dir = try testDirectory("meshd-fed")
        return dir
    }

    func placement(_ n: UInt128, key: String, origin: NodeID, units: UInt64 = 10) throws -> PlacementRequest {
        let now = UInt64(Date().timeIntervalSince1970 * 1_000)
        return PlacementRequest(
            requestID: RequestID(value: n), tenant: try TenantID("acme-bank"), sector: .finance, idempotencyKey: key,
            demand: Demand(computeUnits: units), leaseDuration: .milliseconds(600_000),
            deadline: MeshInstant(milliseconds: now + 3_000), origin: origin)
    }

    @Test func everyRetryWithTheSameKeyIsAnsweredWithTheSameLeaseAndNewKeysStillPlace() async throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await MeshdProcess("solo", config: #""role": "regional", "region": "cn-north", \#(Self.pool)"#, in: dir)
        defer { node.stop() }
        let console = try await TestConsole(connectingTo: node.address)
        defer { console.close() }
        guard case .outcome(let first) = try await console.ask(.place(try placement(1, key: "order-1", origin: node.nodeID))),
            case .placed(let leases) = first.result
        else {
            Issue.record("the first attempt was not placed")
            return
        }
        // Each retry comes under a new request ID, as a client that lost the answer sends it.
        for n in 2...300 as ClosedRange<UInt128> {
            guard
                case .outcome(let again) = try await console.ask(
                    .place(try placement(n, key: "order-1", origin: node.nodeID)), within: 5)
            else {
                Issue.record("retry \(n) was not answered with OUTCOME")
                return
            }
            #expect(again.result == .placed(leases), "retry \(n)")
            #expect(again.requestID == RequestID(value: n), "each answer names the attempt it answers")
        }
        let status = try await console.status()
        #expect(status.activeLeases == 1, "the retries booked nothing more")
        guard case .outcome(let other) = try await console.ask(.place(try placement(1_000, key: "order-2", origin: node.nodeID)))
        else {
            Issue.record("a new key was not answered")
            return
        }
        #expect(other.isPlaced, "\(other.result)")
    }

    @Test func anIndustryNodeAnswersAtOnceWhenTheKeysHomeHasCrashed() async throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r1 = try await MeshdProcess("r1", config: #""role": "regional", "region": "cn-north", \#(Self.pool)"#, in: dir)
        defer { r1.stop() }
        let r2 = try await MeshdProcess(
            "r2", config: #""role": "regional", "region": "cn-north", "seeds": ["\#(r1.address)"], \#(Self.pool)"#, in: dir)
        defer { r2.stop() }
        let industry = try await MeshdProcess(
            "fin", config: #""role": "industry", "region": "cn-north", "sectors": ["finance"], "seeds": ["\#(r1.address)"]"#,
            in: dir)
        defer { industry.stop() }
        let console = try await TestConsole(connectingTo: industry.address)
        defer { console.close() }
        try await eventually(within: 20, "fin sees both regional nodes and both pools") {
            let alive = try await console.status().aliveMembers
            let pools = try await console.inventory().pools.count
            return alive == 3 && pools == 2
        }
        // Past the warm-up, every key is placed through its home.
        try await Task.sleep(nanoseconds: 2_100_000_000)
        r2.kill(SIGKILL)
        r2.process.waitUntilExit()
        // Keys whose home is r2 cannot be decided until r2 is back or declared dead past the home
        // grace; they must be refused at once as owner-unreachable, not after a 5 s forward timeout
        // and not as insufficient capacity. The others are placed on r1.
        var placed = 0
        var refused = 0
        for n in 1...16 as ClosedRange<UInt128> {
            let started = Date()
            guard
                case .outcome(let outcome) = try await console.ask(
                    .place(try placement(n, key: "key-\(n)", origin: industry.nodeID)))
            else {
                Issue.record("key-\(n) was not answered with OUTCOME")
                continue
            }
            let took = Date().timeIntervalSince(started)
            #expect(took < 2.5, "key-\(n) took \(took) s: \(outcome.result)")
            switch outcome.result {
            case .placed(let leases):
                placed += 1
                #expect(leases.allSatisfy { $0.pool.owner == r1.nodeID })
            case .refused(let reason, let message):
                refused += 1
                #expect(reason == .ownerUnreachable, "key-\(n): \(reason) \(message)")
            }
        }
        #expect(placed > 0, "keys homed at r1 are placed")
        #expect(refused > 0, "keys homed at r2 are refused (16 keys all homed at r1 has odds of 1 in 65,536)")
    }
}
