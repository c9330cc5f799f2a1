import Glibc

/// The node's one queue of inputs: the transport's events, dial failures, store completions,
/// signals and loopback messages all wait here for the node's loop thread, which takes them in
/// arrival order. Bounded: past ``capacity`` waiting items, frames from peers are dropped (the
/// protocols above tolerate loss; every wait has a timeout) and counted, while everything else
/// (link changes, completions, stops) still enters, since each is bounded by its own cause.
///
/// Waiting uses the monotonic clock, so a wall-clock step never stalls or hurries the loop.
final class NodeMailbox<Item: Sendable>: @unchecked Sendable {
    let capacity: Int
    private var items: [Item] = []
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var closed = false
    /// Frames dropped because the queue was full.
    private(set) var dropped = 0
    /// The most items that waited at once.
    private(set) var highWater = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a mailbox holds at least one item")
        self.capacity = capacity
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Adds an item; `droppable` items are refused when the queue is full. False when refused or
    /// the mailbox is closed.
    @discardableResult
    func post(_ item: Item, droppable: Bool = false) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if closed { return false }
        if droppable && items.count >= capacity {
            dropped += 1
            return false
        }
        items.append(item)
        highWater = max(highWater, items.count)
        pthread_cond_signal(&condition)
        return true
    }

    /// Adds several items at once (one wake-up); droppable ones past the capacity are refused.
    func post(_ batch: [Item], droppable: (Item) -> Bool) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if closed { return }
        for item in batch {
            if items.count >= capacity && droppable(item) {
                dropped += 1
                continue
            }
            items.append(item)
        }
        highWater = max(highWater, items.count)
        pthread_cond_signal(&condition)
    }

    /// Takes every waiting item, waiting until one arrives or the monotonic clock reaches
    /// `deadline` (nanoseconds since boot; nil waits without limit). Empty on time-out.
    func take(until deadline: UInt64?) -> [Item] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while items.isEmpty && !closed {
            if let deadline {
                if Monotonic.nanoseconds() >= deadline { break }
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                _ = pthread_cond_timedwait(&condition, &mutex, &ts)
            } else {
                pthread_cond_wait(&condition, &mutex)
            }
        }
        let taken = items
        items.removeAll(keepingCapacity: true)
        return taken
    }

    /// Refuses further items and wakes the taker; what is queued can still be taken.
    func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    var depth: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return items.count
    }
}

/// The monotonic clock, for timers and waits.
package enum Monotonic {
    package static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
