public import MeshCore

/// What an operator registers (from the node's configuration file or a console command): a pool
/// description without its ID, which the node issues.
public struct PoolSpec: Hashable, Sendable {
    /// The path below the node's namespace, e.g. `["gpu", "hall-2"]`.
    public var path: [String]
    public var architecture: CPUArchitecture
    public var accelerators: [AcceleratorGroup]
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var interconnect: Interconnect
    public var pricePerUnitHour: Price
    public var residency: Region
    public var certifications: [Certification]
    public var greenEnergyPermille: UInt16
    public var policy: PolicyExpr
    public var services: [ServiceID]
    public var displayName: String

    public init(
        path: [String], architecture: CPUArchitecture, accelerators: [AcceleratorGroup] = [], computeUnits: UInt64,
        memoryMiB: UInt64, interconnect: Interconnect = .ethernet, pricePerUnitHour: Price, residency: Region,
        certifications: [Certification] = [], greenEnergyPermille: UInt16 = 0, policy: PolicyExpr = .acceptAll,
        services: [ServiceID] = [], displayName: String = ""
    ) {
        self.path = path
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
}

extension PoolSpec {
    /// The spec a descriptor describes: its path below the owner's namespace and every field.
    public init(_ d: PoolDescriptor) {
        self.init(
            path: d.id.path, architecture: d.architecture, accelerators: d.accelerators, computeUnits: d.computeUnits,
            memoryMiB: d.memoryMiB, interconnect: d.interconnect, pricePerUnitHour: d.pricePerUnitHour,
            residency: d.residency, certifications: d.certifications, greenEnergyPermille: d.greenEnergyPermille,
            policy: d.policy, services: d.services, displayName: d.displayName)
    }

    /// This spec as the descriptor of pool `id`, certifications and services sorted without
    /// duplicates. It is not validated: ``PoolRegistry/register(_:)`` and senders do that.
    public func descriptor(id: ComputeID) -> PoolDescriptor {
        PoolDescriptor(
            id: id, architecture: architecture, accelerators: accelerators, computeUnits: computeUnits,
            memoryMiB: memoryMiB, interconnect: interconnect, pricePerUnitHour: pricePerUnitHour, residency: residency,
            certifications: Array(Set(certifications)).sorted(), greenEnergyPermille: greenEnergyPermille, policy: policy,
            services: Array(Set(services)).sorted(), displayName: displayName)
    }
}

/// Why a registration was refused: it came from an operator's file or console, so a typed error.
public struct RegistrationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "pool registration refused: \(message)" }
}

/// Registration of a node's own pools: issues each a ComputeID under the node's namespace,
/// validates the description, and stamps the version its inventory record is published at.
///
/// The caller persists the result (``OwnerLedger/register(_:now:)`` returns the persist directive),
/// then feeds the pool to its inventory (``PoolRegistry/viewEntry(_:now:validFor:)``).
public struct PoolRegistry: Sendable {
    public let node: NodeID
    public let maxPools: Int
    /// The inventory epoch: raised by the shell when the node restarts with lost state.
    public private(set) var epoch: UInt64
    public private(set) var sequence: UInt64
    private var pools: [ComputeID: RegisteredPool] = [:]

    /// The largest quantities a pool may offer: the same limits a request is held to
    /// (``PlacementConfig/maxComputeUnits`` and its siblings), so that the mesh never gossips a
    /// pool whose figures a request could not even name.
    public let limits: PlacementConfig

    public init(
        node: NodeID, epoch: UInt64 = 1, sequence: UInt64 = 0, maxPools: Int = 4_096, limits: PlacementConfig = PlacementConfig()
    ) {
        self.node = node
        self.epoch = epoch
        self.sequence = sequence
        self.maxPools = maxPools
        self.limits = limits
    }

    /// Restores registrations read back from the store (their versions are kept).
    public mutating func restore(_ registered: [RegisteredPool]) {
        for pool in registered {
            precondition(pool.descriptor.id.owner == node, "restoring a pool outside this node's namespace")
            pools[pool.descriptor.id] = pool
            if pool.epoch == epoch { sequence = max(sequence, pool.sequence) }
        }
    }

    /// The registration of `id`, if it is registered.
    public func pool(_ id: ComputeID) -> RegisteredPool? { pools[id] }

    /// Every registered pool, sorted by ID.
    public var registered: [RegisteredPool] { pools.values.sorted { $0.descriptor.id < $1.descriptor.id } }

    /// Validates a spec and issues (or re-issues, for an existing path) its ComputeID.
    public mutating func register(_ spec: PoolSpec) throws(RegistrationError) -> RegisteredPool {
        let id: ComputeID
        do { id = try ComputeID(owner: node, path: spec.path) } catch { throw RegistrationError(error.description) }
        if pools[id] == nil && pools.count >= maxPools {
            throw RegistrationError("node already has \(pools.count) pools; the limit is \(maxPools)")
        }
        // Rules of placement; the wire's limits come from PoolDescriptor.validate() below, so a
        // registered pool can always be gossiped.
        if spec.computeUnits == 0 { throw RegistrationError("a pool needs at least one compute unit") }
        if spec.computeUnits > limits.maxComputeUnits {
            throw RegistrationError(
                "\(spec.computeUnits) compute units is more than the limit of \(limits.maxComputeUnits) per pool (and per request)"
            )
        }
        if spec.memoryMiB > limits.maxMemoryMiB {
            throw RegistrationError(
                "\(spec.memoryMiB) MiB of memory is more than the limit of \(limits.maxMemoryMiB) per pool (and per request)")
        }
        if let group = spec.accelerators.first(where: { $0.count > limits.maxAcceleratorCount }) {
            throw RegistrationError(
                "\(group.count) accelerators (\(group.className)) is more than the limit of \(limits.maxAcceleratorCount) "
                    + "per pool (and per request)")
        }
        if spec.accelerators.contains(where: { $0.count == 0 }) {
            throw RegistrationError("an accelerator group has no devices")
        }
        var seenClasses: [String] = []
        for group in spec.accelerators {
            if seenClasses.contains(group.className) {
                throw RegistrationError("accelerator class \(group.className) listed twice")
            }
            seenClasses.append(group.className)
        }
        // An unknown architecture code is kept (SPEC §4.12: open enumerations accept every value);
        // such a pool matches no request that names architectures.
        let descriptor = spec.descriptor(id: id)
        do { try descriptor.validate() } catch { throw RegistrationError(error.description) }
        sequence += 1
        let result = RegisteredPool(descriptor: descriptor, epoch: epoch, sequence: sequence)
        pools[id] = result
        return result
    }

    /// The view entry of a freshly registered pool: all capacity free, issued now.
    public func viewEntry(_ pool: RegisteredPool, now: MeshInstant, validFor: MeshDuration) -> ViewEntry {
        let d = pool.descriptor
        return ViewEntry(
            descriptor: d,
            availability: PoolAvailability(
                id: d.id, freeComputeUnits: d.computeUnits, freeMemoryMiB: d.memoryMiB,
                freeAccelerators: d.accelerators.map(\.count),
                pricePerUnitHour: d.pricePerUnitHour), epoch: pool.epoch, sequence: pool.sequence, issuedAt: now,
            validUntil: now + validFor, latency: .zero)
    }
}
