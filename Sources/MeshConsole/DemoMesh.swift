// The mesh `meshctl demo` builds: six nodes in two regions, their pools and the requests the
// tour places (issue 17 moved the demo out of the meshctl executable).
import Foundation
import Glibc
import MeshCore
import MeshCrypto
public import MeshRuntime
import MeshWire

// MARK: - The mesh the demo builds

/// One node of the demo mesh.
struct DemoNode: Sendable {
    var name: String
    var role: Role
    var region: String
    var sector: String?
    var pools: [PoolConfiguration]
    var port: UInt16 = 0
    var nodeID: NodeID?

    var address: String { "127.0.0.1:\(port)" }
}

/// The demo's pools: GPU and NPU vendors, prices, residency, certifications, green share, sector
/// policies. Prices are RMB per compute unit per hour.
enum DemoMesh {
    static func accelerator(
        _ kind: String, _ vendor: String, _ model: String, _ count: UInt32, gib: UInt32
    )
        -> PoolConfiguration.Accelerator
    {
        .init(kind: kind, vendor: vendor, model: model, count: count, memoryMiB: gib * 1024)
    }

    static let tib: UInt64 = 1 << 20

    static var nodes: [DemoNode] {
        [
            DemoNode(
                name: "north-1", role: .regional, region: "cn-north",
                pools: [
                    PoolConfiguration(
                        name: "h800-hall-1", architecture: "x86_64",
                        accelerators: [accelerator("gpu", "nvidia", "h800", 64, gib: 80)],
                        computeUnits: 6_400, memoryMiB: 8 * tib, interconnect: "infiniband", pricePerUnitHour: 3.2,
                        certifications: ["finance-grade", "mlps-3"], greenEnergyPercent: 45,
                        acceptsSectors: ["finance", "manufacturing", "research"])
                ]),
            DemoNode(
                name: "north-2", role: .regional, region: "cn-north",
                pools: [
                    PoolConfiguration(
                        name: "ascend-hall-2", architecture: "aarch64",
                        accelerators: [accelerator("npu", "huawei", "ascend-910b", 128, gib: 64)], computeUnits: 9_600,
                        memoryMiB: 16 * tib, interconnect: "hccs", pricePerUnitHour: 2.1, certifications: ["mlps-3"],
                        greenEnergyPercent: 70)
                ]),
            DemoNode(
                name: "north-finance", role: .industry, region: "cn-north", sector: "finance",
                pools: [
                    PoolConfiguration(
                        name: "dcu-trading", architecture: "x86_64",
                        accelerators: [accelerator("gpu", "hygon", "dcu-z100", 16, gib: 32)], computeUnits: 800,
                        memoryMiB: 1 * tib, interconnect: "roce", pricePerUnitHour: 4.5,
                        certifications: ["finance-grade", "mlps-3"], greenEnergyPercent: 30, acceptsSectors: ["finance"])
                ]),
            DemoNode(
                name: "east-1", role: .regional, region: "cn-east",
                pools: [
                    PoolConfiguration(
                        name: "a800-wuhu-1", architecture: "x86_64",
                        accelerators: [accelerator("gpu", "nvidia", "a800", 32, gib: 80)],
                        computeUnits: 3_200, memoryMiB: 4 * tib, interconnect: "infiniband", pricePerUnitHour: 2.8,
                        certifications: ["mlps-3"], greenEnergyPercent: 55,
                        acceptsSectors: ["finance", "manufacturing", "research"])
                ]),
            DemoNode(
                name: "east-2", role: .regional, region: "cn-east",
                pools: [
                    PoolConfiguration(
                        name: "mlu-wuhu-2", architecture: "x86_64",
                        accelerators: [accelerator("npu", "cambricon", "mlu370", 64, gib: 48)], computeUnits: 4_800,
                        memoryMiB: 6 * tib, interconnect: "roce", pricePerUnitHour: 1.6, greenEnergyPercent: 80,
                        acceptsSectors: ["manufacturing", "transport"])
                ]),
            DemoNode(
                name: "east-manufacturing", role: .industry, region: "cn-east", sector: "manufacturing",
                pools: [
                    PoolConfiguration(
                        name: "kunpeng-cad", architecture: "aarch64", computeUnits: 1_200, memoryMiB: 2 * tib,
                        pricePerUnitHour: 0.6, greenEnergyPercent: 90, acceptsSectors: ["manufacturing"])
                ]),
        ]
    }

    /// The pool the demo registers through the console, on north-2.
    static let registeredPool = PoolConfiguration(
        name: "kunlun-hall-3", architecture: "x86_64", accelerators: [accelerator("npu", "kunlunxin", "p800", 32, gib: 96)],
        computeUnits: 2_400, memoryMiB: 3 * tib, interconnect: "roce", pricePerUnitHour: 1.8, certifications: ["mlps-3"],
        greenEnergyPercent: 60, acceptsSectors: ["education", "finance", "research"])

    /// Fits in cn-north: 16 GPUs with finance-grade certification at most ¥4.00, data kept in
    /// cn-north. Two pools qualify on hardware; the Hygon pool is over the price cap.
    static let inRegionRequest = PlacementRequestFile(
        tenant: "jingjin-securities", sector: "finance", idempotencyKey: "demo-risk-model-1",
        accelerator: .init(kind: "gpu", vendor: nil, model: nil, count: 16), computeUnits: 1_600, memoryMiB: 1 << 20,
        mode: "gang", maxPools: nil,
        constraints: .init(
            residency: ["cn-north"], certifications: ["finance-grade"], architectures: ["x86_64"], maxPricePerUnitHour: 4.0,
            maxLatencyMilliseconds: nil),
        weights: .init(price: 500, latency: 300, green: 200), leaseSeconds: 3_600, deadlineSeconds: 10)

    /// Enters in cn-east, but only cn-north has H800s: the request spills over.
    static let spilloverRequest = PlacementRequestFile(
        tenant: "wuhu-auto-works", sector: "manufacturing", idempotencyKey: "demo-crash-sim-1",
        accelerator: .init(kind: "gpu", vendor: "nvidia", model: "h800", count: 32), computeUnits: 3_200,
        memoryMiB: 2 << 20, mode: "gang", maxPools: nil,
        constraints: .init(
            residency: ["cn-east", "cn-north"], certifications: nil, architectures: nil, maxPricePerUnitHour: nil,
            maxLatencyMilliseconds: nil),
        weights: .init(price: 300, latency: 300, green: 400), leaseSeconds: 7_200, deadlineSeconds: 10)

    /// No pool anywhere has 4,096 GPUs: refused, with the reason.
    static let refusedRequest = PlacementRequestFile(
        tenant: "jingjin-securities", sector: "finance", idempotencyKey: "demo-too-big-1",
        accelerator: .init(kind: "gpu", vendor: nil, model: nil, count: 4_096), computeUnits: 400_000, memoryMiB: nil,
        mode: "gang", maxPools: nil, constraints: nil, weights: nil, leaseSeconds: 3_600, deadlineSeconds: 8)
}

let embeddedApplication = """
    {
      "operatorName": "East Compute Co",
      "construction": {
        "name": "East Compute Construction Ltd",
        "registeredCapitalRMB": 80000000,
        "sustainedFundingEvidence": ["five-year credit line, 300 million RMB"]
      },
      "operating": {
        "name": "East Compute Operations Ltd",
        "publicInstitution": false,
        "telecomLicenceNumber": "B1-20260001",
        "facilities": ["Wuhu DC1, 2,000 racks"],
        "equipment": ["4,096 accelerators"],
        "personnel": { "engineers": 40 }
      },
      "integrityBreaches": [
        { "date": "2020-01-10", "major": true, "description": "late tax filing, settled" },
        { "date": "2025-03-02", "major": false, "description": "minor reporting delay" }
      ]
    }
    """

/// How the demo starts a node: `meshd`, or `meshctl node` (the same runtime) when meshd is absent.

struct NodeLauncher {
    var executable: String
    var leadingArguments: [String]
}
