public import Foundation
import MeshCore

/// What a JSON document an operator wrote must look like: every field's name and type.
///
/// Operators' files are checked against their shape before they are decoded, because Foundation's
/// decoder forgives what an operator needs to hear about: it ignores unknown keys (a misspelt
/// `"seed"` gave an isolated node) and reports a negative count as "not valid JSON" without a field.
public indirect enum JSONShape: Sendable {
    case string
    case bool
    /// A whole number from 0 to `max`.
    case whole(max: UInt64)
    /// Any finite number.
    case number
    case array(JSONShape)
    /// An object whose keys are all among these, in the order they are documented.
    case object([(String, JSONShape)])
}

/// Checks operators' JSON files: syntax errors with line and column, unknown fields with the
/// nearest known name, and numbers out of their range, each naming the file and the field.
public enum StrictJSON {
    /// Every problem in `data` measured against `shape` (an object's fields by name); empty when clean.
    /// `file` names the file in each message.
    public static func problems(in data: Data, shape: JSONShape, file: String) -> [String] {
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            return [syntaxError(error, in: data, file: file)]
        }
        var found: [String] = []
        walk(value, shape: shape, at: "", file: file, into: &found)
        return found
    }

    /// Throws the first problem of ``problems(in:shape:file:)``, with a count of the others.
    public static func check(_ data: Data, shape: JSONShape, file: String) throws(ConfigurationError) {
        let found = problems(in: data, shape: shape, file: file)
        guard let first = found.first else { return }
        let more = found.count > 1 ? " (and \(found.count - 1) more problem\(found.count > 2 ? "s" : ""))" : ""
        throw ConfigurationError(first + more)
    }

    static func syntaxError(_ error: any Error, in data: Data, file: String) -> String {
        let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
        // Foundation says "... around character N." (a 0-based byte offset).
        guard let range = detail.range(of: #"character \d+"#, options: .regularExpression),
            let offset = Int(detail[range].dropFirst("character ".count))
        else {
            return "\(file): not JSON: \(detail)"
        }
        var line = 1
        var column = 1
        for byte in data.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        let reason = detail.replacingOccurrences(of: #" around character \d+\.?"#, with: "", options: .regularExpression)
        return "\(file):\(line):\(column): not JSON: \(reason.lowercased()) at line \(line), column \(column)"
    }

    static func walk(_ value: Any, shape: JSONShape, at path: String, file: String, into found: inout [String]) {
        let field = path.isEmpty ? "the document" : "field '\(path)'"
        switch shape {
        case .string:
            if !(value is String) { found.append("\(file): \(field) must be a string, not \(describe(value))") }
        case .bool:
            if kind(of: value) != "c" { found.append("\(file): \(field) must be true or false, not \(describe(value))") }
        case .whole(let max):
            guard let number = value as? NSNumber, kind(of: value) != "c" else {
                found.append("\(file): \(field) must be a whole number, not \(describe(value))")
                return
            }
            if !isWhole(number, max: max) {
                found.append(
                    "\(file): \(field) is \(number.stringValue), not a whole number from 0 to \(grouped(max))")
            }
        case .number:
            guard let number = value as? NSNumber, kind(of: value) != "c", number.doubleValue.isFinite else {
                found.append("\(file): \(field) must be a number, not \(describe(value))")
                return
            }
        case .array(let element):
            guard let array = value as? [Any] else {
                found.append("\(file): \(field) must be a list [...], not \(describe(value))")
                return
            }
            for (i, item) in array.enumerated() { walk(item, shape: element, at: "\(path)[\(i)]", file: file, into: &found) }
        case .object(let fields):
            guard let object = value as? [String: Any] else {
                found.append("\(file): \(field) must be an object {...}, not \(describe(value))")
                return
            }
            for key in object.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let known = fields.first(where: { $0.0 == key }) else {
                    found.append("\(file): unknown field '\(child)'\(suggestion(for: key, among: fields.map(\.0)))")
                    continue
                }
                if object[key] is NSNull { continue }  // an optional field left out
                walk(object[key]!, shape: known.1, at: child, file: file, into: &found)
            }
        }
    }

    /// "; did you mean 'seeds'?" for the nearest known name, else the list of known names.
    static func suggestion(for key: String, among names: [String]) -> String {
        if let best = nearestName(to: key, among: names) { return "; did you mean '\(best)'?" }
        return "; known fields here: " + names.joined(separator: ", ")
    }

    /// Foundation's type code of a parsed number ("c" for true and false).
    static func kind(of value: Any) -> String {
        guard let number = value as? NSNumber else { return "" }
        return String(cString: number.objCType)
    }

    static func isWhole(_ number: NSNumber, max: UInt64) -> Bool {
        switch kind(of: number) {
        case "Q": return number.uint64Value <= max
        case "d", "f":
            let d = number.doubleValue
            return d.isFinite && d >= 0 && d.rounded() == d && d <= Double(max)
        default: return number.int64Value >= 0 && UInt64(number.int64Value) <= max
        }
    }

    static func describe(_ value: Any) -> String {
        switch value {
        case is String: return "a string"
        case is NSNull: return "null"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        default:
            if kind(of: value) == "c" { return (value as? Bool) == true ? "true" : "false" }
            return (value as? NSNumber)?.stringValue ?? "\(value)"
        }
    }

    static func grouped(_ n: UInt64) -> String {
        var digits = Array(String(n))
        var i = digits.count - 3
        while i > 0 {
            digits.insert(",", at: i)
            i -= 3
        }
        return String(digits)
    }
}
