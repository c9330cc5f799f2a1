import Foundation
import Testing

@Suite("Ledger under SIGKILL")
struct LedgerCrashTests {
    /// Runs `mesh-ledger-crashtest`: a child process places 1,000 times against the SQLite ledger
    /// and is killed with SIGKILL at 20 random points; after every kill the ledger is reopened and
    /// checked against the child's acknowledgements (no acknowledged hold or lease lost, no key
    /// booked twice, nothing over capacity), and the last run must finish every placement.
    @Test func killingTheProcessLosesNoAcknowledgedHoldOrLeaseAndDuplicatesNothing() throws {
        let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var tool = buildDirectory.appendingPathComponent("mesh-ledger-crashtest")
        if !FileManager.default.isExecutableFile(atPath: tool.path) {
            // The xctest bundle may sit one level deeper than the products.
            tool = buildDirectory.deletingLastPathComponent().appendingPathComponent("mesh-ledger-crashtest")
        }
        try #require(FileManager.default.isExecutableFile(atPath: tool.path), "build the mesh-ledger-crashtest product first")
        let dir = TempDir()
        let process = Process()
        process.executableURL = tool
        process.arguments = [
            "run", dir.path + "/run", "1000", "20", ProcessInfo.processInfo.environment["MESH_CRASH_SEED"] ?? "1",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("20 SIGKILLs"), "\(text)")
        #expect(text.components(separatedBy: "ledger verified").count - 1 == 20)
    }
}
