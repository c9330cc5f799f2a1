public import MeshCore

/// Every placement message a node's placement cores send or receive, addressed by node. The cases
/// carry the wire's own message values (defined once, in MeshCore), so a shell hands them to the
/// codec as they are.
public enum PlacementMessage: Hashable, Sendable {
    case quoteRequest(QuoteRequest)
    case quote(Quote)
    case refuse(Refuse)
    case confirm(Confirm)
    case confirmed(Confirmed)
    case release(Release)
    case renew(Renew)
    case leaseState(LeaseStatus)
    case forward(Forward)
    case outcome(Outcome)
}
