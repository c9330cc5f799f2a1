/// Binary search over anything sorted, addressed by position (arrays of records, arrays of slot
/// numbers that point into another array, parallel key arrays).
public enum Bisection {
    /// The first index in `0..<count` at which `isBefore` is false. `isBefore` MUST hold on a
    /// prefix of the indices and fail on the rest (e.g. "the element at i sorts before the key"),
    /// so the answer is where the key is, or where it would be inserted.
    @inlinable
    public static func partitionPoint(count: Int, isBefore: (Int) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(mid) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
