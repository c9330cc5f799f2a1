public import MeshCore
public import MeshNode

/// How the simulated network misbehaves. All draws come from the simulator's seeded generator.
public struct SimNetworkConfig: Hashable, Sendable {
    /// Probability that a frame is lost, per mille.
    public var lossPermille: UInt64
    /// Probability that a frame is delivered twice, per mille.
    public var duplicatePermille: UInt64
    /// One-way delay: uniform in `minDelayMilliseconds...maxDelayMilliseconds`...
    public var minDelayMilliseconds: UInt64
    public var maxDelayMilliseconds: UInt64
    /// ...plus, with this probability (per mille), a tail delay up to ``tailDelayMilliseconds``,
    /// which also reorders frames.
    public var tailPermille: UInt64
    public var tailDelayMilliseconds: UInt64
    /// Slow nodes handle every frame and timer this much later, at most (uniform).
    public var slowNodeDelayMilliseconds: UInt64
    /// Whether senders learn what a connection-oriented transport tells them: a frame to a crashed
    /// node is refused (the sender hears `unreachable` after a round trip), a frame across a
    /// partition times out (after ``connectTimeoutMilliseconds``), and a crash closes the links of
    /// the nodes that talked to it lately. Off, the network is a plain datagram network.
    public var signalsConnections: Bool
    public var connectTimeoutMilliseconds: UInt64

    public init(
        lossPermille: UInt64 = 0, duplicatePermille: UInt64 = 0, minDelayMilliseconds: UInt64 = 1,
        maxDelayMilliseconds: UInt64 = 10, tailPermille: UInt64 = 0, tailDelayMilliseconds: UInt64 = 0,
        slowNodeDelayMilliseconds: UInt64 = 0, signalsConnections: Bool = false, connectTimeoutMilliseconds: UInt64 = 5_000
    ) {
        precondition(minDelayMilliseconds <= maxDelayMilliseconds, "delay range is empty")
        self.lossPermille = lossPermille
        self.duplicatePermille = duplicatePermille
        self.minDelayMilliseconds = minDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
        self.tailPermille = tailPermille
        self.tailDelayMilliseconds = tailDelayMilliseconds
        self.slowNodeDelayMilliseconds = slowNodeDelayMilliseconds
        self.signalsConnections = signalsConnections
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
    }

    /// A LAN: 1-10 ms, nothing lost.
    public static let lan = SimNetworkConfig()
}

/// Which groups of nodes cannot reach which: `blocked[a][b]` cuts frames from group a to group b.
/// Symmetric partitions block both directions, one-way partitions one.
public struct SimPartition: Hashable, Sendable {
    /// Each node's group.
    public var groupOf: [UInt8]
    /// `blocked[from][to]`.
    public var blocked: [[Bool]]

    /// Everyone reaches everyone.
    public static func none(nodes: Int) -> SimPartition {
        SimPartition(groupOf: Array(repeating: 0, count: nodes), blocked: [[false]])
    }

    /// Nodes `0..<split` and `split..<nodes` cannot reach each other (or only `oneWay`: the first
    /// group cannot reach the second, while the second still reaches the first).
    public static func split(nodes: Int, at split: Int, oneWay: Bool = false) -> SimPartition {
        SimPartition(
            groupOf: (0..<nodes).map { $0 < split ? 0 : 1 },
            blocked: [[false, true], [!oneWay, false]])
    }

    func cuts(from: Int, to: Int) -> Bool { blocked[Int(groupOf[from])][Int(groupOf[to])] }
}

/// A min-heap of timed events, ordered by time then insertion.
struct EventQueue {
    struct Entry {
        var time: UInt64
        var order: UInt64
        var event: SimEvent
    }
    private var heap: [Entry] = []
    private var counter: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextTime: UInt64? { heap.first?.time }

    mutating func push(_ time: UInt64, _ event: SimEvent) {
        counter += 1
        heap.append(Entry(time: time, order: counter, event: event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if less(heap[child], heap[parent]) {
                heap.swapAt(child, parent)
                child = parent
            } else {
                break
            }
        }
    }

    mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, less(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    private func less(_ a: Entry, _ b: Entry) -> Bool { a.time != b.time ? a.time < b.time : a.order < b.order }
}

/// How the simulated disks behave. All draws come from the simulator's seeded generator.
public struct SimStorageConfig: Hashable, Sendable {
    /// How long one commit (a group of batches) takes: uniform in this range; zero commits at
    /// once (in the next event at the same instant).
    public var minCommitMilliseconds: UInt64
    public var maxCommitMilliseconds: UInt64
    /// Probability that a commit fails (the node halts, as meshd does with exit 3), per mille.
    public var failPermille: UInt64
    /// Probability that a node crashes right after a commit became durable and before the
    /// answers that waited for it leave, per mille.
    public var crashAfterCommitPermille: UInt64
    /// A halted node is restarted this long after (as systemd's Restart=on-failure would).
    public var restartAfterHaltMilliseconds: UInt64

    public init(
        minCommitMilliseconds: UInt64 = 0, maxCommitMilliseconds: UInt64 = 0, failPermille: UInt64 = 0,
        crashAfterCommitPermille: UInt64 = 0, restartAfterHaltMilliseconds: UInt64 = 2_000
    ) {
        precondition(minCommitMilliseconds <= maxCommitMilliseconds, "commit time range is empty")
        self.minCommitMilliseconds = minCommitMilliseconds
        self.maxCommitMilliseconds = maxCommitMilliseconds
        self.failPermille = failPermille
        self.crashAfterCommitPermille = crashAfterCommitPermille
        self.restartAfterHaltMilliseconds = restartAfterHaltMilliseconds
    }

    /// Commits that are durable at once and never fail.
    public static let instant = SimStorageConfig()
}

enum SimEvent {
    case deliver(from: Int32, to: Int32, frame: [UInt8])
    case tick(node: Int32)
    /// An input for a node's current run (`generation`); dropped if the node crashed since.
    case input(node: Int32, generation: UInt32, NodeInput)
    /// The commit a node started is done (or failed).
    case commitDone(node: Int32, generation: UInt32)
    /// The coalesced "unreachable" report for frames `from` sent to an unreachable `to`.
    case unreachable(from: Int32, to: Int32, generation: UInt32)
    case restart(node: Int32)
}
