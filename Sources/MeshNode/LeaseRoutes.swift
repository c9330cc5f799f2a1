public import MeshCore

/// The routes of the leases this node reported to its tenants, and the console requests about
/// leases waiting for their owner's answer.
///
/// RENEW, RELEASE and LEASE_STATE about a lease reached through other nodes carry their route
/// (SPEC §6.6.13), so the nodes on it keep nothing. A console that does not send a route gets the
/// one this node learned when it reported the lease; the node then waits for the owner's answer on
/// the console's behalf. Bounded: the oldest route is forgotten first, and routes end with their
/// lease.
public struct LeaseRoutes: Sendable {
    public let capacity: Int

    struct Route: Sendable {
        var route: LeaseRoute
        var until: MeshInstant
    }

    struct Wait: Sendable {
        var lease: LeaseID
        var session: SessionID
        var correlationID: UInt64
        var until: MeshInstant
    }

    private var routes: [LeaseID: Route] = [:]
    /// Leases in the order their routes were made (for eviction); stale entries are skipped.
    private var order: [LeaseID] = []
    private var orderStart = 0
    /// Console requests waiting for the owner's answer, oldest first.
    private var waits: [Wait] = []

    public init(capacity: Int) {
        precondition(capacity > 0, "a route table needs room for one route")
        self.capacity = capacity
    }

    public var count: Int { routes.count }
    public var waitingCount: Int { waits.count }

    /// Remembers a lease's route until the lease expires.
    public mutating func record(_ lease: Lease, route: LeaseRoute) {
        if routes.updateValue(Route(route: route, until: lease.expiresAt), forKey: lease.leaseID) == nil {
            order.append(lease.leaseID)
        }
        while routes.count > capacity && orderStart < order.count {
            routes[order[orderStart]] = nil
            orderStart += 1
        }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// A lease's route, while the lease lives.
    public func route(for lease: LeaseID, now: MeshInstant) -> LeaseRoute? {
        guard let route = routes[lease], now < route.until else { return nil }
        return route.route
    }

    /// A lease's expiry moved (a renewal answered) or it ended (`until` in the past).
    public mutating func update(_ lease: LeaseID, until: MeshInstant) {
        routes[lease]?.until = until
    }

    /// A console request about `lease` waits for the owner's answer until `until`.
    public mutating func wait(for lease: LeaseID, session: SessionID, correlationID: UInt64, until: MeshInstant) {
        waits.append(Wait(lease: lease, session: session, correlationID: correlationID, until: until))
    }

    /// The console requests answered by an answer about `lease`.
    public mutating func answered(_ lease: LeaseID) -> [(SessionID, UInt64)] {
        let answered = waits.filter { $0.lease == lease }.map { ($0.session, $0.correlationID) }
        if !answered.isEmpty { waits.removeAll { $0.lease == lease } }
        return answered
    }

    /// Waits past their time, which the caller answers itself.
    public mutating func expire(now: MeshInstant) -> [(LeaseID, SessionID, UInt64)] {
        let late = waits.filter { $0.until <= now }
        if !late.isEmpty { waits.removeAll { $0.until <= now } }
        return late.map { ($0.lease, $0.session, $0.correlationID) }
    }

    /// Forgets the waits of a console session that closed.
    public mutating func forget(_ session: SessionID) {
        waits.removeAll { $0.session == session }
    }

    /// The earliest instant a wait times out.
    public var nextTimeout: MeshInstant? { waits.map(\.until).min() }
}
