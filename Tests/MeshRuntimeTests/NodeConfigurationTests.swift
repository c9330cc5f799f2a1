import Foundation
import MeshCore
import MeshRuntime
import Testing

@Suite("Node configuration")
struct NodeConfigurationTests {
    let base = NodeConfiguration(
        name: "north-1", role: "regional", region: "cn-north", listen: "127.0.0.1:7401", seeds: ["127.0.0.1:7402"],
        dataDirectory: "north-1", plaintext: true,
        pools: [
            PoolConfiguration(
                name: "a100", architecture: "x86_64",
                accelerators: [.init(kind: "gpu", vendor: "nvidia", model: "a100", count: 8, memoryMiB: 81_920)],
                computeUnits: 1_000, memoryMiB: 1 << 20, interconnect: "infiniband", pricePerUnitHour: 2.5,
                certifications: ["finance-grade"], greenEnergyPercent: 60, acceptsSectors: ["finance"])
        ])

    @Test func aValidConfigurationResolvesToVocabularyWithAbsolutePaths() throws {
        let resolved = try base.resolve(relativeTo: "/etc/mesh")
        #expect(resolved.role == .regional)
        #expect(resolved.region == (try Region("cn-north")))
        #expect(resolved.listen == NetAddress(host: "127.0.0.1", port: 7401))
        #expect(resolved.dataDirectory == "/etc/mesh/north-1")
        #expect(resolved.pools.count == 1)
        let pool = resolved.pools[0]
        #expect(pool.pricePerUnitHour == Price(microYuan: 2_500_000))
        #expect(pool.greenEnergyPermille == 600)
        #expect(pool.residency == (try Region("cn-north")))
        #expect(pool.policy == .sectorIn([Sector.finance]))
    }

    @Test func theNodeNameFollowsTheWireRuleForNodeNames() throws {
        #expect(try base.resolve(relativeTo: "/etc/mesh").name == (try NodeName("north-1")))
        for bad in ["North-1", "", "-north", "north 1", String(repeating: "n", count: NodeName.maxBytes + 1)] {
            var config = base
            config.name = bad
            #expect(throws: ConfigurationError.self, "name '\(bad)'") { try config.resolve(relativeTo: "/etc/mesh") }
        }
    }

    @Test func plaintextOffLoopbackIsRefusedNamingTheAddress() {
        var config = base
        config.seeds = ["10.0.0.7:7402"]
        #expect {
            try config.resolve(relativeTo: "/etc/mesh")
        } throws: { error in
            "\(error)".contains("10.0.0.7:7402") && "\(error)".contains("loopback")
        }
    }

    @Test func tlsWithoutCredentialsIsRefusedNamingTheField() {
        var config = base
        config.plaintext = nil
        #expect {
            try config.resolve(relativeTo: "/etc/mesh")
        } throws: { error in
            "\(error)".contains("credentials")
        }
    }

    @Test func aBadPoolFieldNamesThePoolAndTheField() {
        var config = base
        config.pools![0].interconnect = "carrier-pigeon"
        #expect {
            try config.resolve(relativeTo: "/etc/mesh")
        } throws: { error in
            "\(error)".contains("pools[0]") && "\(error)".contains("interconnect") && "\(error)".contains("carrier-pigeon")
        }
    }

    @Test func anIndustryNodeWithoutSectorsOrUpwardSeedsIsRefused() {
        var config = base
        config.role = "industry"
        config.sectors = ["finance"]
        config.seeds = []
        #expect(throws: ConfigurationError.self) { try config.resolve(relativeTo: "/") }
        config.seeds = ["127.0.0.1:7401"]
        config.sectors = []
        #expect(throws: ConfigurationError.self) { try config.resolve(relativeTo: "/") }
        config.sectors = ["finance"]
        #expect(throws: Never.self) { try config.resolve(relativeTo: "/") }
    }

    @Test func aMissingFieldInTheFileIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meshcfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("node.json").path
        try Data(#"{"name": "x", "role": "regional", "region": "cn-north", "dataDirectory": "d"}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect {
            try NodeConfiguration.load(path)
        } throws: { error in
            "\(error)".contains(path) && "\(error)".contains("'listen' is missing")
        }
    }
}
