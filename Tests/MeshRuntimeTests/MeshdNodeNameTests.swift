import Foundation
import MeshCore
import MeshRuntime
import MeshWire
import Testing

/// Node names travel between real `meshd` processes (issue 14): each configured name reaches the
/// other nodes through HELLO, WELCOME and membership gossip, and a console sees every member's
/// name beside its NodeID.
@Suite("meshd node names", .serialized, .timeLimit(.minutes(2)))
struct MeshdNodeNameTests {
    static let pool =
        #""pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5}]"#

    @Test func aConsoleSeesTheConfiguredNameOfEveryMemberAndPoolOwner() async throws {
        let dir = try testDirectory("meshd-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r1 = try await MeshdProcess("north-1", config: #""role": "regional", "region": "cn-north", \#(Self.pool)"#, in: dir)
        defer { r1.stop() }
        let r2 = try await MeshdProcess(
            "north-2", config: #""role": "regional", "region": "cn-north", "seeds": ["\#(r1.address)"], \#(Self.pool)"#,
            in: dir)
        defer { r2.stop() }
        let industry = try await MeshdProcess(
            "north-finance",
            config: #""role": "industry", "region": "cn-north", "sectors": ["finance"], "seeds": ["\#(r1.address)"]"#,
            in: dir)
        defer { industry.stop() }
        let expected = [
            r1.nodeID: try NodeName("north-1"), r2.nodeID: try NodeName("north-2"),
            industry.nodeID: try NodeName("north-finance"),
        ]

        let console = try await TestConsole(connectingTo: industry.address)
        defer { console.close() }
        #expect(try await console.status().name == (try NodeName("north-finance")))
        // r2 is learned through r1's gossip, not a direct HELLO: its name rides on its facts.
        try await eventually(within: 30, "the industry node knows every member by name") {
            guard case .members(let page) = try await console.ask(.membersRequest(MembersRequest())) else { return false }
            let names = page.members.map { ($0.update.node, $0.update.name) }
            return names.count == 3 && names.allSatisfy { expected[$0.0] == $0.1 }
        }
        try await eventually(within: 20, "inventory names both pools' owners") {
            let inventory = try await console.inventory()
            let owners = Set(inventory.pools.map(\.descriptor.origin))
            return owners == [r1.nodeID, r2.nodeID]
                && inventory.names == [r1.nodeID, r2.nodeID].sorted().map { NamedNode(node: $0, name: expected[$0]!) }
        }

        // And the regional node that never dialled the industry node learns its name too.
        let second = try await TestConsole(connectingTo: r2.address)
        defer { second.close() }
        #expect(try await second.status().name == (try NodeName("north-2")))
        try await eventually(within: 30, "north-2 knows north-finance by name") {
            guard case .members(let page) = try await second.ask(.membersRequest(MembersRequest())) else { return false }
            return page.members.contains { $0.update.node == industry.nodeID && $0.update.name == expected[industry.nodeID] }
        }
    }
}
