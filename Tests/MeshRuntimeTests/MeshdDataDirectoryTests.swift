import Foundation
import MeshCore
import MeshStore
import MeshTestSupport
import Testing

/// A node's data directory as operators get it wrong: two processes on one directory, a node
/// pointed at another node's directory. Each is refused with exit 2 and a sentence naming both,
/// before anything in the directory changes.
@Suite("meshd data directory", .serialized, .timeLimit(.minutes(1)))
struct MeshdDataDirectoryTests {
    let regional =
        #""role": "regional", "region": "cn-north", "pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": 100, "memoryMiB": 1024, "pricePerUnitHour": 1}]"#

    func temporary() throws -> URL {
        let dir = try testDirectory("meshd-dir")
        return dir
    }

    /// Runs meshd once with `dataDirectory` and expects it to refuse to start.
    func refusedRun(_ name: String, dataDirectory: String, in dir: URL) async throws -> ProcessRun {
        let path = dir.appendingPathComponent("\(name).json").path
        let json =
            #"{"name": "\#(name)", "listen": "127.0.0.1:0", "dataDirectory": "\#(dataDirectory)", "plaintext": true, \#(regional)}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return try await runProcess(builtProduct("meshd"), ["--config", path], timeoutSeconds: 20)
    }

    @Test func aSecondNodeOnADirectoryInUseIsRefusedWithStatus2() async throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await MeshdProcess("a", config: regional, in: dir)
        defer { first.stop() }
        let second = try await refusedRun("intruder", dataDirectory: "a", in: dir)
        #expect(second.status == 2, "\(second.output)")
        #expect(
            second.output.contains("in use") && second.output.contains(dir.appendingPathComponent("a").path), "\(second.output)")
        #expect(first.process.isRunning, "the node that holds the directory keeps running")
        let mode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("a").path)[.posixPermissions]
        #expect(mode as? Int == 0o700)
        for file in ["node.key", "node-id", "ledger.sqlite"] {
            let path = dir.appendingPathComponent("a/\(file)").path
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]
            #expect(mode as? Int == 0o600, "\(file) has mode \(String(describing: mode))")
        }
    }

    @Test func aNodeGivenAnotherNodesDirectoryIsRefusedAndChangesNothing() async throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try await MeshdProcess("a", config: regional, in: dir)
        await a.terminate()
        let b = try await MeshdProcess("b", config: regional, in: dir)
        await b.terminate()
        #expect(a.nodeID != b.nodeID)
        // b's key, a's ledger and identity file: as if b's configuration named a's directory.
        let aDir = dir.appendingPathComponent("a")
        let bDir = dir.appendingPathComponent("b")
        for file in ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "node-id"] {
            try? FileManager.default.removeItem(at: bDir.appendingPathComponent(file))
            try? FileManager.default.copyItem(at: aDir.appendingPathComponent(file), to: bDir.appendingPathComponent(file))
        }
        let ledgerBefore = try Data(contentsOf: bDir.appendingPathComponent("ledger.sqlite"))
        let run = try await refusedRun("b", dataDirectory: "b", in: dir)
        #expect(run.status == 2, "\(run.output)")
        #expect(run.output.contains(a.nodeID.hex) && run.output.contains(b.nodeID.hex), "names both nodes: \(run.output)")
        #expect(!run.output.contains("Precondition") && !run.output.contains("Fatal error"), "\(run.output)")
        #expect(try Data(contentsOf: bDir.appendingPathComponent("ledger.sqlite")) == ledgerBefore, "the ledger was changed")

        // A directory from before identity files: only the ledger tells whose it is. Reading it may
        // fold SQLite's log into the file, so compare what it holds, not its bytes.
        try FileManager.default.removeItem(at: bDir.appendingPathComponent("node-id"))
        let ledgerPath = bDir.appendingPathComponent("ledger.sqlite").path
        let held = { () throws -> (UInt64, LedgerSnapshot) in
            let store = try SQLiteLedgerStore(path: ledgerPath)
            return (try store.incarnation(), try store.load())
        }
        let (incarnationBefore, snapshotBefore) = try held()
        #expect(snapshotBefore.pools.map(\.descriptor.id.owner) == [a.nodeID])
        let legacy = try await refusedRun("b", dataDirectory: "b", in: dir)
        #expect(legacy.status == 2, "\(legacy.output)")
        #expect(legacy.output.contains(a.nodeID.hex) && legacy.output.contains(b.nodeID.hex), "\(legacy.output)")
        let (incarnationAfter, snapshotAfter) = try held()
        #expect(incarnationAfter == incarnationBefore, "a's incarnation was rewritten")
        #expect(snapshotAfter == snapshotBefore)
        #expect(!FileManager.default.fileExists(atPath: bDir.appendingPathComponent("node-id").path))
    }
}
