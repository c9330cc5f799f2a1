/// The only source of randomness a core may use: xoshiro256** seeded through SplitMix64.
///
/// One seed reproduces a run. The bounded draw (``next(below:)``) and the shuffle are our own
/// rather than the standard library's `random(in:using:)` and `shuffled(using:)`, whose algorithms
/// may change between toolchains and would silently change every simulated run.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Creates a generator whose whole sequence is determined by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitmix(_ state: inout UInt64) -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&sm)
        s1 = splitmix(&sm)
        s2 = splitmix(&sm)
        s3 = splitmix(&sm)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform draw in `0..<bound` without modulo bias (Lemire's multiply-and-reject).
    ///
    /// - Precondition: `bound > 0`.
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "next(below:) needs a positive bound")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// A uniform draw in `range`.
    public mutating func next(in range: ClosedRange<UInt64>) -> UInt64 {
        let width = range.upperBound - range.lowerBound
        if width == .max { return next() }
        return range.lowerBound + next(below: width + 1)
    }

    /// A uniform index into a collection of `count` elements.
    public mutating func index(below count: Int) -> Int {
        precondition(count > 0, "index(below:) needs a positive count")
        return Int(next(below: UInt64(count)))
    }

    /// `true` with probability `permille / 1000`.
    public mutating func chance(permille: UInt64) -> Bool { next(below: 1000) < permille }

    /// A uniform double in `[0, 1)` with 53 bits of precision.
    public mutating func unitInterval() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Shuffles `array` in place (Fisher–Yates, with ``next(below:)``).
    public mutating func shuffle<T>(_ array: inout [T]) {
        var i = array.count
        while i > 1 {
            let j = Int(next(below: UInt64(i)))
            i -= 1
            array.swapAt(i, j)
        }
    }

    /// A shuffled copy of `array`.
    public mutating func shuffled<T>(_ array: [T]) -> [T] {
        var copy = array
        shuffle(&copy)
        return copy
    }

    /// Derives an independent generator, e.g. one per simulated node, from this one.
    public mutating func fork() -> SeededRandom { SeededRandom(seed: next()) }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
