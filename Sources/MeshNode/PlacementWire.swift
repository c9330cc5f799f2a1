public import MeshCore
public import MeshPlacement
public import MeshWire

/// Maps the placement cores' messages to wire protocol v1 messages and back. Both sides carry the
/// same values (defined once, in MeshCore); this only names the case.
public enum PlacementWire {
    /// The wire message of a placement message.
    public static func wire(_ message: PlacementMessage) -> WireMessage {
        switch message {
        case .quoteRequest(let m): .quoteRequest(m)
        case .quote(let m): .quote(m)
        case .refuse(let m): .refuse(m)
        case .confirm(let m): .confirm(m)
        case .confirmed(let m): .confirmed(m)
        case .release(let m): .release(m)
        case .renew(let m): .renew(m)
        case .leaseState(let m): .leaseStatus(m)
        case .forward(let m): .forward(m)
        case .outcome(let m): .outcome(m)
        }
    }

    /// The placement message of a wire message, or nil for a message outside placement.
    public static func placement(_ message: WireMessage) -> PlacementMessage? {
        switch message {
        case .quoteRequest(let m): .quoteRequest(m)
        case .quote(let m): .quote(m)
        case .refuse(let m): .refuse(m)
        case .confirm(let m): .confirm(m)
        case .confirmed(let m): .confirmed(m)
        case .release(let m): .release(m)
        case .renew(let m): .renew(m)
        case .leaseStatus(let m): .leaseState(m)
        case .forward(let m): .forward(m)
        case .outcome(let m): .outcome(m)
        default: nil
        }
    }
}
