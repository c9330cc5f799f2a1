import Foundation

/// Where a benchmark ran: recorded with every report so figures can be judged.
struct BenchEnvironment: Codable {
    /// The compiler that built this binary (major.minor, from `#if compiler`).
    var compiler: String
    /// The first line of `swift --version`, when a toolchain is on the PATH.
    var toolchain: String?
    var buildConfiguration: String
    var os: String
    var cpu: String?
    var activeProcessors: Int
    var physicalMemoryMiB: UInt64
    /// The 1-minute load average when the run started (Linux): other work competing for the cores.
    var loadAverageAtStart: Double?

    static func current(loadAverageAtStart: Double?) -> BenchEnvironment {
        let info = ProcessInfo.processInfo
        return BenchEnvironment(
            compiler: compilerVersion, toolchain: swiftVersionLine(), buildConfiguration: isDebugBuild ? "debug" : "release",
            os: info.operatingSystemVersionString, cpu: cpuModel(), activeProcessors: info.activeProcessorCount,
            physicalMemoryMiB: info.physicalMemory >> 20, loadAverageAtStart: loadAverageAtStart)
    }

    /// The 1-minute load average from /proc/loadavg.
    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    static var compilerVersion: String {
        #if compiler(>=7.0)
            return "Swift >= 7.0"
        #elseif compiler(>=6.5)
            return "Swift 6.5"
        #elseif compiler(>=6.4)
            return "Swift 6.4"
        #elseif compiler(>=6.3)
            return "Swift 6.3"
        #elseif compiler(>=6.2)
            return "Swift 6.2"
        #elseif compiler(>=6.1)
            return "Swift 6.1"
        #else
            return "Swift 6.0"
        #endif
    }

    /// `model name` from /proc/cpuinfo (Linux).
    static func cpuModel() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// Runs `swift --version` (found on the PATH) and returns its first line.
    static func swiftVersionLine() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard
            let swift = path.split(separator: ":").map({ "\($0)/swift" }).first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: swift)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").first { $0.contains("Swift version") }.map(String.init)
    }
}

/// The figures of one `wire` run: what the table shows and what `--json` writes.
struct WireReport: Codable {
    struct Row: Codable {
        var codec: String
        var op: String
        /// Median of the rounds.
        var messagesPerSecond: Double
        var minMessagesPerSecond: Double
        var maxMessagesPerSecond: Double
        /// Half the interquartile range of the rounds over the median.
        var relativeSpread: Double
        var rounds: Int
        var iterationsPerRound: Int
        var bytesPerMessage: Int
        /// Messages per second of each round, in round order.
        var samples: [Double]
    }

    struct MessageResult: Codable {
        var name: String
        var summary: String
        var messageType: String
        var binaryBytes: Int
        var jsonBytes: Int
        var rows: [Row]
        /// Median binary encode rate over median JSONEncoder rate.
        var encodeRatio: Double
        /// Median binary decode rate over median JSONDecoder rate.
        var decodeRatio: Double
        /// The median of the per-round ratios (rounds pair the two codecs in time).
        var pairedEncodeRatio: Double
        var pairedDecodeRatio: Double
        /// Binary bytes over JSON bytes.
        var sizeRatio: Double
    }

    var benchmark: String
    var date: String
    var commandLine: [String]
    /// The command line as one shell-quoted string.
    var command: String
    var environment: BenchEnvironment
    var quick: Bool
    var secondsPerMessage: Double
    var rounds: Int
    var seed: String
    var messages: [MessageResult]
    /// The acceptance targets (DELTA, the lower of the two estimates of each ratio).
    var acceptance: [Verdict]
    var acceptanceMet: Bool
    /// Whether this was a `--guard` run: then ``guards`` are judged and ``acceptance`` only printed.
    var isGuardRun: Bool
    /// The guarded figures (empty unless ``isGuardRun``).
    var guards: [Verdict]
    /// Accumulated from every measured result so no work could be optimised away.
    var checksum: String
    var elapsedSeconds: Double

    // MARK: - Text

    /// The table for people.
    func table() -> String {
        let header = ["message", "codec", "op", "msgs/s", "±", "bytes", "binary/JSON"]
        var rows: [[String]] = []
        for message in messages {
            for row in message.rows {
                var ratio = ""
                if row.codec == "binary" {
                    ratio = Self.ratio(row.op == "encode" ? message.encodeRatio : message.decodeRatio) + " faster"
                } else if row.op == "encode" {
                    ratio = Self.ratio(message.sizeRatio, digits: 2) + " size"
                }
                rows.append([
                    message.name, row.codec, row.op, Self.grouped(row.messagesPerSecond),
                    String(format: "%.1f%%", row.relativeSpread * 100), String(row.bytesPerMessage), ratio,
                ])
            }
        }
        let rightAligned: Set<Int> = [3, 4, 5]
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var out = [line(header), line(widths.map { String(repeating: "-", count: $0) })]
        for (i, row) in rows.enumerated() {
            if i > 0 && i % 4 == 0 { out.append("") }
            out.append(line(row))
        }
        out.append("")
        out.append(
            "msgs/s: median of \(rounds) interleaved rounds" + (isGuardRun ? " of thread CPU time" : "")
                + "; ±: half the interquartile range of the rounds.")
        out.append("bytes: whole frame (16-byte header included) for binary; the Foundation JSONEncoder output for JSON.")
        for message in messages {
            out.append(
                "\(message.name) (\(message.summary)): binary/JSON encode \(Self.ratio(message.encodeRatio)), "
                    + "decode \(Self.ratio(message.decodeRatio)) (per-round medians \(Self.ratio(message.pairedEncodeRatio)), "
                    + "\(Self.ratio(message.pairedDecodeRatio))); size \(message.binaryBytes) vs \(message.jsonBytes) bytes")
        }
        out.append("")
        for criterion in acceptance {
            out.append(
                "acceptance: \(criterion.name) >= \(Self.ratio(criterion.target, digits: 0)): measured "
                    + "\(Self.ratio(criterion.measured)) (the lower estimate) -> \(criterion.met ? "met" : "NOT MET")"
                    + (isGuardRun ? " (judged in full runs, not in --guard runs)" : ""))
        }
        if isGuardRun {
            out.append("")
            out.append(Guard.table(zip(WireCommand.guardBaselines, guards).map { ($0, $1) }))
        }
        out.append(
            "environment: \(environment.toolchain ?? environment.compiler), \(environment.buildConfiguration), "
                + "\(environment.activeProcessors) cores\(environment.cpu.map { ", " + $0 } ?? "")"
                + (environment.loadAverageAtStart.map { String(format: ", load %.2f at start", $0) } ?? "")
                + "; checksum \(checksum)")
        return out.joined(separator: "\n")
    }

    /// Joins arguments into a command a shell would split back the same way.
    static func shellQuoted(_ arguments: [String]) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-./:=@_,%")
        return arguments.map { argument in
            if !argument.isEmpty && argument.allSatisfy(plain.contains) { return argument }
            return "'" + argument.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        }.joined(separator: " ")
    }

    static func ratio(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f×", value) }

    /// An integer with thousands separators: 1234567 -> 1,234,567.
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return out
    }

    // MARK: - JSON

    func writeJSON(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        do { try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw BenchFailure("could not write \(path): \(error.localizedDescription)")
        }
    }
}
