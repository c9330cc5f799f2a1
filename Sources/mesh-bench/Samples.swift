import MeshCore
import MeshWire

// Representative messages, built deterministically from a fixed seed so every run (and every
// machine) measures the same bytes.

enum WireSamples {
    /// The seed of every sample ("meshwire" in ASCII).
    static let seed: UInt64 = 0x6D65_7368_7769_7265
    /// Records in the sample DELTA.
    static let deltaRecordCount = 50
    /// 2025-11-29T00:00:00Z in milliseconds: sample instants look like the daemon's wall clock.
    static let baseInstant: UInt64 = 1_764_374_400_000

    /// A vocabulary value built from a literal; a failure is a bug in this file.
    static func must<T>(_ make: () throws(VocabularyError) -> T) -> T {
        do { return try make() } catch { fatalError("sample vocabulary is invalid: \(error)") }
    }

    // MARK: - Catalogues

    struct AcceleratorModel {
        var kind: AcceleratorKind
        var vendor: String
        var model: String
        var memoryMiB: UInt32
        var interconnect: Interconnect
        /// Normalised compute units per device.
        var unitsPerDevice: UInt64
        var displayModel: String
    }

    static let acceleratorModels: [AcceleratorModel] = [
        .init(
            kind: .gpu, vendor: "nvidia", model: "h800", memoryMiB: 81_920, interconnect: .nvlink, unitsPerDevice: 64,
            displayModel: "NVIDIA H800"),
        .init(
            kind: .gpu, vendor: "nvidia", model: "a800", memoryMiB: 81_920, interconnect: .nvlink, unitsPerDevice: 40,
            displayModel: "NVIDIA A800"),
        .init(
            kind: .gpu, vendor: "nvidia", model: "h20", memoryMiB: 98_304, interconnect: .nvlink, unitsPerDevice: 30,
            displayModel: "NVIDIA H20"),
        .init(
            kind: .gpu, vendor: "nvidia", model: "l40s", memoryMiB: 49_152, interconnect: .roce, unitsPerDevice: 24,
            displayModel: "NVIDIA L40S"),
        .init(
            kind: .npu, vendor: "huawei", model: "ascend-910b", memoryMiB: 65_536, interconnect: .hccs, unitsPerDevice: 48,
            displayModel: "Ascend 910B"),
        .init(
            kind: .npu, vendor: "huawei", model: "ascend-310p", memoryMiB: 24_576, interconnect: .roce, unitsPerDevice: 8,
            displayModel: "Ascend 310P"),
        .init(
            kind: .npu, vendor: "cambricon", model: "mlu370-x8", memoryMiB: 49_152, interconnect: .roce, unitsPerDevice: 16,
            displayModel: "MLU370-X8"),
        .init(
            kind: .npu, vendor: "cambricon", model: "mlu590", memoryMiB: 81_920, interconnect: .roce, unitsPerDevice: 40,
            displayModel: "MLU590"),
        .init(
            kind: .gpu, vendor: "hygon", model: "dcu-k100", memoryMiB: 65_536, interconnect: .infiniband, unitsPerDevice: 24,
            displayModel: "Hygon DCU K100"),
        .init(
            kind: .gpu, vendor: "hygon", model: "dcu-z100l", memoryMiB: 32_768, interconnect: .infiniband, unitsPerDevice: 12,
            displayModel: "Hygon DCU Z100L"),
    ]

    struct Site {
        var segment: String
        var display: String
        var residency: String
    }

    /// Each owner runs pools at a few sites of its region.
    static let ownerSites: [[Site]] = [
        [
            Site(segment: "sh-lingang", display: "上海临港 A栋", residency: "cn-east"),
            Site(segment: "hz-xiaoshan", display: "Hangzhou Xiaoshan DC2", residency: "cn-east"),
        ],
        [
            Site(segment: "bj-yizhuang", display: "北京亦庄 3号楼", residency: "cn-north"),
            Site(segment: "zjk-zhangbei", display: "Zhangjiakou Zhangbei Green DC", residency: "cn-north"),
        ],
        [
            Site(segment: "sz-qianhai", display: "深圳前海 智算中心", residency: "cn-gd-shenzhen"),
            Site(segment: "gz-nansha", display: "Guangzhou Nansha AIDC", residency: "cn-south"),
        ],
        [
            Site(segment: "gy-guian", display: "贵安 数据中心集群", residency: "cn-west"),
            Site(segment: "qy-wulanchabu", display: "Ulanqab Hall 5", residency: "cn-north"),
        ],
    ]

    static let certificationNames = ["finance-grade", "gov-cloud", "healthcare", "iso-27001", "mlps-3", "tier-iv"]
    static let serviceNames = ["batch.hpc", "finetune.llm", "infer.llm", "infer.vision", "train.llm"]
    static let sectors: [Sector] = [.finance, .government, .healthcare, .manufacturing, .research, .telecom]

    // MARK: - Helpers over the generator

    static func pick<T>(_ items: [T], _ rng: inout SeededRandom) -> T { items[rng.index(below: items.count)] }

    /// `count` distinct items, in the catalogue's order (which is sorted where it matters).
    static func pickSorted<T>(_ items: [T], count: Int, _ rng: inout SeededRandom) -> [T] {
        var indices = rng.shuffled(Array(items.indices))
        indices = Array(indices.prefix(count)).sorted()
        return indices.map { items[$0] }
    }

    static func bytes(_ count: Int, _ rng: inout SeededRandom) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// A random (version 4) UUID in its text form.
    static func uuidText(_ rng: inout SeededRandom) -> String {
        let hex = Array(String(UInt128(rng.next()) << 64 | UInt128(rng.next()), radix: 16).padded(to: 32))
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }
        return groups.joined(separator: "-")
    }

    static func nodeID(_ rng: inout SeededRandom) -> NodeID {
        NodeID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
    }

    // MARK: - DELTA

    /// A DELTA carrying `deltaRecordCount` full pool descriptors from four owners.
    static func inventoryDelta() -> Delta {
        var rng = SeededRandom(seed: seed)
        let owners = (0..<ownerSites.count).map { _ in nodeID(&rng) }
        let epochs = owners.map { _ in rng.next(in: 1...3) }
        var sequences = owners.map { _ in rng.next(in: 1_000...90_000) }
        var poolNumbers = [Int](repeating: 0, count: owners.count)

        var records: [InventoryRecord] = []
        for i in 0..<deltaRecordCount {
            let o = rng.index(below: owners.count)
            let site = pick(ownerSites[o], &rng)
            poolNumbers[o] += 1
            sequences[o] += rng.next(in: 1...4)

            // 1 to 3 accelerator groups, mostly of one vendor, as real halls are.
            let primary = rng.index(below: acceleratorModels.count)
            let groupCount = [1, 1, 1, 2, 2, 3][rng.index(below: 6)]
            var models = [acceleratorModels[primary]]
            while models.count < groupCount {
                let sameVendor = acceleratorModels.filter {
                    $0.vendor == models[0].vendor && !models.map(\.model).contains($0.model)
                }
                let candidate =
                    rng.chance(permille: 850) && !sameVendor.isEmpty ? pick(sameVendor, &rng) : pick(acceleratorModels, &rng)
                if !models.map(\.model).contains(candidate.model) { models.append(candidate) }
            }
            var groups: [AcceleratorGroup] = []
            var computeUnits: UInt64 = 0
            var devices: UInt64 = 0
            for (g, m) in models.enumerated() {
                // The primary group is the bulk of the pool; later groups are smaller add-ons.
                let count = UInt32(g == 0 ? pick([16, 32, 64, 128, 256, 512], &rng) : pick([8, 16, 32, 64], &rng))
                devices += UInt64(count)
                computeUnits += UInt64(count) * m.unitsPerDevice
                groups.append(
                    must { () throws(VocabularyError) in
                        try AcceleratorGroup(
                            kind: m.kind, vendor: m.vendor, model: m.model, count: count, memoryMiBPerDevice: m.memoryMiB)
                    })
            }
            // Host CPUs add a little capacity of their own; hosts carry 8 devices and 2 TiB each.
            let hosts = (devices + 7) / 8
            computeUnits += hosts * rng.next(in: 4...16)
            let memoryMiB = hosts * 2_097_152

            let architecture: CPUArchitecture
            switch models[0].vendor {
            case "huawei": architecture = rng.chance(permille: 850) ? .aarch64 : .x86_64
            case "hygon": architecture = .x86_64
            case "cambricon": architecture = rng.chance(permille: 300) ? .loongarch64 : .x86_64
            default: architecture = rng.chance(permille: 200) ? .aarch64 : .x86_64
            }

            let kindSegment = models[0].kind == .gpu ? "gpu" : "npu"
            let id = must { () throws(VocabularyError) in
                try ComputeID(owner: owners[o], path: [kindSegment, site.segment, "\(models[0].model)-\(poolNumbers[o])"])
            }
            let certifications = pickSorted(certificationNames, count: 1 + rng.index(below: 4), &rng).map { name in
                must { () throws(VocabularyError) in try Certification(name) }
            }
            let services = pickSorted(serviceNames, count: 1 + rng.index(below: 3), &rng).map { name in
                must { () throws(VocabularyError) in try ServiceID(name) }
            }
            let residency = must { () throws(VocabularyError) in try Region(site.residency) }

            let policy: PolicyExpr
            switch rng.next(below: 10) {
            case 0...3: policy = .acceptAll
            case 4...6: policy = .sectorIn(pickSorted(sectors, count: 1 + rng.index(below: 3), &rng))
            case 7: policy = .regionIn([residency])
            case 8:
                let tenant = must { () throws(VocabularyError) in try TenantID("tenant-\(rng.next(in: 100...999))") }
                policy = .all([.sectorIn(pickSorted(sectors, count: 2, &rng)), .not(.tenantIn([tenant]))])
            default:
                let tenant = must { () throws(VocabularyError) in try TenantID("lab-\(rng.next(in: 10...99))") }
                policy = .any([.sectorIn([.research]), .tenantIn([tenant])])
            }

            let count = groups[0].count
            let displayName = "\(site.display) · \(count)× \(models[0].displayModel)"
            let descriptor = PoolDescriptor(
                id: id, architecture: architecture, accelerators: groups, computeUnits: computeUnits, memoryMiB: memoryMiB,
                interconnect: models[0].interconnect, pricePerUnitHour: Price(microYuan: rng.next(in: 1_200...6_800) * 1_000),
                residency: residency, certifications: certifications, greenEnergyPermille: UInt16(rng.next(in: 80...960)),
                policy: policy, services: services, displayName: displayName)

            let issuedAt = MeshInstant(milliseconds: baseInstant + UInt64(i) * 137 + rng.next(below: 100))
            records.append(
                InventoryRecord(
                    origin: owners[o], epoch: epochs[o], sequence: sequences[o], issuedAt: issuedAt,
                    validUntil: issuedAt + .minutes(15), body: .descriptor(descriptor), signature: bytes(64, &rng)))
        }
        // A delta lists records in version order per origin.
        records.sort { ($0.origin, $0.epoch, $0.sequence) < ($1.origin, $1.epoch, $1.sequence) }
        return Delta(records: records, morePending: true)
    }

    // MARK: - PLACE

    /// A PLACE: a finance tenant's gang request for 16 H800s with residency, certification,
    /// architecture, price and latency constraints.
    static func placementRequest() -> PlacementRequest {
        var rng = SeededRandom(seed: seed ^ 0x706C_6163_65)  // "place"
        let requestID = RequestID.random(using: &rng)
        let origin = nodeID(&rng)
        return must { () throws(VocabularyError) in
            PlacementRequest(
                requestID: requestID,
                tenant: try TenantID("acme-securities"),
                sector: .finance,
                idempotencyKey: "acme-securities/train-run-4471/" + uuidText(&rng),
                demand: Demand(
                    accelerator: try AcceleratorClass(kind: .gpu, vendor: "nvidia", model: "h800"),
                    acceleratorCount: 16, computeUnits: 1_200, memoryMiB: 4_194_304, mode: .gang, maxPools: 1),
                constraints: Constraints(
                    residency: [try Region("cn-east"), try Region("cn-north")],
                    certifications: [try Certification("finance-grade"), try Certification("mlps-3")],
                    architectures: [.x86_64, .aarch64],
                    maxPricePerUnitHour: Price(microYuan: 4_500_000),
                    maxLatency: .milliseconds(40)),
                weights: Weights(price: 550, latency: 300, green: 150),
                leaseDuration: .minutes(240),
                deadline: MeshInstant(milliseconds: baseInstant + 30_000),
                origin: origin)
        }
    }
}

extension String {
    /// Left-pads with zeros to `width` characters.
    fileprivate func padded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
