public import MeshCore

/// A value with a wire encoding. Encoding is total; decoding refuses malformed input with a
/// ``WireError`` and never traps.
public protocol WireCodable: Sendable, Equatable {
    /// Appends the value's encoding.
    func encode(to writer: inout WireWriter)
    /// Reads one value, advancing the reader past it.
    init(from reader: inout WireReader) throws(WireError)
}

/// A message body: a ``WireCodable`` with a registered message type.
public protocol WireMessageBody: WireCodable {
    /// The frame type this body travels in.
    static var messageType: MessageType { get }
}

/// Limits of individual fields that several messages share (see `Protocols/SPEC.md`, "Limits").
public enum FieldLimits {
    /// Free text: reasons, details, messages.
    public static let maxTextBytes = 1024
    /// Short free text: software versions, display names.
    public static let maxShortTextBytes = 128
    /// A signature slot (Ed25519 signatures are 64 bytes; room for other schemes).
    public static let maxSignatureBytes = 128
    /// Sectors one node serves.
    public static let maxSectorsPerNode = 16
    /// Membership updates piggybacked on one liveness message.
    public static let maxPiggybackedUpdates = 64
    /// Records in one gossip delta.
    public static let maxRecordsPerDelta = 4096
    /// Buckets in a gossip digest.
    public static let maxDigestBuckets = 256
    /// Explicit entries in a gossip digest.
    public static let maxDigestEntries = 1024
    /// Region summaries in one message.
    public static let maxRegionSummaries = 256
    /// Entries in one revocation list.
    public static let maxRevocations = 16384
    /// Nodes on a forwarding path (and the hop limit's ceiling).
    public static let maxPathNodes = 8
    /// Candidate verdicts kept in one explanation.
    public static let maxVerdicts = 4096
    /// Leases in one outcome.
    public static let maxLeasesPerOutcome = 64
    /// Rows in one console page.
    public static let maxConsoleRows = 1024
    /// Entries in the name directory of one console answer (SPEC §5.4.22): as many as a page has
    /// rows, since each row names at most one node beyond those already named.
    public static let maxNamedNodes = 1024
}

// MARK: - Optional helpers

extension WireWriter {
    /// An optional value: a presence byte (0 absent, 1 present), then the value when present.
    public mutating func writeOptional<T>(_ value: T?, _ body: (inout WireWriter, T) -> Void) {
        if let value {
            writeU8(1)
            body(&self, value)
        } else {
            writeU8(0)
        }
    }
}

extension WireReader {
    /// Reads a presence byte (0 or 1) and, when 1, the value.
    public mutating func readOptional<T>(
        _ what: StaticString, _ body: (inout WireReader) throws(WireError) -> T
    )
        throws(WireError) -> T?
    {
        try readBool(what) ? try body(&self) : nil
    }
}

// MARK: - Identifiers

extension NodeID: WireCodable {
    public func encode(to writer: inout WireWriter) {
        writer.writeU64(w0)
        writer.writeU64(w1)
        writer.writeU64(w2)
        writer.writeU64(w3)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        _ = try reader.peekRaw(count: NodeID.byteCount, "node ID")  // truncation reported at the field start
        let w0 = try reader.readU64("node ID")
        let w1 = try reader.readU64("node ID")
        let w2 = try reader.readU64("node ID")
        let w3 = try reader.readU64("node ID")
        self.init(w0: w0, w1: w1, w2: w2, w3: w3)
    }
}

extension WireWriter {
    mutating func write(_ id: some UniqueID128) { writeU128(id.value) }
}

extension WireReader {
    mutating func readID<T: UniqueID128>(_ what: StaticString, as _: T.Type = T.self) throws(WireError) -> T {
        T(value: try readU128(what))
    }
}

extension Region: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeString(code, maxBytes: Region.maxBytes) }
    public init(from reader: inout WireReader) throws(WireError) {
        let text = try reader.readIdentifier(maxBytes: Region.maxBytes, "region code")
        self = Region(validated: text)
    }
}

extension NodeName: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeString(name, maxBytes: NodeName.maxBytes) }
    public init(from reader: inout WireReader) throws(WireError) {
        let text = try reader.readIdentifier(maxBytes: NodeName.maxBytes, "node name")
        self = NodeName(validated: text)
    }
}

extension Sector: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeString(name, maxBytes: Sector.maxBytes) }
    public init(from reader: inout WireReader) throws(WireError) {
        let text = try reader.readIdentifier(maxBytes: Sector.maxBytes, "sector")
        self = Sector(validated: text)
    }
}

extension TenantID: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeString(name, maxBytes: TenantID.maxBytes) }
    public init(from reader: inout WireReader) throws(WireError) {
        let text = try reader.readIdentifier(maxBytes: TenantID.maxBytes, "tenant")
        self = TenantID(validated: text)
    }
}

extension Certification: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeString(name, maxBytes: Certification.maxBytes) }
    public init(from reader: inout WireReader) throws(WireError) {
        let text = try reader.readIdentifier(maxBytes: Certification.maxBytes, "certification")
        self = Certification(validated: text)
    }
}

extension ServiceID: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeString(name, maxBytes: ServiceID.maxBytes) }
    public init(from reader: inout WireReader) throws(WireError) {
        let text = try reader.readIdentifier(maxBytes: ServiceID.maxBytes, "service ID")
        self = ServiceID(validated: text)
    }
}

extension ComputeID: WireCodable {
    /// Owner (32 bytes), then a count (1...8) and that many path segments.
    public func encode(to writer: inout WireWriter) {
        owner.encode(to: &writer)
        writer.writeArray(path, maxCount: ComputeID.maxSegments) { w, segment in
            w.writeString(segment, maxBytes: ComputeID.maxSegmentBytes)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let owner = try NodeID(from: &reader)
        let countOffset = reader.offset
        let path = try reader.readArray(maxCount: ComputeID.maxSegments, minElementBytes: 2, "compute ID path") {
            (r: inout WireReader) throws(WireError) in
            try r.readIdentifier(maxBytes: ComputeID.maxSegmentBytes, "compute ID segment")
        }
        if path.isEmpty { throw WireError(.invalidValue, at: countOffset, "a compute ID needs at least one path segment") }
        self = ComputeID(owner: owner, validatedPath: path)
    }
}

extension Role: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeU8(rawValue) }
    public init(from reader: inout WireReader) throws(WireError) {
        let start = reader.offset
        let code = try reader.readU8("role")
        guard let role = Role(rawValue: code) else {
            throw WireError(.invalidValue, at: start, "role \(code) is not defined (1 regional, 2 industry, 3 operator)")
        }
        self = role
    }
}

// MARK: - Quantities and time

extension Price: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeUVarint(microYuan) }
    public init(from reader: inout WireReader) throws(WireError) { self.init(microYuan: try reader.readUVarint("price")) }
}

extension MeshInstant: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeUVarint(milliseconds) }
    public init(from reader: inout WireReader) throws(WireError) {
        self.init(milliseconds: try reader.readUVarint("instant"))
    }
}

extension MeshDuration: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeUVarint(milliseconds) }
    public init(from reader: inout WireReader) throws(WireError) {
        self.init(milliseconds: try reader.readUVarint("duration"))
    }
}

extension CPUArchitecture: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeU8(code) }
    public init(from reader: inout WireReader) throws(WireError) { self.init(code: try reader.readU8("architecture")) }
}

extension AcceleratorKind: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeU8(code) }
    public init(from reader: inout WireReader) throws(WireError) { self.init(code: try reader.readU8("accelerator kind")) }
}

extension Interconnect: WireCodable {
    public func encode(to writer: inout WireWriter) { writer.writeU8(code) }
    public init(from reader: inout WireReader) throws(WireError) { self.init(code: try reader.readU8("interconnect")) }
}

// MARK: - Resource model

extension AcceleratorGroup: WireCodable {
    public func encode(to writer: inout WireWriter) {
        kind.encode(to: &writer)
        writer.writeString(vendor, maxBytes: AcceleratorGroup.maxNameBytes)
        writer.writeString(model, maxBytes: AcceleratorGroup.maxNameBytes)
        writer.writeUVarint(UInt64(count))
        writer.writeUVarint(UInt64(memoryMiBPerDevice))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let kind = try AcceleratorKind(from: &reader)
        let vendor = try reader.readIdentifier(maxBytes: AcceleratorGroup.maxNameBytes, "accelerator vendor")
        let model = try reader.readIdentifier(maxBytes: AcceleratorGroup.maxNameBytes, "accelerator model")
        let count = try reader.readUVarint32("accelerator count")
        let memory = try reader.readUVarint32("accelerator memory MiB")
        try reader.skipTaggedFields("accelerator group")
        self = AcceleratorGroup(kind: kind, validatedVendor: vendor, model: model, count: count, memoryMiBPerDevice: memory)
    }
}

extension PolicyExpr: WireCodable {
    /// A kind byte, then its operand. Kinds: 0 accept-all, 1 refuse-all, 2 sector-in, 3 tenant-in,
    /// 4 region-in, 5 not, 6 all, 7 any.
    public func encode(to writer: inout WireWriter) { encode(to: &writer, level: 1) }

    private func encode(to writer: inout WireWriter, level: Int) {
        precondition(level <= PolicyExpr.maxDepth, "policy expression deeper than \(PolicyExpr.maxDepth) levels")
        switch self {
        case .acceptAll: writer.writeU8(0)
        case .refuseAll: writer.writeU8(1)
        case .sectorIn(let items):
            writer.writeU8(2)
            writer.writeArray(items, maxCount: PolicyExpr.maxListCount) { w, v in v.encode(to: &w) }
        case .tenantIn(let items):
            writer.writeU8(3)
            writer.writeArray(items, maxCount: PolicyExpr.maxListCount) { w, v in v.encode(to: &w) }
        case .regionIn(let items):
            writer.writeU8(4)
            writer.writeArray(items, maxCount: PolicyExpr.maxListCount) { w, v in v.encode(to: &w) }
        case .not(let inner):
            writer.writeU8(5)
            inner.encode(to: &writer, level: level + 1)
        case .all(let items):
            writer.writeU8(6)
            writer.writeArray(items, maxCount: PolicyExpr.maxListCount) { w, v in v.encode(to: &w, level: level + 1) }
        case .any(let items):
            writer.writeU8(7)
            writer.writeArray(items, maxCount: PolicyExpr.maxListCount) { w, v in v.encode(to: &w, level: level + 1) }
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        self = try reader.nested("policy expression") { (r: inout WireReader) throws(WireError) -> PolicyExpr in
            let start = r.offset
            switch try r.readU8("policy kind") {
            case 0: return .acceptAll
            case 1: return .refuseAll
            case 2:
                return .sectorIn(
                    try r.readArray(maxCount: PolicyExpr.maxListCount, minElementBytes: 2, "sector list") {
                        (r: inout WireReader) throws(WireError) in try Sector(from: &r)
                    })
            case 3:
                return .tenantIn(
                    try r.readArray(maxCount: PolicyExpr.maxListCount, minElementBytes: 2, "tenant list") {
                        (r: inout WireReader) throws(WireError) in try TenantID(from: &r)
                    })
            case 4:
                return .regionIn(
                    try r.readArray(maxCount: PolicyExpr.maxListCount, minElementBytes: 2, "region list") {
                        (r: inout WireReader) throws(WireError) in try Region(from: &r)
                    })
            case 5: return .not(try PolicyExpr(from: &r))
            case 6:
                return .all(
                    try r.readArray(maxCount: PolicyExpr.maxListCount, "policy operands") {
                        (r: inout WireReader) throws(WireError) in try PolicyExpr(from: &r)
                    })
            case 7:
                return .any(
                    try r.readArray(maxCount: PolicyExpr.maxListCount, "policy operands") {
                        (r: inout WireReader) throws(WireError) in try PolicyExpr(from: &r)
                    })
            case let kind: throw WireError(.invalidValue, at: start, "policy kind \(kind) is not defined (0...7)")
            }
        }
    }
}

extension PoolDescriptor: WireCodable {
    public func encode(to writer: inout WireWriter) {
        id.encode(to: &writer)
        architecture.encode(to: &writer)
        writer.writeArray(accelerators, maxCount: PoolDescriptor.maxAcceleratorGroups) { w, v in v.encode(to: &w) }
        writer.writeUVarint(computeUnits)
        writer.writeUVarint(memoryMiB)
        interconnect.encode(to: &writer)
        pricePerUnitHour.encode(to: &writer)
        residency.encode(to: &writer)
        writer.writeArray(certifications, maxCount: PoolDescriptor.maxCertifications) { w, v in v.encode(to: &w) }
        precondition(greenEnergyPermille <= 1000, "green energy permille \(greenEnergyPermille) > 1000")
        writer.writeUVarint(UInt64(greenEnergyPermille))
        policy.encode(to: &writer)
        writer.writeArray(services, maxCount: PoolDescriptor.maxServices) { w, v in v.encode(to: &w) }
        if displayName.isEmpty {
            writer.writeNoTaggedFields()
        } else {
            writer.writeTaggedFields([(0, { $0.writeString(displayName, maxBytes: PoolDescriptor.maxDisplayNameBytes) })])
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let id = try ComputeID(from: &reader)
        let architecture = try CPUArchitecture(from: &reader)
        let accelerators = try reader.readArray(
            maxCount: PoolDescriptor.maxAcceleratorGroups, minElementBytes: 8, "accelerator groups"
        ) {
            (r: inout WireReader) throws(WireError) in try AcceleratorGroup(from: &r)
        }
        let computeUnits = try reader.readUVarint("compute units")
        let memoryMiB = try reader.readUVarint("memory MiB")
        let interconnect = try Interconnect(from: &reader)
        let price = try Price(from: &reader)
        let residency = try Region(from: &reader)
        let certifications = try reader.readArray(
            maxCount: PoolDescriptor.maxCertifications, minElementBytes: 2, "certifications"
        ) {
            (r: inout WireReader) throws(WireError) in try Certification(from: &r)
        }
        let green = try reader.readUVarint(max: 1000, "green energy permille")
        let policy = try PolicyExpr(from: &reader)
        let services = try reader.readArray(maxCount: PoolDescriptor.maxServices, minElementBytes: 2, "services") {
            (r: inout WireReader) throws(WireError) in try ServiceID(from: &r)
        }
        var displayName = ""
        try reader.readTaggedFields("pool descriptor") { (tag, r: inout WireReader) throws(WireError) in
            switch tag {
            case 0:
                displayName = try r.readString(maxBytes: PoolDescriptor.maxDisplayNameBytes, "display name")
                return true
            default: return false
            }
        }
        self.init(
            id: id, architecture: architecture, accelerators: accelerators, computeUnits: computeUnits,
            memoryMiB: memoryMiB, interconnect: interconnect, pricePerUnitHour: price, residency: residency,
            certifications: certifications, greenEnergyPermille: UInt16(green), policy: policy, services: services,
            displayName: displayName)
    }
}

extension PoolAvailability: WireCodable {
    public func encode(to writer: inout WireWriter) {
        id.encode(to: &writer)
        writer.writeUVarint(freeComputeUnits)
        writer.writeUVarint(freeMemoryMiB)
        writer.writeArray(freeAccelerators, maxCount: PoolDescriptor.maxAcceleratorGroups) { w, v in w.writeUVarint(UInt64(v)) }
        pricePerUnitHour.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let id = try ComputeID(from: &reader)
        let freeCU = try reader.readUVarint("free compute units")
        let freeMem = try reader.readUVarint("free memory MiB")
        let freeAcc = try reader.readArray(maxCount: PoolDescriptor.maxAcceleratorGroups, "free accelerators") {
            (r: inout WireReader) throws(WireError) in try r.readUVarint32("free accelerator count")
        }
        let price = try Price(from: &reader)
        try reader.skipTaggedFields("pool availability")
        self.init(id: id, freeComputeUnits: freeCU, freeMemoryMiB: freeMem, freeAccelerators: freeAcc, pricePerUnitHour: price)
    }
}
