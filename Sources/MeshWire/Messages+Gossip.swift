public import MeshCore

// MARK: - Records

extension InventoryRecord: WireCodable {
    /// Origin, epoch, sequence, issue time, valid-until, a kind byte (1 descriptor, 2 availability,
    /// 3 tombstone) and its body, the signature slot, tagged fields.
    public func encode(to writer: inout WireWriter) {
        origin.encode(to: &writer)
        writer.writeUVarint(epoch)
        writer.writeUVarint(sequence)
        issuedAt.encode(to: &writer)
        validUntil.encode(to: &writer)
        switch body {
        case .descriptor(let d):
            writer.writeU8(1)
            d.encode(to: &writer)
        case .availability(let a):
            writer.writeU8(2)
            a.encode(to: &writer)
        case .tombstone(let id):
            writer.writeU8(3)
            id.encode(to: &writer)
        }
        // The same bytes as `writeBytes`: a varint length, then the signature, read in place.
        precondition(
            signature.count <= FieldLimits.maxSignatureBytes,
            "signature of \(signature.count) bytes exceeds its field limit \(FieldLimits.maxSignatureBytes)")
        writer.writeUVarint(UInt64(signature.count))
        signature.withUnsafeBytes { writer.writeRaw($0) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let origin = try NodeID(from: &reader)
        let epoch = try reader.readUVarint("epoch")
        let sequence = try reader.readUVarint("sequence")
        let issuedAt = try MeshInstant(from: &reader)
        let validUntil = try MeshInstant(from: &reader)
        let kindOffset = reader.offset
        let body: RecordBody
        switch try reader.readU8("record kind") {
        case 1: body = .descriptor(try PoolDescriptor(from: &reader))
        case 2: body = .availability(try PoolAvailability(from: &reader))
        case 3: body = .tombstone(try ComputeID(from: &reader))
        case let kind: throw WireError(.invalidValue, at: kindOffset, "record kind \(kind) is not defined (1...3)")
        }
        let signature = try reader.readSignature()
        try reader.skipTaggedFields("inventory record")
        self.init(
            origin: origin, epoch: epoch, sequence: sequence, issuedAt: issuedAt, validUntil: validUntil, body: body,
            signature: signature)
    }
}

extension WireReader {
    /// A record signature: the same bytes and checks as `readBytes(maxBytes:)` with
    /// `FieldLimits.maxSignatureBytes`, kept in ``RecordSignature``'s inline form without an
    /// intermediate array.
    mutating func readSignature() throws(WireError) -> RecordSignature {
        let start = offset
        let length = try readUVarint("signature")
        if length > UInt64(FieldLimits.maxSignatureBytes) {
            throw WireError(
                .bytesTooLong, at: start, "signature is \(length) bytes; the limit is \(FieldLimits.maxSignatureBytes)")
        }
        // Copied through the non-generic initializer: one `memcpy` (see `RecordSignature(copying:)`).
        return try readRaw(count: Int(length), "signature").withUnsafeBytes { RecordSignature(copying: $0) }
    }
}

// MARK: - DIGEST

extension DigestEntry: WireCodable {
    public func encode(to writer: inout WireWriter) {
        origin.encode(to: &writer)
        writer.writeUVarint(epoch)
        writer.writeUVarint(sequence)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let origin = try NodeID(from: &reader)
        let epoch = try reader.readUVarint("epoch")
        self.init(origin: origin, epoch: epoch, sequence: try reader.readUVarint("sequence"))
    }
}

/// A summary of what the sender knows, whose size does not grow with the number of origins:
/// origins are hashed into a fixed number of buckets and each bucket carries a hash of its
/// origins' versions. Only buckets whose hashes differ are then listed entry by entry (in
/// `entries`, usually in the answer), so a converged pair exchanges only the buckets.
public struct Digest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.digest
    public var scope: GossipScope
    public var region: Region
    /// One 64-bit hash per bucket; the bucket count is the array's length.
    public var bucketHashes: [UInt64]
    /// Explicit versions for the buckets the sender wants to reconcile.
    public var entries: [DigestEntry]
    /// Flow control: the most delta bytes the sender is willing to receive in answer.
    public var maxDeltaBytes: UInt32

    public init(scope: GossipScope, region: Region, bucketHashes: [UInt64], entries: [DigestEntry] = [], maxDeltaBytes: UInt32) {
        self.scope = scope
        self.region = region
        self.bucketHashes = bucketHashes
        self.entries = entries
        self.maxDeltaBytes = maxDeltaBytes
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeU8(scope.rawValue)
        region.encode(to: &writer)
        writer.writeArray(bucketHashes, maxCount: FieldLimits.maxDigestBuckets) { w, v in w.writeU64(v) }
        writer.writeArray(entries, maxCount: FieldLimits.maxDigestEntries) { w, v in v.encode(to: &w) }
        writer.writeUVarint(UInt64(maxDeltaBytes))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        scope = try reader.readEnum("gossip scope")
        region = try Region(from: &reader)
        bucketHashes = try reader.readArray(maxCount: FieldLimits.maxDigestBuckets, minElementBytes: 8, "bucket hashes") {
            (r: inout WireReader) throws(WireError) in try r.readU64("bucket hash")
        }
        entries = try reader.readArray(maxCount: FieldLimits.maxDigestEntries, minElementBytes: 34, "digest entries") {
            (r: inout WireReader) throws(WireError) in try DigestEntry(from: &r)
        }
        maxDeltaBytes = try reader.readUVarint32("max delta bytes")
        try reader.skipTaggedFields("digest")
    }
}

// MARK: - DELTA

/// Records the receiver lacks, in version order per origin, cut to the receiver's byte budget.
public struct Delta: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.delta
    public var records: [InventoryRecord]
    /// Whether the sender holds more records for the receiver than fitted this delta.
    public var morePending: Bool

    public init(records: [InventoryRecord], morePending: Bool = false) {
        self.records = records
        self.morePending = morePending
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeArray(records, maxCount: FieldLimits.maxRecordsPerDelta) { w, v in v.encode(to: &w) }
        writer.writeBool(morePending)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        records = try reader.readArray(maxCount: FieldLimits.maxRecordsPerDelta, minElementBytes: 40, "records") {
            (r: inout WireReader) throws(WireError) in try InventoryRecord(from: &r)
        }
        morePending = try reader.readBool("more pending")
        try reader.skipTaggedFields("delta")
    }
}

// MARK: - REGION_SUMMARY

extension AcceleratorSummary: WireCodable {
    public func encode(to writer: inout WireWriter) {
        kind.encode(to: &writer)
        writer.writeString(vendor, maxBytes: AcceleratorGroup.maxNameBytes)
        writer.writeString(model, maxBytes: AcceleratorGroup.maxNameBytes)
        writer.writeUVarint(total)
        writer.writeUVarint(free)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let kind = try AcceleratorKind(from: &reader)
        let vendor = try reader.readIdentifier(maxBytes: AcceleratorGroup.maxNameBytes, "accelerator vendor")
        let model = try reader.readIdentifier(maxBytes: AcceleratorGroup.maxNameBytes, "accelerator model")
        let total = try reader.readUVarint("accelerator total")
        let free = try reader.readUVarint("accelerator free")
        self = AcceleratorSummary(kind: kind, validatedVendor: vendor, model: model, total: total, free: free)
    }
}

extension RegionSummary: WireCodable {
    public func encode(to writer: inout WireWriter) {
        region.encode(to: &writer)
        origin.encode(to: &writer)
        writer.writeUVarint(version)
        issuedAt.encode(to: &writer)
        validUntil.encode(to: &writer)
        writer.writeUVarint(UInt64(nodeCount))
        writer.writeUVarint(UInt64(poolCount))
        writer.writeUVarint(totalComputeUnits)
        writer.writeUVarint(freeComputeUnits)
        writer.writeArray(accelerators, maxCount: RegionSummary.maxAcceleratorClasses) { w, v in v.encode(to: &w) }
        minPricePerUnitHour.encode(to: &writer)
        writer.writeArray(certifications, maxCount: RegionSummary.maxCertifications) { w, v in v.encode(to: &w) }
        writer.writeUVarint(UInt64(greenEnergyPermille))
        writer.writeBytes(signature, maxBytes: FieldLimits.maxSignatureBytes)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let region = try Region(from: &reader)
        let origin = try NodeID(from: &reader)
        let version = try reader.readUVarint("version")
        let issuedAt = try MeshInstant(from: &reader)
        let validUntil = try MeshInstant(from: &reader)
        let nodeCount = try reader.readUVarint32("node count")
        let poolCount = try reader.readUVarint32("pool count")
        let totalComputeUnits = try reader.readUVarint("total compute units")
        let freeComputeUnits = try reader.readUVarint("free compute units")
        let accelerators = try reader.readArray(
            maxCount: RegionSummary.maxAcceleratorClasses, minElementBytes: 7, "accelerator summaries"
        ) { (r: inout WireReader) throws(WireError) in try AcceleratorSummary(from: &r) }
        let minPrice = try Price(from: &reader)
        let certifications = try reader.readArray(
            maxCount: RegionSummary.maxCertifications, minElementBytes: 2, "certifications"
        ) { (r: inout WireReader) throws(WireError) in try Certification(from: &r) }
        let green = UInt16(try reader.readUVarint(max: 1000, "green energy permille"))
        let signature = try reader.readBytes(maxBytes: FieldLimits.maxSignatureBytes, "signature")
        try reader.skipTaggedFields("region summary")
        self.init(
            region: region, origin: origin, version: version, issuedAt: issuedAt, validUntil: validUntil,
            nodeCount: nodeCount, poolCount: poolCount, totalComputeUnits: totalComputeUnits,
            freeComputeUnits: freeComputeUnits, accelerators: accelerators, minPricePerUnitHour: minPrice,
            certifications: certifications, greenEnergyPermille: green, signature: signature)
    }
}

/// Region summaries, exchanged between regional nodes and sent down to industry nodes.
public struct RegionSummaries: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.regionSummary
    public var summaries: [RegionSummary]

    public init(summaries: [RegionSummary]) { self.summaries = summaries }

    public func encode(to writer: inout WireWriter) {
        writer.writeArray(summaries, maxCount: FieldLimits.maxRegionSummaries) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        summaries = try reader.readArray(maxCount: FieldLimits.maxRegionSummaries, minElementBytes: 47, "region summaries") {
            (r: inout WireReader) throws(WireError) in try RegionSummary(from: &r)
        }
        try reader.skipTaggedFields("region summaries")
    }
}

// MARK: - REVOCATION_LIST

extension Revocation: WireCodable {
    public func encode(to writer: inout WireWriter) {
        node.encode(to: &writer)
        writer.writeUVarint(certificateSerial)
        revokedAt.encode(to: &writer)
        writer.writeU8(reason.rawValue)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let node = try NodeID(from: &reader)
        let serial = try reader.readUVarint("certificate serial")
        let revokedAt = try MeshInstant(from: &reader)
        let reason: RevocationReason = try reader.readEnum("revocation reason")
        self.init(node: node, certificateSerial: serial, revokedAt: revokedAt, reason: reason)
    }
}

/// The federation root's signed list of revoked certificates, spread by gossip. A higher
/// `serial` supersedes a lower one.
public struct RevocationList: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.revocationList
    /// The NodeID-style hash of the root key that signed the list.
    public var issuer: NodeID
    public var serial: UInt64
    public var issuedAt: MeshInstant
    public var nextUpdate: MeshInstant
    /// Sorted by node ID.
    public var entries: [Revocation]
    public var signature: [UInt8]

    public init(
        issuer: NodeID, serial: UInt64, issuedAt: MeshInstant, nextUpdate: MeshInstant, entries: [Revocation], signature: [UInt8]
    ) {
        self.issuer = issuer
        self.serial = serial
        self.issuedAt = issuedAt
        self.nextUpdate = nextUpdate
        self.entries = entries
        self.signature = signature
    }

    public func encode(to writer: inout WireWriter) {
        issuer.encode(to: &writer)
        writer.writeUVarint(serial)
        issuedAt.encode(to: &writer)
        nextUpdate.encode(to: &writer)
        writer.writeArray(entries, maxCount: FieldLimits.maxRevocations) { w, v in v.encode(to: &w) }
        writer.writeBytes(signature, maxBytes: FieldLimits.maxSignatureBytes)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        issuer = try NodeID(from: &reader)
        serial = try reader.readUVarint("serial")
        issuedAt = try MeshInstant(from: &reader)
        nextUpdate = try MeshInstant(from: &reader)
        entries = try reader.readArray(maxCount: FieldLimits.maxRevocations, minElementBytes: 35, "revocations") {
            (r: inout WireReader) throws(WireError) in try Revocation(from: &r)
        }
        signature = try reader.readBytes(maxBytes: FieldLimits.maxSignatureBytes, "signature")
        try reader.skipTaggedFields("revocation list")
    }
}
