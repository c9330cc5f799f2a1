/// The nearest of `names` to a misspelt command, option or field name, when one is near enough
/// to be what was meant: the "did you mean" hint of every command line and configuration file.
///
/// Near enough means an edit distance of at most 2, or a third of the name's length for long
/// names; case is ignored. Ties go to the earlier name, so the answer does not depend on anything
/// but the order of `names`.
public func nearestName(to key: String, among names: [String]) -> String? {
    var best: (name: String, distance: Int)?
    for name in names {
        let d = editDistance(key.lowercased(), name.lowercased())
        if best == nil || d < best!.distance { best = (name, d) }
    }
    guard let best, best.distance <= max(2, key.count / 3) else { return nil }
    return best.name
}

/// The Levenshtein distance between two strings, in characters.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
