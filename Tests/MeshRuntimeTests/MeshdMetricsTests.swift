import Foundation
import Glibc
import MeshCore
import MeshRuntime
import MeshTestSupport
import MeshWire
import Testing

/// A live node's monitoring endpoint as Prometheus and a load balancer use it.
@Suite("meshd metrics", .serialized, .timeLimit(.minutes(1)))
struct MeshdMetricsTests {
    /// A port the kernel reports free on loopback (the demo's helper).
    static func freePort() throws -> UInt16 { try freeLoopbackPort() }

    @Test func metricsPassPromtoolMoveWithPlacementsAndAnIdleConnectionStallsNoScrape() async throws {
        let dir = try testDirectory("meshd-metrics")
        defer { try? FileManager.default.removeItem(at: dir) }
        let metrics = NetAddress(host: "127.0.0.1", port: try Self.freePort())
        let node = try await MeshdProcess(
            "m",
            config:
                #""role": "regional", "region": "cn-north", "metrics": "\#(metrics)", "pools": [\#(MeshdSignalTests.pool("cpu"))]"#,
            in: dir)
        defer { node.stop() }
        #expect(try await NodeIntegrationTests.get(metrics, "/healthz").contains("200 OK"))
        #expect(try await NodeIntegrationTests.get(metrics, "/readyz").contains("200 OK"))

        // An idle client holds a connection open without sending anything; a scrape still answers.
        let idle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(idle) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = metrics.port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        _ = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(idle, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let started = Date()
        let before = try await NodeIntegrationTests.get(metrics, "/metrics")
        #expect(Date().timeIntervalSince(started) < 1, "a scrape waited for an idle connection")
        #expect(before.contains("computemesh_build_info{"), "\(before)")

        let console = try await TestConsole(connectingTo: node.address)
        defer { console.close() }
        for n in 1...3 {
            guard case .outcome(let o) = try await console.ask(.place(try request(key: "m-\(n)", origin: node.nodeID, units: 5)))
            else {
                Issue.record("PLACE \(n) not answered")
                return
            }
            #expect(o.isPlaced, "\(o.result)")
        }
        let after = try await NodeIntegrationTests.get(metrics, "/metrics")
        let count = { (text: String) -> Int in
            let line = text.split(separator: "\n").first { $0.hasPrefix("computemesh_ledger_commit_seconds_count") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        }
        #expect(count(after) > count(before) && count(before) >= 0, "the commit histogram did not move")
        #expect(after.contains("computemesh_placements_total{role=\"origin\",result=\"placed\"} 3"), "\(after)")
        #expect(after.contains("computemesh_placements_total{role=\"deciding\",result=\"placed\"} 0"), "\(after)")
        #expect(
            after.contains("computemesh_placement_seconds_count{role=\"origin\",result=\"placed\"} 3"),
            "the latency histogram did not move")

        try await Self.promtoolAccepts(after, in: dir)
    }

    /// The value of the first sample line that starts with `prefix` (-1 when absent).
    static func sample(_ text: String, _ prefix: String) -> Double {
        let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
    }

    @Test func theProbeRoundTripHistogramMovesOnALiveFederationAndPassesPromtool() async throws {
        let dir = try testDirectory("meshd-probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let metrics = NetAddress(host: "127.0.0.1", port: try Self.freePort())
        let regional = try await MeshdProcess(
            "r", config: #""role": "regional", "region": "cn-north", "metrics": "\#(metrics)""#, in: dir)
        defer { regional.stop() }
        let industry = try await MeshdProcess(
            "i", config: #""role": "industry", "region": "cn-north", "sectors": ["finance"], "seeds": ["\#(regional.address)"]"#,
            in: dir)
        defer { industry.stop() }
        let direct = "computemesh_probe_round_trip_seconds_count{path=\"direct\"}"
        var first = ""
        try await eventually(within: 20, "the regional node's probes of the industry node are acked") {
            first = try await NodeIntegrationTests.get(metrics, "/metrics")
            return Self.sample(first, direct) >= 1
        }
        var later = ""
        try await eventually(within: 20, "more probes are acked") {
            later = try await NodeIntegrationTests.get(metrics, "/metrics")
            return Self.sample(later, direct) > Self.sample(first, direct)
        }
        let inf = "computemesh_probe_round_trip_seconds_bucket{path=\"direct\",le=\"+Inf\"}"
        #expect(Self.sample(later, inf) == Self.sample(later, direct), "+Inf counts every round trip")
        #expect(Self.sample(later, "computemesh_probe_round_trip_seconds_sum{path=\"direct\"}") >= 0)
        #expect(later.contains("computemesh_probe_round_trip_seconds_count{path=\"indirect\"}"), "\(later)")
        print(
            "probe round trips: \(later.split(separator: "\n").filter { $0.hasPrefix("computemesh_probe_round_trip") }.joined(separator: "\n"))"
        )
        try await Self.promtoolAccepts(later, in: dir)
    }

    /// promtool (Debian's prometheus package) checks the exposition format of a scrape (`response`:
    /// the HTTP answer, headers included).
    static func promtoolAccepts(_ response: String, in dir: URL) async throws {
        let body = String(response[response.range(of: "\r\n\r\n")!.upperBound...])
        let file = dir.appendingPathComponent("metrics.txt").path
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            Issue.record("promtool is missing: apt-get install prometheus (CI installs it)")
            return
        }
        let check = try await runProcess("/bin/sh", ["-c", "/usr/bin/promtool check metrics < '\(file)'"])
        #expect(check.status == 0, "\(check.output)")
    }
}
