import Foundation
import MeshCommandLine
import MeshCore
import MeshWire

/// `mesh-bench wire`: the binary wire codec against Foundation's JSONEncoder/JSONDecoder on the
/// same values, in the same run.
struct WireCommand: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire", abstract: "binary wire codec vs Foundation JSON on a DELTA and a PLACE (ratios)",
        discussion: details)
    static let details = """
        Encodes and decodes two representative messages, a gossip DELTA of \(WireSamples.deltaRecordCount) full pool
        descriptors and a PLACE request, with the binary codec (FrameEncoder, WireMessage.decode) and
        with Foundation's JSONEncoder/JSONDecoder on the same values, interleaving the operations round
        by round. Reports messages/s (median of rounds), bytes per message and the binary/JSON ratios.
        Decoded values are checked against the originals; a codec that does not round-trip fails the
        run (exit 1).

        Acceptance (DELTA, same run): binary decode >= \(Int(Acceptance.decodeRatio))x JSONDecoder, binary encode >= \(Int(Acceptance.encodeRatio))x JSONEncoder.
        A missed target exits 1.

        --guard (CI): \(guardSecondsPerMessage) s per message timed in thread CPU time (not wall time: CI shares the cores);
        judges the four binary/JSON ratios (median of the per-round ratios) against their baselines divided by
        \(Verdict.figure(Guard.tolerance)); a two-fold regression of either codec on either message fails.
        """
    @OptionGroup var output: JSONOutput
    @Option(
        help: "measuring time per message, in seconds (default \(Int(defaultSecondsPerMessage)))", valueName: "S",
        range: 0.1...600)
    var seconds: Double?
    @Flag(help: "about one second in all, for smoke checks") var quick = false
    @Flag(
        name: "guard",
        help: "about four seconds; fails when a ratio falls below its baseline / \(Verdict.figure(Guard.tolerance)) (CI)")
    var isGuardRun = false

    static let defaultSecondsPerMessage = 6.0
    static let quickSecondsPerMessage = 0.4
    static let guardSecondsPerMessage = 1.5

    /// The guard's figures, in the order ``WireBenchmark`` judges them: binary over JSON, the
    /// median of the per-round ratios. Measured with `mesh-bench wire --guard` (BENCHMARKS.md,
    /// "Guards").
    static let guardBaselines = [
        Guard.Baseline(name: "DELTA binary decode / JSONDecoder", value: 54),
        Guard.Baseline(name: "DELTA binary encode / JSONEncoder", value: 75),
        Guard.Baseline(name: "PLACE binary decode / JSONDecoder", value: 33),
        Guard.Baseline(name: "PLACE binary encode / JSONEncoder", value: 60),
    ]

    enum Acceptance {
        static let decodeRatio = 20.0
        static let encodeRatio = 10.0
    }

    func validate() throws {
        if quick && isGuardRun { throw ValidationError("--quick and --guard exclude each other; give one") }
        if seconds != nil && (quick || isGuardRun) {
            throw ValidationError("--seconds sets the time of a full run; it excludes --quick and --guard")
        }
    }

    func measure() -> BenchOutcome {
        let seconds =
            self.seconds
            ?? (quick ? Self.quickSecondsPerMessage : isGuardRun ? Self.guardSecondsPerMessage : Self.defaultSecondsPerMessage)
        let jsonPath = output.path
        do {
            let report = try WireBenchmark.run(
                secondsPerMessage: seconds, quick: quick, isGuardRun: isGuardRun, commandLine: CommandLine.arguments)
            print(report.table())
            if let jsonPath {
                try report.writeJSON(to: jsonPath)
                Console.progress("wrote \(jsonPath)")
            }
            return .finished(isGuardRun ? report.guards : report.acceptance)
        } catch let failure as BenchFailure {
            return .failed(failure.message)
        } catch {
            return .failed("\(error)")
        }
    }
}

/// A fault found while benchmarking: the figures would be meaningless.
struct BenchFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// One message under test, with the cells that measure it.
struct PreparedMessage {
    var name: String
    var summary: String
    var type: MessageType
    var binaryBytes: Int
    var jsonBytes: Int
    /// In order: binary encode, binary decode, JSON encode, JSON decode.
    var cells: [BenchCell]
    /// Checks the values the timed loops produced last.
    var verifyAfterRun: () throws -> Void
}

enum WireBenchmark {
    /// The operations measured for every message, in cell order.
    static let ops: [(codec: String, op: String)] = [
        ("binary", "encode"), ("binary", "decode"), ("JSON", "encode"), ("JSON", "decode"),
    ]

    static func run(secondsPerMessage: Double, quick: Bool, isGuardRun: Bool, commandLine: [String]) throws -> WireReport {
        let started = Date()
        let load = BenchEnvironment.loadAverage()
        let delta = WireSamples.inventoryDelta()
        let place = WireSamples.placementRequest()
        let messages = [
            try prepare(
                name: "DELTA", summary: "gossip delta, \(delta.records.count) pool descriptors", value: delta,
                message: .delta(delta)
            ) { if case .delta(let d) = $0 { d } else { nil } },
            try prepare(name: "PLACE", summary: "placement request", value: place, message: .place(place)) {
                if case .place(let p) = $0 { p } else { nil }
            },
        ]

        var plan = BenchPlan.make(secondsPerMessage: secondsPerMessage, cellsPerMessage: ops.count, quick: quick)
        if isGuardRun { plan.clock = .threadCPU }
        Console.progress(
            "mesh-bench wire: \(messages.count) messages x \(ops.count) operations, \(plan.rounds) rounds of "
                + String(format: "%.0f ms", plan.secondsPerCellRound * 1000) + " per operation"
                + (plan.clock == .threadCPU ? " (thread CPU time)" : "")
                + (isDebugBuild ? "  [WARNING: debug build; use -c release]" : ""))
        var sink = Sink()
        let cells = messages.flatMap(\.cells)
        let measured = try Harness.run(cells, plan: plan, sink: &sink) { Console.progress($0) }
        for message in messages { try message.verifyAfterRun() }

        var results: [WireReport.MessageResult] = []
        for (m, message) in messages.enumerated() {
            var rows: [WireReport.Row] = []
            for (o, op) in ops.enumerated() {
                let cell = measured[m * ops.count + o]
                rows.append(
                    WireReport.Row(
                        codec: op.codec, op: op.op, messagesPerSecond: cell.median, minMessagesPerSecond: cell.min,
                        maxMessagesPerSecond: cell.max, relativeSpread: cell.relativeSpread, rounds: cell.samples.count,
                        iterationsPerRound: cell.iterationsPerRound,
                        bytesPerMessage: op.codec == "binary" ? message.binaryBytes : message.jsonBytes,
                        samples: cell.samples))
            }
            func pairedRatio(_ binary: Int, _ json: Int) -> Double {
                let a = measured[m * ops.count + binary].samples
                let b = measured[m * ops.count + json].samples
                return Stats.median(zip(a, b).map { $0 / $1 })
            }
            results.append(
                WireReport.MessageResult(
                    name: message.name, summary: message.summary, messageType: message.type.description,
                    binaryBytes: message.binaryBytes, jsonBytes: message.jsonBytes, rows: rows,
                    encodeRatio: rows[0].messagesPerSecond / rows[2].messagesPerSecond,
                    decodeRatio: rows[1].messagesPerSecond / rows[3].messagesPerSecond,
                    pairedEncodeRatio: pairedRatio(0, 2), pairedDecodeRatio: pairedRatio(1, 3),
                    sizeRatio: Double(message.binaryBytes) / Double(message.jsonBytes)))
        }
        // Judged on the lower of the two estimates (ratio of medians, median of per-round ratios), so
        // a criterion is met only if drift during the run cannot explain it.
        let deltaResult = results[0]
        let acceptance = [
            Verdict(
                "DELTA binary decode / JSONDecoder", measured: min(deltaResult.decodeRatio, deltaResult.pairedDecodeRatio),
                atLeast: WireCommand.Acceptance.decodeRatio),
            Verdict(
                "DELTA binary encode / JSONEncoder", measured: min(deltaResult.encodeRatio, deltaResult.pairedEncodeRatio),
                atLeast: WireCommand.Acceptance.encodeRatio),
        ]
        // The guard judges the median of the per-round ratios: the steadier estimate, since each
        // round times both codecs back to back. Same order as `WireCommand.guardBaselines`.
        let guarded = [
            results[0].pairedDecodeRatio, results[0].pairedEncodeRatio, results[1].pairedDecodeRatio,
            results[1].pairedEncodeRatio,
        ]
        let guards = isGuardRun ? zip(WireCommand.guardBaselines, guarded).map { $0.verdict(measured: $1) } : []
        return WireReport(
            benchmark: "wire", date: ISO8601DateFormatter().string(from: started), commandLine: commandLine,
            command: WireReport.shellQuoted(commandLine), environment: .current(loadAverageAtStart: load), quick: quick,
            secondsPerMessage: secondsPerMessage, rounds: plan.rounds,
            seed: "0x" + String(WireSamples.seed, radix: 16), messages: results, acceptance: acceptance,
            acceptanceMet: acceptance.allSatisfy(\.met), isGuardRun: isGuardRun, guards: guards,
            checksum: String(sink.checksum, radix: 16),
            elapsedSeconds: Date().timeIntervalSince(started))
    }

    /// Verifies that both codecs round-trip `value`, then builds the four measuring cells.
    static func prepare<Value: Codable & Equatable>(
        name: String, summary: String, value: Value, message: WireMessage, extract: @escaping (WireMessage) -> Value?
    ) throws -> PreparedMessage {
        // Binary: one frame, decoded back to the same value, re-encoded to the same bytes.
        let frame: [UInt8]
        do { frame = try FrameEncoder.frame(message) } catch {
            throw BenchFailure("\(name): FrameEncoder refused the sample: \(error)")
        }
        func decodeBinary(_ bytes: [UInt8]) throws -> Value {
            let decoded: DecodedFrame
            do { decoded = try WireMessage.decode(frameBytes: bytes) } catch {
                throw BenchFailure("\(name): binary decode failed: \(error)")
            }
            guard case .message(let m, correlationID: 0, flags: []) = decoded, let v = extract(m) else {
                throw BenchFailure("\(name): binary decode returned the wrong frame: \(decoded)")
            }
            return v
        }
        let binaryValue = try decodeBinary(frame)
        guard binaryValue == value else { throw BenchFailure("\(name): binary round trip changed the value") }
        guard let reframed = try? FrameEncoder.frame(message), reframed == frame else {
            throw BenchFailure("\(name): binary encoding is not deterministic")
        }

        // JSON: the same value through Foundation, decoded back to an equal value.
        let jsonEncoder = JSONEncoder()
        let jsonDecoder = JSONDecoder()
        let json: Data
        do { json = try jsonEncoder.encode(value) } catch { throw BenchFailure("\(name): JSONEncoder failed: \(error)") }
        let jsonValue: Value
        do { jsonValue = try jsonDecoder.decode(Value.self, from: json) } catch {
            throw BenchFailure("\(name): JSONDecoder failed: \(error)")
        }
        guard jsonValue == value else { throw BenchFailure("\(name): JSON round trip changed the value") }

        // The cells. Each keeps its last result so the run can be checked afterwards.
        var encoder = FrameEncoder()
        var lastFrameCount = 0
        var lastBinary: Value? = nil
        var lastJSONCount = 0
        var lastJSON: Value? = nil
        let cells = [
            BenchCell(label: "\(name) binary encode") {
                encoder.reset()
                try encoder.append(message)
                let count = encoder.bytes.count
                lastFrameCount = count
                return count
            },
            BenchCell(label: "\(name) binary decode") {
                guard case .message(let m, _, _) = try WireMessage.decode(frameBytes: frame), let v = extract(m) else {
                    throw BenchFailure("\(name): binary decode returned the wrong frame")
                }
                lastBinary = v
                return 1
            },
            BenchCell(label: "\(name) JSON encode") {
                let data = try jsonEncoder.encode(value)
                lastJSONCount = data.count
                return data.count
            },
            BenchCell(label: "\(name) JSON decode") {
                let v = try jsonDecoder.decode(Value.self, from: json)
                lastJSON = v
                return 1
            },
        ]
        let verify: () throws -> Void = {
            if encoder.bytes != frame || lastFrameCount != frame.count {
                throw BenchFailure("\(name): the timed binary encode produced different bytes")
            }
            if lastBinary != value { throw BenchFailure("\(name): the timed binary decode produced a different value") }
            if lastJSONCount != json.count { throw BenchFailure("\(name): the timed JSON encode produced a different length") }
            if lastJSON != value { throw BenchFailure("\(name): the timed JSON decode produced a different value") }
        }
        return PreparedMessage(
            name: name, summary: summary, type: message.type, binaryBytes: frame.count, jsonBytes: json.count, cells: cells,
            verifyAfterRun: verify)
    }
}

#if DEBUG
    let isDebugBuild = true
#else
    let isDebugBuild = false
#endif
