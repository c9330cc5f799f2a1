/// Which requests a pool accepts: a small boolean expression over sector, tenant and region
/// (two-sided matching in the manner of HTCondor: the pool's owner states its terms, the
/// requester states its constraints, and a match needs both).
///
/// Expressions nest; ``maxDepth`` bounds them so that evaluating or decoding one is bounded.
public indirect enum PolicyExpr: Hashable, Sendable, Codable {
    /// Accepts every request.
    case acceptAll
    /// Refuses every request (a drained pool).
    case refuseAll
    /// Accepts requests whose sector is listed.
    case sectorIn([Sector])
    /// Accepts requests whose tenant is listed.
    case tenantIn([TenantID])
    /// Accepts requests whose origin region is listed.
    case regionIn([Region])
    /// Negation.
    case not(PolicyExpr)
    /// Conjunction; empty is true.
    case all([PolicyExpr])
    /// Disjunction; empty is false.
    case any([PolicyExpr])

    /// The deepest nesting allowed; a leaf has depth 1.
    public static let maxDepth = 8
    /// The most operands of one `all`/`any`, and the most names in one list.
    public static let maxListCount = 64

    /// The depth of this expression (a leaf is 1).
    public var depth: Int {
        switch self {
        case .acceptAll, .refuseAll, .sectorIn, .tenantIn, .regionIn: 1
        case .not(let inner): 1 + inner.depth
        case .all(let items), .any(let items): 1 + (items.map(\.depth).max() ?? 0)
        }
    }

    /// Evaluates the expression for a request.
    public func accepts(sector: Sector, tenant: TenantID, region: Region) -> Bool {
        switch self {
        case .acceptAll: true
        case .refuseAll: false
        case .sectorIn(let sectors): sectors.contains(sector)
        case .tenantIn(let tenants): tenants.contains(tenant)
        case .regionIn(let regions): regions.contains(region)
        case .not(let inner): !inner.accepts(sector: sector, tenant: tenant, region: region)
        case .all(let items): items.allSatisfy { $0.accepts(sector: sector, tenant: tenant, region: region) }
        case .any(let items): items.contains { $0.accepts(sector: sector, tenant: tenant, region: region) }
        }
    }
}
