import Foundation
import MeshCore
import Testing

@testable import MeshWire

/// What a decoder made of a vector's bytes.
enum VectorOutcome: Equatable {
    case messages([WireMessage])
    case skipped
    case error(WireError)

    var expectation: VectorFile.Expectation {
        switch self {
        case .messages: .ok
        case .skipped: .skip
        case .error(let e): .error(e.code, offset: e.offset)
        }
    }
}

/// Runs a vector through the decoder the way its `input` says.
func evaluate(_ vector: VectorFile) -> VectorOutcome {
    switch vector.input {
    case .frame:
        do {
            switch try WireMessage.decode(frameBytes: vector.bytes) {
            case .message(let m, _, _): return .messages([m])
            case .skipped: return .skipped
            }
        } catch { return .error(error) }
    case .stream:
        var decoder = FrameDecoder(expectsPreface: true)
        decoder.append(vector.bytes)
        var messages: [WireMessage] = []
        do {
            while let frame = try decoder.next() {
                if case .message(let m, _, _) = try WireMessage.decode(frame) { messages.append(m) }
            }
            try decoder.finish()
        } catch { return .error(error) }
        return .messages(messages)
    case .session:
        return evaluateSession(vector)
    }
}

/// The acceptor's view of a session: decode, gate, admit the HELLO with the vector's role. The
/// outcome is the last refusal, or every delivered message when nothing was refused.
func evaluateSession(_ vector: VectorFile) -> VectorOutcome {
    let role = try! Role(name: vector.meta("role") ?? "regional")
    var configuration = ConnectionGate.Configuration()
    for setting in (vector.meta("gate") ?? "").split(separator: " ") {
        let parts = setting.split(separator: "=")
        switch parts[0] {
        case "max-in-flight": configuration.maxInFlight = Int(parts[1])!
        case "error-budget": configuration.errorBudget = Int(parts[1])!
        default: fatalError("unknown gate setting \(setting)")
        }
    }
    var gate = ConnectionGate(configuration: configuration)
    var decoder = FrameDecoder(expectsPreface: true)
    decoder.append(vector.bytes)
    let now = MeshInstant(milliseconds: 1000)
    var delivered: [WireMessage] = []
    var lastRefusal: WireError? = nil
    while true {
        let frame: Frame
        do {
            guard let next = try decoder.next() else { break }
            frame = next
        } catch { return .error(error) }
        let verdict: ConnectionGate.Verdict
        do {
            verdict = gate.onFrame(try WireMessage.decode(frame), at: now)
        } catch {
            verdict = gate.onDecodeError(error, correlationID: frame.header.correlationID, at: now)
        }
        switch verdict {
        case .deliver(let message, _):
            delivered.append(message)
            if case .hello = message { gate.admit(role: role) }
        case .skip: break
        case .refuse(let error, _, let close):
            lastRefusal = error
            if close { return .error(error) }
        }
    }
    do { try decoder.finish() } catch { return .error(error) }
    if let lastRefusal { return .error(lastRefusal) }
    return .messages(delivered)
}

/// The vectors as the fixtures and hand-built invalid cases define them.
func generatedVectors() -> [VectorFile] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    var out: [VectorFile] = []
    for c in Fixtures.cases {
        let payload = Mirror(reflecting: c.message).children.first!.value as! any Encodable
        let json = String(decoding: try! encoder.encode(payload), as: UTF8.self)
        var notes = [
            "type: \(c.message.type.name!) (\(c.message.type)), correlation ID \(c.correlationID), flags 0x\(String(c.flags.rawValue, radix: 16))",
            "value (informative JSON of the message body's fields):",
        ]
        notes += json.split(separator: "\n").map { "  " + $0 }
        out.append(VectorFile(name: c.name, input: .frame, expect: .ok, notes: notes, bytes: Fixtures.frame(c)))
    }
    return out + InvalidVectors.vectors()
}

@Suite("Golden vectors")
struct GoldenVectorTests {
    /// `MESH_WRITE_VECTORS=1 swift test --filter GoldenVectorTests` rewrites the files after a
    /// deliberate wire change (which must also change Protocols/SPEC.md).
    @Test func writeVectorsWhenAsked() throws {
        guard ProcessInfo.processInfo.environment["MESH_WRITE_VECTORS"] == "1" else { return }
        let directory = VectorFile.directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for vector in generatedVectors() {
            let outcome = evaluate(vector)
            #expect(outcome.expectation == vector.expect, "vector \(vector.name): \(outcome)")
            try vector.rendered.write(
                to: directory.appendingPathComponent(vector.name + ".hex"), atomically: true, encoding: .utf8)
        }
    }

    @Test func filesOnDiskAreExactlyTheGeneratedVectors() throws {
        let onDisk = try VectorFile.loadAll().sorted { $0.name < $1.name }
        let generated = generatedVectors().sorted { $0.name < $1.name }
        #expect(onDisk.map(\.name) == generated.map(\.name))
        for made in generated {
            let disk = onDisk.first { $0.name == made.name }
            #expect(
                disk == made,
                "vector \(made.name) on disk differs from its fixture; a wire change must update SPEC.md and the vectors")
        }
    }

    @Test func everyVectorDecodesAsItsExpectationSays() throws {
        for vector in try VectorFile.loadAll() {
            let outcome = evaluate(vector)
            #expect(outcome.expectation == vector.expect, "vector \(vector.name): got \(outcome)")
        }
    }

    @Test func everyValidFrameVectorDecodesToItsValueAndEncodesBackToTheSameBytes() throws {
        let vectors = try VectorFile.loadAll()
        for c in Fixtures.cases {
            let vector = try #require(vectors.first { $0.name == c.name }, "no vector for fixture \(c.name)")
            let decoded = try WireMessage.decode(frameBytes: vector.bytes)
            #expect(decoded == .message(c.message, correlationID: c.correlationID, flags: c.flags), "vector \(c.name)")
            #expect(try FrameEncoder.frame(c.message, correlationID: c.correlationID, flags: c.flags) == vector.bytes)
        }
        // Vectors whose bytes are not canonical (an unknown tag) re-encode to their canonical twin.
        for vector in vectors {
            guard let twinName = vector.meta("canonical") else { continue }
            let twin = try #require(vectors.first { $0.name == twinName })
            guard case .message(let m, let corr, let flags) = try WireMessage.decode(frameBytes: vector.bytes) else {
                Issue.record("\(vector.name) did not decode")
                continue
            }
            #expect(try FrameEncoder.frame(m, correlationID: corr, flags: flags) == twin.bytes)
        }
    }

    @Test func everyMessageTypeHasAValidVector() throws {
        let covered = Set(Fixtures.cases.map(\.message.type))
        for (type, name) in WireMessage.registry {
            #expect(covered.contains(type), "message \(name) (\(type)) has no golden vector")
        }
    }

    @Test func everyErrorCodeAnInputCanCauseHasAnInvalidVector() throws {
        let vectors = try VectorFile.loadAll()
        var covered = Set<WireErrorCode>()
        for vector in vectors { if case .error(let code, _) = vector.expect { covered.insert(code) } }
        // internal-error reports the receiver's own failure, and request refusals (128–191) its
        // judgement of a request on its merits (SPEC §7.3): no input alone can be made to cause them.
        for code in WireErrorCode.allCases where code != .internalError && !code.isRequestRefusal {
            #expect(covered.contains(code), "error code \(code) has no invalid vector")
        }
    }
}
