public import MeshCore
public import MeshWire

/// A node's event stream for consoles: events numbered from 1 in the order they happen, the last
/// `capacity` kept so that a SUBSCRIBE with `fromSequence` replays what a console missed, and the
/// console sessions subscribed, each with its mask of kinds.
public struct EventStream: Sendable {
    public let capacity: Int
    /// The sequence number the next event gets.
    public private(set) var nextSequence: UInt64 = 1
    /// The last `capacity` events, oldest first.
    private var kept: [Event] = []
    private var keptStart = 0
    /// Subscribed sessions and their kind masks, in session order.
    public private(set) var subscribers: [(session: SessionID, kinds: UInt32)] = []

    public init(capacity: Int) {
        precondition(capacity > 0, "an event stream keeps at least one event")
        self.capacity = capacity
    }

    /// Numbers and keeps an event; returns the sessions it goes to.
    public mutating func publish(_ event: Event) -> (Event, [SessionID]) {
        var event = event
        event.sequence = nextSequence
        nextSequence += 1
        kept.append(event)
        if kept.count - keptStart > capacity { keptStart += 1 }
        if keptStart > 1024 && keptStart * 2 > kept.count {
            kept.removeFirst(keptStart)
            keptStart = 0
        }
        let to = subscribers.filter { $0.kinds & event.kind.mask != 0 }.map(\.session)
        return (event, to)
    }

    /// Starts (or replaces) a session's subscription; returns the kept events of its kinds from
    /// `fromSequence` on (none when `fromSequence` is 0).
    public mutating func subscribe(_ session: SessionID, kinds: UInt32, fromSequence: UInt64) -> [Event] {
        unsubscribe(session)
        let index = subscribers.firstIndex { $0.session > session } ?? subscribers.count
        subscribers.insert((session, kinds), at: index)
        guard fromSequence > 0 else { return [] }
        return kept[keptStart...].filter { $0.sequence >= fromSequence && $0.kind.mask & kinds != 0 }
    }

    public mutating func unsubscribe(_ session: SessionID) {
        subscribers.removeAll { $0.session == session }
    }

    /// The oldest sequence still kept (`nextSequence` when none is).
    public var oldestKept: UInt64 { keptStart < kept.count ? kept[keptStart].sequence : nextSequence }
}
