import Foundation
import MeshCore
import MeshRuntime
import MeshTestSupport
import Testing

/// A certificate renewed in place (the same key, `meshctl cert issue --key ... --force`) is taken
/// up at SIGHUP without a restart: new connections use it and the expiry gauge moves; a new key
/// is a new identity and is refused until a restart.
@Suite("meshd certificate renewal", .serialized, .timeLimit(.minutes(2)))
struct MeshdCertificateRenewalTests {
    func meshctl(_ arguments: [String]) async throws -> ProcessRun {
        let run = try await Meshctl.run(arguments)
        #expect(run.status == 0, "meshctl \(arguments.joined(separator: " ")): \(run.output)")
        return run
    }

    static func expiry(_ metrics: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix("computemesh_certificate_expiry_timestamp_seconds ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    @Test func aRenewedCertificateIsTakenUpAtSighupAndANewKeyWaitsForARestart() async throws {
        let dir = try testDirectory("meshd-renewal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (authority, operatorDir, node, console) = (
            dir.path + "/authority", dir.path + "/operator", dir.path + "/node", dir.path + "/console"
        )
        _ = try await meshctl(["authority", "init", authority])
        _ = try await meshctl([
            "authority", "admit", Meshctl.packageRoot + "/deploy/examples/operator-application.json", "--authority",
            authority, "--out", operatorDir, "--today", "2026-11-29",
        ])
        let issue = ["cert", "issue", "--operator", operatorDir, "--region", "cn-north"]
        _ = try await meshctl(issue + ["--role", "regional", "--out", node, "--days", "30"])
        _ = try await meshctl(issue + ["--role", "operator", "--out", console])
        let metrics = NetAddress(host: "127.0.0.1", port: try MeshdMetricsTests.freePort())
        let meshd = try await MeshdProcess(
            "north-1",
            config: #"""
                "role": "regional", "region": "cn-north", "metrics": "\#(metrics)",
                "credentials": {"key": "\#(node)/node.key", "certificate": "\#(node)/node.pem", "root": "\#(node)/root.pem"}
                """#, in: dir, plaintext: false)
        defer { meshd.stop() }
        let before = try #require(Self.expiry(try await NodeIntegrationTests.get(metrics, "/metrics")))

        // The same key under a new, longer certificate.
        _ = try await meshctl(
            issue + ["--role", "regional", "--out", node, "--key", node + "/node.key", "--days", "90", "--force"])
        meshd.kill(SIGHUP)
        try await eventually(within: 10, "the node logs the renewal") { meshd.log.contains("certificate renewed") }
        let after = try #require(Self.expiry(try await NodeIntegrationTests.get(metrics, "/metrics")))
        #expect(after - before > 50 * 86_400, "the expiry gauge moved from \(before) to \(after)")
        let status = try await meshctl(["console", "--node", meshd.address.description, "--credentials", console, "status"])
        #expect(status.output.contains("north-1"), "\(status.output)")

        // A new key in the same files is a new identity: refused until a restart; the node keeps
        // serving with the certificate it has.
        _ = try await meshctl(issue + ["--role", "regional", "--out", node, "--force"])
        meshd.kill(SIGHUP)
        try await eventually(within: 10, "the node refuses a new identity") { meshd.log.contains("is a new identity") }
        #expect(Self.expiry(try await NodeIntegrationTests.get(metrics, "/metrics")) == after)
        _ = try await meshctl(["console", "--node", meshd.address.description, "--credentials", console, "status"])
        await meshd.terminate()
    }
}
