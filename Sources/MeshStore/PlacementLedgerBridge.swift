public import MeshCore
public import MeshPlacement

/// Maps the owner ledger's changes to the store's entries and the store's state back to a
/// snapshot the ledger restores from.
public enum PlacementLedgerBridge {
    /// The store entry of a ledger change; `version` gives a registered pool's inventory version.
    public static func entry(
        _ change: LedgerChange, version: (ComputeID) -> (epoch: UInt64, sequence: UInt64) = { _ in (0, 0) }
    )
        -> LedgerEntry
    {
        switch change {
        case .poolRegistered(let d):
            let v = version(d.id)
            return .poolRegistered(StoredPool(descriptor: d, epoch: v.epoch, sequence: v.sequence))
        case .holdPlaced(let h):
            return .holdPlaced(h)
        case .holdReleased(let id): return .holdReleased(id)
        case .holdExpired(let id): return .holdExpired(id)
        case .leaseStarted(let a):
            return .leaseStarted(a)
        case .leaseRenewed(let id, let at): return .leaseRenewed(id, expiresAt: at)
        case .leaseReleased(let id): return .leaseReleased(id)
        case .leaseExpired(let id): return .leaseExpired(id)
        }
    }

    /// The snapshot an owner ledger restores from, from what the store holds.
    public static func snapshot(_ state: LedgerState) -> OwnerLedgerSnapshot {
        OwnerLedgerSnapshot(
            pools: state.pools.map(\.descriptor),
            holds: state.holds,
            leases: state.leases, ledgerVersion: state.ledgerVersion)
    }
}
