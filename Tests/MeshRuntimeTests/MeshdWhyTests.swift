import Foundation
import Glibc
import MeshCore
import MeshRuntime
import MeshTestSupport
import MeshWire
import Testing

/// `why` between real `meshd` processes (issue 14): the history survives a restart, and a node
/// without the explanation names the node that has it.
@Suite("meshd why", .serialized, .timeLimit(.minutes(2)))
struct MeshdWhyTests {
    static let regionalPool =
        #""pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5}]"#
    static let industryPool =
        #""pools": [{"name": "big", "architecture": "x86_64", "computeUnits": 5000, "memoryMiB": 1048576, "pricePerUnitHour": 0.9}]"#

    func request(_ n: UInt128, key: String, origin: NodeID, units: UInt64) throws -> PlacementRequest {
        let now = UInt64(Date().timeIntervalSince1970 * 1_000)
        return PlacementRequest(
            requestID: RequestID(value: n), tenant: try TenantID("acme-bank"), sector: .finance, idempotencyKey: key,
            demand: Demand(computeUnits: units), leaseDuration: .milliseconds(600_000),
            deadline: MeshInstant(milliseconds: now + 5_000), origin: origin)
    }

    func why(_ console: TestConsole, _ id: RequestID) async throws -> WireMessage {
        try await console.ask(.whyRequest(WhyRequest(requestID: id, pool: nil)))
    }

    /// A regional node with a 1,000-unit pool and a finance industry node with a 5,000-unit pool,
    /// past the warm-up, each seeing both pools.
    func federation(in dir: URL) async throws -> (MeshdProcess, MeshdProcess) {
        let regional = try await MeshdProcess(
            "reg", config: #""role": "regional", "region": "cn-north", \#(Self.regionalPool)"#, in: dir)
        let industry = try await MeshdProcess(
            "fin",
            config:
                #""role": "industry", "region": "cn-north", "sectors": ["finance"], "seeds": ["\#(regional.address)"], \#(Self.industryPool)"#,
            in: dir)
        for node in [regional, industry] {
            let console = try await TestConsole(connectingTo: node.address)
            defer { console.close() }
            try await eventually(within: 20, "\(node.name) sees both pools") {
                try await console.inventory().pools.count == 2
            }
        }
        try await Task.sleep(nanoseconds: 2_100_000_000)  // past the industry node's warm-up
        return (regional, industry)
    }

    @Test func whyAnswersTheSameExplanationAfterTheDecidingNodeRestarts() async throws {
        let dir = try testDirectory("meshd-why")
        defer { try? FileManager.default.removeItem(at: dir) }
        var (regional, industry) = try await federation(in: dir)
        defer {
            regional.stop()
            industry.stop()
        }
        // Entered at the industry node, decided by the regional node (the key's home).
        let fin = try await TestConsole(connectingTo: industry.address)
        defer { fin.close() }
        guard
            case .outcome(let outcome) = try await fin.ask(.place(try request(1, key: "w-1", origin: industry.nodeID, units: 10)))
        else {
            Issue.record("PLACE was not answered with OUTCOME")
            return
        }
        #expect(outcome.isPlaced, "\(outcome.result)")
        #expect(outcome.explanation.decidedBy == regional.nodeID)
        let before: Explanation
        do {
            let reg = try await TestConsole(connectingTo: regional.address)
            defer { reg.close() }
            guard case .why(let w) = try await why(reg, outcome.requestID) else {
                Issue.record("the deciding node did not answer WHY before the restart")
                return
            }
            before = w.explanation
        }
        #expect(before == outcome.explanation)

        // Stop and start again on the same data directory (a new port).
        await regional.terminate()
        regional = try await MeshdProcess(
            "reg", config: #""role": "regional", "region": "cn-north", \#(Self.regionalPool)"#, in: dir)
        let reg = try await TestConsole(connectingTo: regional.address)
        defer { reg.close() }
        let answer = try await why(reg, outcome.requestID)
        guard case .why(let after) = answer else {
            Issue.record("WHY after the restart: \(answer)")
            return
        }
        #expect(after.explanation == before, "the restarted node explains the request as before")
        // The same through meshctl, as an operator asks.
        let run = try await runProcess(
            builtProduct("meshctl"),
            ["console", "--node", regional.address.description, "--plaintext", "why", outcome.requestID.description])
        #expect(run.status == 0 && run.output.contains("decided by"), "\(run.output)")
    }

    @Test func askingANodeThatDidNotDecideNamesTheNodeThatDid() async throws {
        let dir = try testDirectory("meshd-why")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (regional, industry) = try await federation(in: dir)
        defer {
            regional.stop()
            industry.stop()
        }
        // Entered and decided at the regional node; only the industry node's pool fits 2,000 units.
        let reg = try await TestConsole(connectingTo: regional.address)
        defer { reg.close() }
        guard
            case .outcome(let outcome) = try await reg.ask(
                .place(try request(2, key: "w-2", origin: regional.nodeID, units: 2_000))),
            case .placed(let leases) = outcome.result
        else {
            Issue.record("the 2,000-unit request was not placed")
            return
        }
        #expect(leases.allSatisfy { $0.pool.owner == industry.nodeID })
        // The industry node owns the lease but did not decide: it names the regional node.
        let fin = try await TestConsole(connectingTo: industry.address)
        defer { fin.close() }
        guard case .error(let e) = try await why(fin, outcome.requestID) else {
            Issue.record("the owner answered WHY for a request it did not decide")
            return
        }
        #expect(e.message.contains(regional.nodeID.hex), "\(e.message)")
        #expect(e.message.contains(regional.address.description), "\(e.message)")
        let run = try await runProcess(
            builtProduct("meshctl"),
            ["console", "--node", industry.address.description, "--plaintext", "why", outcome.requestID.description])
        #expect(run.status != 0, "\(run.output)")
        #expect(run.output.contains(regional.nodeID.hex) && run.output.contains(regional.address.description), "\(run.output)")
        print("meshctl why at the owner: \(run.output)")
        // And the node it names answers.
        guard case .why(let w) = try await why(reg, outcome.requestID) else {
            Issue.record("the named node did not answer WHY")
            return
        }
        #expect(w.explanation == outcome.explanation)
    }
}
