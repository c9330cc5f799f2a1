import Foundation
import MeshCore
import MeshRuntime
import MeshTestSupport
import Testing

/// `meshctl console` as an operator types it against two real nodes: tables name nodes beside
/// their short IDs and fit 80 columns, `--wide` adds what was left out, `--json` is parseable with
/// string enums, RFC 3339 times and decimal prices, and `why --pool` takes a pool as the tables
/// print it.
@Suite("meshctl console output", .serialized, .timeLimit(.minutes(2)))
struct MeshctlConsoleOutputTests {
    static let pool =
        #""pools": [{"name": "cpu-hall", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5, "acceptsSectors": ["finance"]}]"#

    func console(_ node: MeshdProcess, _ arguments: [String]) async throws -> ProcessRun {
        try await Meshctl.run(["console", "--node", node.address.description, "--plaintext"] + arguments)
    }

    func json(_ run: ProcessRun) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        return try #require(object, "not a JSON object: \(run.output)")
    }

    func fits80Columns(_ run: ProcessRun, _ what: String) {
        #expect(run.status == 0, "\(what): \(run.output)")
        for line in run.output.split(separator: "\n") where line.count > 80 {
            Issue.record("\(what): a line of \(line.count) columns: \(line)")
        }
    }

    @Test func tablesFit80ColumnsNameNodesAndTheJSONFormsUseStringsTimesAndDecimals() async throws {
        let dir = try testDirectory("meshctl-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let regional = try await MeshdProcess(
            "north-1", config: #""role": "regional", "region": "cn-north", \#(Self.pool)"#, in: dir)
        defer { regional.stop() }
        let industry = try await MeshdProcess(
            "north-finance",
            config: #""role": "industry", "region": "cn-north", "sectors": ["finance"], "seeds": ["\#(regional.address)"]"#,
            in: dir)
        defer { industry.stop() }
        try await eventually(within: 30, "the industry node sees the regional node's pool by name") {
            let run = try await console(industry, ["inventory"])
            return run.output.contains("north-1/cpu-hall")
        }

        let status = try await console(industry, ["status"])
        fits80Columns(status, "status")
        #expect(status.output.contains("north-finance (\(industry.nodeID.short))"), "\(status.output)")
        let members = try await console(industry, ["members"])
        fits80Columns(members, "members")
        let regionalLine = members.output.split(separator: "\n").first { $0.contains(regional.nodeID.short) }
        #expect(regionalLine?.contains("north-1") == true, "\(members.output)")
        #expect(members.output.contains("--wide adds"), "\(members.output)")
        let wide = try await console(industry, ["members", "--wide"])
        #expect(wide.output.contains("incarnation") && !wide.output.contains("--wide adds"), "\(wide.output)")
        fits80Columns(try await console(industry, ["inventory"]), "inventory")

        let request = dir.appendingPathComponent("request.json").path
        try Data(#"{"tenant": "jingjin-securities", "sector": "finance", "computeUnits": 10}"#.utf8)
            .write(to: URL(fileURLWithPath: request))
        let placed = try await console(industry, ["place", request])
        fits80Columns(placed, "place")
        let requestID = try #require(
            placed.output.split(separator: "\n").first?.split(separator: " ").dropFirst(2).first.map { String($0.dropLast()) },
            "\(placed.output)")
        let why = try await console(industry, ["why", requestID, "--pool", "north-1/cpu-hall"])
        fits80Columns(why, "why")
        #expect(why.output.contains("why not north-1/cpu-hall?"), "\(why.output)")
        let byPrefix = try await console(
            industry, ["why", requestID, "--pool", String(regional.nodeID.hex.prefix(8)) + "/cpu-hall"])
        #expect(byPrefix.status == 0 && byPrefix.output.contains("why not north-1/cpu-hall?"), "\(byPrefix.output)")
        let unknown = try await console(industry, ["why", requestID, "--pool", "north-1/gpu-hall"])
        #expect(unknown.status == 2 && unknown.output.contains("its candidates: north-1/cpu-hall"), "\(unknown.output)")
        let placements = try await console(regional, ["placements"])
        fits80Columns(placements, "placements")
        #expect(placements.output.contains("north-1/cpu-hall") && placements.output.contains("jingjin-securities"))

        let statusJSON = try json(try await console(industry, ["status", "--json"]))
        #expect(statusJSON["role"] as? String == "industry")
        #expect((statusJSON["node"] as? [String: Any])?["name"] as? String == "north-finance")
        #expect((statusJSON["now"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
        let membersJSON = try json(try await console(industry, ["members", "--json"]))
        let statuses = (membersJSON["members"] as? [[String: Any]] ?? []).map { $0["status"] }
        #expect(!statuses.isEmpty && statuses.allSatisfy { $0 is String }, "\(membersJSON)")
        let whyJSON = try json(try await console(industry, ["why", requestID, "--json"]))
        let verdicts = (whyJSON["explanation"] as? [String: Any])?["verdicts"] as? [[String: Any]] ?? []
        #expect(verdicts.first?["verdict"] as? String == "chosen", "\(whyJSON)")
        let leasesJSON = try json(try await console(regional, ["placements", "--json"]))
        let lease = try #require((leasesJSON["leases"] as? [[String: Any]])?.first, "\(leasesJSON)")
        #expect((lease["pricePerUnitHour"] as? NSNumber)?.doubleValue == 0.5, "\(lease)")
        #expect((lease["expiresAt"] as? String)?.hasSuffix("Z") == true, "\(lease)")
        // Issue 17: the industry node's direct probes of the regional node are acked, so its
        // members answer carries their round trip: a decimal in JSON, an rtt cell in the table.
        try await eventually(within: 30, "members show the regional node's round trip") {
            let document = try json(try await console(industry, ["members", "--json"]))
            let entries = document["members"] as? [[String: Any]] ?? []
            let entry = entries.first { ($0["node"] as? [String: Any])?["id"] as? String == regional.nodeID.hex }
            guard entry?["roundTripMilliseconds"] is NSNumber else { return false }
            let table = try await console(industry, ["members", "--wide"])
            let header = table.output.split(separator: "\n").first ?? ""
            let line = table.output.split(separator: "\n").first { $0.contains(regional.nodeID.short) } ?? ""
            return header.contains(" rtt ") && line.contains(" ms ") && !line.contains("  -  ")
        }
        let selfEntry = (try json(try await console(industry, ["members", "--json"]))["members"] as? [[String: Any]] ?? [])
            .first { ($0["node"] as? [String: Any])?["id"] as? String == industry.nodeID.hex }
        #expect(selfEntry != nil && selfEntry?["roundTripMilliseconds"] == nil, "no round trip to the node itself")
        let both = try await console(industry, ["members", "--json", "--wide"])
        #expect(both.status == 2 && both.output.contains("--wide shapes tables"), "\(both.output)")
    }
}
