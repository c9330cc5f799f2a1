import Foundation
import MeshCore
import MeshWire

/// Reads and writes the golden vector files of `Protocols/vectors` (format: `Protocols/SPEC.md`,
/// "Golden vectors").
struct VectorFile: Equatable {
    enum Input: String { case frame, stream, session }
    enum Expectation: Equatable {
        case ok
        case skip
        case error(WireErrorCode, offset: Int)
    }

    var name: String
    var input: Input
    var expect: Expectation
    /// Extra metadata lines (`key: value`), in order.
    var metadata: [(String, String)] = []
    /// Informative comment lines (description, JSON value).
    var notes: [String] = []
    var bytes: [UInt8]

    static func == (lhs: VectorFile, rhs: VectorFile) -> Bool {
        lhs.name == rhs.name && lhs.input == rhs.input && lhs.expect == rhs.expect && lhs.bytes == rhs.bytes
            && lhs.metadata.map { "\($0.0)=\($0.1)" } == rhs.metadata.map { "\($0.0)=\($0.1)" }
    }

    func meta(_ key: String) -> String? { metadata.first { $0.0 == key }?.1 }

    /// The vectors folder, found from this source file's path.
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocols/vectors")
    }

    var rendered: String {
        var lines = ["# ComputeMesh wire protocol v1 golden vector", "# case: \(name)", "# input: \(input.rawValue)"]
        switch expect {
        case .ok: lines.append("# expect: ok")
        case .skip: lines.append("# expect: skip")
        case .error(let code, let offset): lines.append("# expect: error \(code) \(offset)")
        }
        for (key, value) in metadata { lines.append("# \(key): \(value)") }
        for note in notes { lines.append(note.isEmpty ? "#" : "# " + note) }
        var row: [String] = []
        for byte in bytes {
            row.append(Hex.encode([byte]))
            if row.count == 16 {
                lines.append(row.joined(separator: " "))
                row = []
            }
        }
        if !row.isEmpty { lines.append(row.joined(separator: " ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    struct ParseError: Error, CustomStringConvertible {
        var file: String
        var reason: String
        var description: String { "\(file): \(reason)" }
    }

    static func parse(_ text: String, file: String) throws -> VectorFile {
        var name: String?
        var input: Input?
        var expect: Expectation?
        var metadata: [(String, String)] = []
        var hex = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
                guard let colon = body.firstIndex(of: ":") else { continue }
                let key = String(body[..<colon])
                let value = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch key {
                case "case": name = value
                case "input":
                    guard let parsed = Input(rawValue: value) else {
                        throw ParseError(file: file, reason: "unknown input \(value)")
                    }
                    input = parsed
                case "expect":
                    let words = value.split(separator: " ").map(String.init)
                    switch words.first {
                    case "ok": expect = .ok
                    case "skip": expect = .skip
                    case "error":
                        guard words.count == 3, let code = WireErrorCode(name: words[1]), let offset = Int(words[2]) else {
                            throw ParseError(file: file, reason: "expect error needs <error-name> <offset>, got \(value)")
                        }
                        expect = .error(code, offset: offset)
                    default: throw ParseError(file: file, reason: "unknown expectation \(value)")
                    }
                case "canonical", "role", "gate": metadata.append((key, value))
                default: continue
                }
            } else {
                hex += line + " "
            }
        }
        guard let name, let input, let expect else { throw ParseError(file: file, reason: "missing case, input or expect") }
        guard let bytes = Hex.decode(hex) else { throw ParseError(file: file, reason: "hex lines are not byte pairs") }
        return VectorFile(name: name, input: input, expect: expect, metadata: metadata, bytes: bytes)
    }

    static func loadAll() throws -> [VectorFile] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".hex") }.sorted()
        return try names.map { file in
            try parse(String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8), file: file)
        }
    }
}
