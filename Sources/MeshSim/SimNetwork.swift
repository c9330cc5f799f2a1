public import MeshCore

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

    public init(
        lossPermille: UInt64 = 0, duplicatePermille: UInt64 = 0, minDelayMilliseconds: UInt64 = 1,
        maxDelayMilliseconds: UInt64 = 10, tailPermille: UInt64 = 0, tailDelayMilliseconds: UInt64 = 0,
        slowNodeDelayMilliseconds: UInt64 = 0
    ) {
        precondition(minDelayMilliseconds <= maxDelayMilliseconds, "delay range is empty")
        self.lossPermille = lossPermille
        self.duplicatePermille = duplicatePermille
        self.minDelayMilliseconds = minDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
        self.tailPermille = tailPermille
        self.tailDelayMilliseconds = tailDelayMilliseconds
        self.slowNodeDelayMilliseconds = slowNodeDelayMilliseconds
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

enum SimEvent {
    case deliver(from: Int32, to: Int32, frame: [UInt8])
    case tick(node: Int32)
}
