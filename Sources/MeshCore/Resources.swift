// MARK: - Open enumerations

/// A CPU instruction-set architecture.
///
/// Open: a code this release does not know decodes to ``unknown(_:)`` and survives a round trip,
/// so older nodes relay pools of architectures added later instead of refusing them.
public enum CPUArchitecture: Hashable, Sendable, Codable, CustomStringConvertible {
    case x86_64, aarch64, riscv64, loongarch64, sw64, ppc64le
    case unknown(UInt8)

    /// The frozen wire code.
    public var code: UInt8 {
        switch self {
        case .x86_64: 1
        case .aarch64: 2
        case .riscv64: 3
        case .loongarch64: 4
        case .sw64: 5
        case .ppc64le: 6
        case .unknown(let code): code
        }
    }

    public init(code: UInt8) {
        switch code {
        case 1: self = .x86_64
        case 2: self = .aarch64
        case 3: self = .riscv64
        case 4: self = .loongarch64
        case 5: self = .sw64
        case 6: self = .ppc64le
        default: self = .unknown(code)
        }
    }

    public var description: String {
        switch self {
        case .x86_64: "x86_64"
        case .aarch64: "aarch64"
        case .riscv64: "riscv64"
        case .loongarch64: "loongarch64"
        case .sw64: "sw64"
        case .ppc64le: "ppc64le"
        case .unknown(let code): "arch#\(code)"
        }
    }

    /// Every architecture this release knows, in code order.
    public static let known: [CPUArchitecture] = [.x86_64, .aarch64, .riscv64, .loongarch64, .sw64, .ppc64le]

    /// Parses a known architecture name.
    public init(name: String) throws(VocabularyError) {
        guard let match = CPUArchitecture.known.first(where: { $0.description == name }) else {
            throw VocabularyError(
                what: "architecture", input: name,
                reason: "expected one of " + CPUArchitecture.known.map(\.description).joined(separator: ", "))
        }
        self = match
    }
}

/// The kind of an accelerator device.
public enum AcceleratorKind: Hashable, Sendable, Codable, CustomStringConvertible {
    case gpu, npu, fpga, asic
    case unknown(UInt8)

    /// The frozen wire code.
    public var code: UInt8 {
        switch self {
        case .gpu: 1
        case .npu: 2
        case .fpga: 3
        case .asic: 4
        case .unknown(let code): code
        }
    }

    public init(code: UInt8) {
        switch code {
        case 1: self = .gpu
        case 2: self = .npu
        case 3: self = .fpga
        case 4: self = .asic
        default: self = .unknown(code)
        }
    }

    public var description: String {
        switch self {
        case .gpu: "gpu"
        case .npu: "npu"
        case .fpga: "fpga"
        case .asic: "asic"
        case .unknown(let code): "accel#\(code)"
        }
    }
}

/// How the devices of a pool are linked to each other.
public enum Interconnect: Hashable, Sendable, Codable, CustomStringConvertible {
    case ethernet, roce, infiniband, nvlink, hccs
    case unknown(UInt8)

    /// The frozen wire code.
    public var code: UInt8 {
        switch self {
        case .ethernet: 1
        case .roce: 2
        case .infiniband: 3
        case .nvlink: 4
        case .hccs: 5
        case .unknown(let code): code
        }
    }

    public init(code: UInt8) {
        switch code {
        case 1: self = .ethernet
        case 2: self = .roce
        case 3: self = .infiniband
        case 4: self = .nvlink
        case 5: self = .hccs
        default: self = .unknown(code)
        }
    }

    public var description: String {
        switch self {
        case .ethernet: "ethernet"
        case .roce: "roce"
        case .infiniband: "infiniband"
        case .nvlink: "nvlink"
        case .hccs: "hccs"
        case .unknown(let code): "interconnect#\(code)"
        }
    }
}

// MARK: - Quantities

/// A price in micro-yuan (millionths of RMB 1). Integer so sums and comparisons are exact.
public struct Price: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var microYuan: UInt64
    public init(microYuan: UInt64) { self.microYuan = microYuan }
    public static func < (lhs: Price, rhs: Price) -> Bool { lhs.microYuan < rhs.microYuan }
    public var description: String {
        let whole = microYuan / 1_000_000
        let frac = String(microYuan % 1_000_000)
        return "¥\(whole).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
    }
}

/// A group of identical accelerators in a pool: e.g. 64 × NVIDIA H800 80 GiB, or 128 × Huawei
/// Ascend 910B.
public struct AcceleratorGroup: Hashable, Sendable, Codable {
    /// The longest vendor or model name, in bytes.
    public static let maxNameBytes = 48

    public var kind: AcceleratorKind
    /// Vendor, in ``IdentifierGrammar`` form: `nvidia`, `huawei`, `cambricon`, `hygon`, …
    public var vendor: String
    /// Model, in ``IdentifierGrammar`` form: `h800`, `ascend-910b`, `mlu370`, …
    public var model: String
    /// How many devices the pool has.
    public var count: UInt32
    /// Memory per device, in MiB.
    public var memoryMiBPerDevice: UInt32

    public init(
        kind: AcceleratorKind, vendor: String, model: String, count: UInt32, memoryMiBPerDevice: UInt32
    )
        throws(VocabularyError)
    {
        try IdentifierGrammar.validate(vendor, what: "accelerator vendor", maxBytes: AcceleratorGroup.maxNameBytes)
        try IdentifierGrammar.validate(model, what: "accelerator model", maxBytes: AcceleratorGroup.maxNameBytes)
        self.kind = kind
        self.vendor = vendor
        self.model = model
        self.count = count
        self.memoryMiBPerDevice = memoryMiBPerDevice
    }

    /// Wraps names the caller has already checked against the grammar.
    package init(kind: AcceleratorKind, validatedVendor vendor: String, model: String, count: UInt32, memoryMiBPerDevice: UInt32)
    {
        self.kind = kind
        self.vendor = vendor
        self.model = model
        self.count = count
        self.memoryMiBPerDevice = memoryMiBPerDevice
    }

    /// `<kind>:<vendor>/<model>`, the class a demand names.
    public var className: String { "\(kind):\(vendor)/\(model)" }
}

/// A certification a pool holds, e.g. `finance-grade`, `healthcare`, `mlps-3` (China's
/// Multi-Level Protection Scheme, level 3).
public struct Certification: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    public static let maxBytes = 48
    public let name: String
    public init(_ name: String) throws(VocabularyError) {
        try IdentifierGrammar.validate(name, what: "certification", maxBytes: Certification.maxBytes)
        self.name = name
    }
    /// Wraps a name the caller has already checked against the grammar.
    package init(validated name: String) { self.name = name }
    public var description: String { name }
    public static func < (lhs: Certification, rhs: Certification) -> Bool { lhs.name < rhs.name }
}

/// A tenant of an industry node: the party that asks for compute and holds leases.
public struct TenantID: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    public static let maxBytes = 64
    public let name: String
    public init(_ name: String) throws(VocabularyError) {
        try IdentifierGrammar.validate(name, what: "tenant", maxBytes: TenantID.maxBytes)
        self.name = name
    }
    /// Wraps a name the caller has already checked against the grammar.
    package init(validated name: String) { self.name = name }
    public var description: String { name }
    public static func < (lhs: TenantID, rhs: TenantID) -> Bool { lhs.name < rhs.name }
}

// MARK: - Pools

/// The static description of a pool of compute: what it is, where, at what price, for whom.
///
/// This is what an owner registers and gossips. It changes rarely; the fast-changing part lives
/// in ``PoolAvailability`` so that gossip carries small field-level updates.
public struct PoolDescriptor: Hashable, Sendable, Codable {
    /// The most accelerator groups in one pool.
    public static let maxAcceleratorGroups = 16
    /// The most certifications on one pool.
    public static let maxCertifications = 16
    /// The most services one pool advertises.
    public static let maxServices = 16

    public var id: ComputeID
    public var architecture: CPUArchitecture
    public var accelerators: [AcceleratorGroup]
    /// Normalised compute units: the federation's common measure of capacity across architectures.
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var interconnect: Interconnect
    /// List price per compute unit per hour.
    public var pricePerUnitHour: Price
    /// The data-residency zone the pool's data stays in.
    public var residency: Region
    /// Sorted, without duplicates.
    public var certifications: [Certification]
    /// Share of the pool's energy from renewable sources, in permille (0...1000).
    public var greenEnergyPermille: UInt16
    /// Which sectors and tenants the pool accepts.
    public var policy: PolicyExpr
    /// Services (CATS service IDs) the pool offers; sorted, without duplicates.
    public var services: [ServiceID]
    /// A human-readable name for consoles (tagged field 0 on the wire; empty when absent).
    public var displayName: String

    public init(
        id: ComputeID, architecture: CPUArchitecture, accelerators: [AcceleratorGroup], computeUnits: UInt64,
        memoryMiB: UInt64, interconnect: Interconnect, pricePerUnitHour: Price, residency: Region,
        certifications: [Certification], greenEnergyPermille: UInt16, policy: PolicyExpr = .acceptAll,
        services: [ServiceID] = [], displayName: String = ""
    ) {
        self.id = id
        self.architecture = architecture
        self.accelerators = accelerators
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.interconnect = interconnect
        self.pricePerUnitHour = pricePerUnitHour
        self.residency = residency
        self.certifications = certifications
        self.greenEnergyPermille = greenEnergyPermille
        self.policy = policy
        self.services = services
        self.displayName = displayName
    }

    /// The longest display name, in bytes.
    public static let maxDisplayNameBytes = 128

    /// Checks the rules a descriptor must meet to be registered or sent (the wire's limits).
    /// Call it where a descriptor enters from a configuration file or a console.
    public func validate() throws(VocabularyError) {
        func atMost(_ count: Int, _ limit: Int, _ what: String) throws(VocabularyError) {
            if count > limit { throw VocabularyError(what: what, input: String(count), reason: "at most \(limit) allowed") }
        }
        try atMost(accelerators.count, PoolDescriptor.maxAcceleratorGroups, "accelerator groups")
        try atMost(certifications.count, PoolDescriptor.maxCertifications, "certifications")
        try atMost(services.count, PoolDescriptor.maxServices, "services")
        try atMost(displayName.utf8.count, PoolDescriptor.maxDisplayNameBytes, "display name bytes")
        if greenEnergyPermille > 1000 {
            throw VocabularyError(what: "green energy share", input: String(greenEnergyPermille), reason: "permille: 0 to 1000")
        }
        if policy.depth > PolicyExpr.maxDepth {
            throw VocabularyError(
                what: "policy", input: "depth \(policy.depth)", reason: "nests at most \(PolicyExpr.maxDepth) levels")
        }
    }
}

/// The fast-changing state of a pool: what is free now and at what price.
public struct PoolAvailability: Hashable, Sendable, Codable {
    public var id: ComputeID
    public var freeComputeUnits: UInt64
    public var freeMemoryMiB: UInt64
    /// Free devices per accelerator group, in the order of ``PoolDescriptor/accelerators``.
    public var freeAccelerators: [UInt32]
    /// The current price per compute unit per hour (may differ from the list price).
    public var pricePerUnitHour: Price

    public init(
        id: ComputeID, freeComputeUnits: UInt64, freeMemoryMiB: UInt64, freeAccelerators: [UInt32], pricePerUnitHour: Price
    ) {
        self.id = id
        self.freeComputeUnits = freeComputeUnits
        self.freeMemoryMiB = freeMemoryMiB
        self.freeAccelerators = freeAccelerators
        self.pricePerUnitHour = pricePerUnitHour
    }
}

extension Certification {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(text) }

    /// The text form (see ``TextCodable``).
    public var text: String { name }
}

extension TenantID {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(text) }

    /// The text form (see ``TextCodable``).
    public var text: String { name }
}
