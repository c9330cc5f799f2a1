public import MeshCore

/// The explanations of recent decisions, kept for the console's "why" (by request) and "why not"
/// (a pool's verdict in a request's decision). Bounded: the oldest explanation is forgotten first.
public struct ExplanationLog: Sendable {
    public let capacity: Int
    private var byRequest: [RequestID: Explanation] = [:]
    private var order: [RequestID] = []
    private var orderStart = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "an explanation log needs room for one explanation")
        self.capacity = capacity
    }

    public var count: Int { byRequest.count }

    /// Records (or replaces) the explanation of a request.
    public mutating func record(_ explanation: Explanation) {
        precondition(explanation.obeysSumRule, "explanation of \(explanation.requestID) breaks the sum rule: \(explanation)")
        if byRequest.updateValue(explanation, forKey: explanation.requestID) == nil { order.append(explanation.requestID) }
        while byRequest.count > capacity {
            let oldest = order[orderStart]
            orderStart += 1
            byRequest[oldest] = nil
        }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// "Why": the explanation of a request's decision.
    public func why(_ requestID: RequestID) -> Explanation? { byRequest[requestID] }

    /// "Why not this pool": the pool's verdict in the request's decision, or nil when the pool was
    /// not among the candidates (or its verdict was cut from a long explanation).
    public func whyNot(_ requestID: RequestID, pool: ComputeID) -> CandidateVerdict? {
        byRequest[requestID]?.verdicts.first { $0.pool == pool }
    }
}

/// Requests this node was asked to quote for but did not decide, and the node that asked (which
/// decided them and keeps their explanations): what lets WHY at an owner name the node to ask.
/// Bounded: the oldest is forgotten first.
public struct Referrals: Sendable {
    public let capacity: Int
    private var byRequest: [RequestID: NodeID] = [:]
    private var order: [RequestID] = []
    private var orderStart = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "referrals need room for one request")
        self.capacity = capacity
    }

    public var count: Int { byRequest.count }

    /// Notes that `requester` asked this node about `requestID` (the first asker is kept).
    public mutating func note(_ requestID: RequestID, askedBy requester: NodeID) {
        guard byRequest[requestID] == nil else { return }
        byRequest[requestID] = requester
        order.append(requestID)
        while byRequest.count > capacity {
            byRequest[order[orderStart]] = nil
            orderStart += 1
        }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// The node that asked about `requestID`, if it is still remembered.
    public func requester(of requestID: RequestID) -> NodeID? { byRequest[requestID] }
}
