import Foundation
import Glibc
import MeshCore
import MeshRuntime
import MeshStore
import MeshTestSupport
import Testing

/// `meshd` as an operator runs it: the built executable, a temp dir, signals.
@Suite("meshd process", .serialized, .timeLimit(.minutes(1)))
struct MeshdProcessTests {
    /// The meshd built next to the test bundle (`swift test` builds every product).
    static var meshd: String { builtProduct("meshd") }

    func temporary() throws -> URL {
        let dir = try testDirectory("meshd")
        return dir
    }

    @Test func aBadConfigurationExitsWithStatus2NamingTheFileAndTheField() async throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("node.json").path
        try Data(
            #"{"name": "n", "role": "regional", "region": "cn-north", "listen": "127.0.0.1:0", "dataDirectory": "d", "plaintext": true, "pools": [{"name": "p", "architecture": "vax", "computeUnits": 1, "memoryMiB": 1, "pricePerUnitHour": 1}]}"#
                .utf8
        ).write(to: URL(fileURLWithPath: path))
        let run = try await runProcess(Self.meshd, ["--config", path])
        let text = run.output
        #expect(run.status == 2)
        #expect(
            text.contains(path) && text.contains("pools[0]") && text.contains("architecture") && text.contains("vax"), "\(text)")
    }

    @Test func aNodeAnnouncesWhereItListensAndStopsCleanlyOnSIGTERM() async throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("node.json").path
        try Data(
            #"{"name": "solo", "role": "regional", "region": "cn-north", "listen": "127.0.0.1:0", "dataDirectory": "d", "plaintext": true}"#
                .utf8
        ).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.meshd)
        process.arguments = ["--config", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Blocking waits run off the cooperative pool (see offPool).
        let boxed = UncheckedBox((process, output))
        // The readiness line is the first thing on standard output.
        let line = try await offPool { () -> String in
            var line = ""
            let deadline = Date().addingTimeInterval(20)
            while !line.contains("\n") && Date() < deadline {
                let chunk = boxed.value.1.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line += String(decoding: chunk, as: UTF8.self)
            }
            return line
        }
        #expect(line.hasPrefix("meshd: solo listening on 127.0.0.1:"), "\(line)")
        #expect(line.contains("as regional node") && line.contains("in cn-north"), "\(line)")
        kill(process.processIdentifier, SIGTERM)
        let stopped = try await offPool { () -> Bool in
            let stopBy = Date().addingTimeInterval(10)
            while boxed.value.0.isRunning && Date() < stopBy { usleep(20_000) }
            return !boxed.value.0.isRunning
        }
        if !stopped {
            Issue.record("meshd did not stop within 10 s of SIGTERM")
            kill(process.processIdentifier, SIGKILL)
        }
        try await offPool { boxed.value.0.waitUntilExit() }
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        // The node started at incarnation 1 with a ceiling stored above it before it spoke, and
        // left announcing 2: the ledger's ceiling covers both, so a restart starts above anything
        // the mesh has seen.
        let store = try SQLiteLedgerStore(path: dir.appendingPathComponent("d/ledger.sqlite").path)
        #expect(try store.incarnation() >= 2)
    }
}

/// Carries a value that is not Sendable to a blocking helper thread; the test does not touch it
/// meanwhile.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
