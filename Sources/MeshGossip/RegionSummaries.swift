public import MeshCore

/// The backbone's view: one summary per region, the newest version from that region's regional
/// node. Industry nodes hold full records of their own region and only these for the rest.
public struct RegionSummaryBook: Sendable {
    /// The most regions held.
    public let maxRegions: Int
    let verifier: any RecordVerifier
    var byRegion: [Region: RegionSummary] = [:]
    /// Regions held, sorted.
    var regions: [Region] = []

    public init(maxRegions: Int = 256, verifier: any RecordVerifier = AcceptAllVerifier()) {
        self.maxRegions = maxRegions
        self.verifier = verifier
    }

    /// Every summary held, by region.
    public var summaries: [RegionSummary] { regions.compactMap { byRegion[$0] } }

    /// The summary for `region`, if held.
    public func summary(of region: Region) -> RegionSummary? { byRegion[region] }

    /// Merges summaries; keeps a summary only if it verifies, is still valid and is newer than the
    /// one held (by version, then issue time). Returns the summaries that were new.
    @discardableResult
    public mutating func merge(_ incoming: [RegionSummary], now: MeshInstant) -> [RegionSummary] {
        var fresh: [RegionSummary] = []
        for summary in incoming where summary.validUntil > now && verifier.verify(summary) {
            if let held = byRegion[summary.region] {
                guard (summary.version, summary.issuedAt) > (held.version, held.issuedAt) else { continue }
            } else {
                guard regions.count < maxRegions else { continue }
                var low = 0
                var high = regions.count
                while low < high {
                    let mid = (low + high) / 2
                    if regions[mid] < summary.region { low = mid + 1 } else { high = mid }
                }
                regions.insert(summary.region, at: low)
            }
            byRegion[summary.region] = summary
            fresh.append(summary)
        }
        return fresh
    }

    /// Drops summaries past valid-until.
    public mutating func expire(now: MeshInstant) {
        let gone = regions.filter { byRegion[$0]!.validUntil <= now }
        for region in gone { byRegion[region] = nil }
        regions.removeAll { byRegion[$0] == nil }
    }

    /// Aggregates a region's live records into the summary its regional node issues. Availability
    /// records give free capacity; pools without one count as fully free.
    public static func summarize(
        region: Region, origin: NodeID, version: UInt64, records: [InventoryRecord], nodeCount: Int, now: MeshInstant,
        validity: MeshDuration
    ) -> RegionSummary {
        var descriptors: [ComputeID: PoolDescriptor] = [:]
        var availability: [ComputeID: PoolAvailability] = [:]
        for record in records {
            switch record.body {
            case .descriptor(let d): descriptors[d.id] = d
            case .availability(let a): availability[a.id] = a
            case .tombstone: break
            }
        }
        let ids = descriptors.keys.sorted()
        var total: UInt64 = 0
        var free: UInt64 = 0
        var minPrice = UInt64.max
        var certifications: Set<Certification> = []
        var greenWeighted: UInt64 = 0
        // Accelerator classes, kept sorted by (kind, vendor, model) so the summary is deterministic.
        var classes: [(key: String, kind: AcceleratorKind, vendor: String, model: String, total: UInt64, free: UInt64)] = []
        for id in ids {
            let d = descriptors[id]!
            total &+= d.computeUnits
            let a = availability[id]
            for (g, group) in d.accelerators.enumerated() {
                let key = "\(group.kind.code)/\(group.vendor)/\(group.model)"
                let freeDevices = UInt64(a.map { g < $0.freeAccelerators.count ? $0.freeAccelerators[g] : 0 } ?? group.count)
                if let i = classes.firstIndex(where: { $0.key == key }) {
                    classes[i].total &+= UInt64(group.count)
                    classes[i].free &+= freeDevices
                } else {
                    classes.append((key, group.kind, group.vendor, group.model, UInt64(group.count), freeDevices))
                }
            }
            free &+= a?.freeComputeUnits ?? d.computeUnits
            minPrice = Swift.min(minPrice, (a?.pricePerUnitHour ?? d.pricePerUnitHour).microYuan)
            certifications.formUnion(d.certifications)
            greenWeighted &+= UInt64(d.greenEnergyPermille) &* d.computeUnits
        }
        return RegionSummary(
            region: region, origin: origin, version: version, issuedAt: now, validUntil: now + validity,
            nodeCount: UInt32(clamping: nodeCount), poolCount: UInt32(clamping: ids.count), totalComputeUnits: total,
            freeComputeUnits: free,
            accelerators: classes.sorted { $0.key < $1.key }.prefix(RegionSummary.maxAcceleratorClasses).map {
                AcceleratorSummary(kind: $0.kind, validatedVendor: $0.vendor, model: $0.model, total: $0.total, free: $0.free)
            }, minPricePerUnitHour: Price(microYuan: minPrice == .max ? 0 : minPrice),
            certifications: Array(certifications.sorted().prefix(RegionSummary.maxCertifications)),
            greenEnergyPermille: UInt16(total == 0 ? 0 : Swift.min(greenWeighted / total, 1000)))
    }
}
