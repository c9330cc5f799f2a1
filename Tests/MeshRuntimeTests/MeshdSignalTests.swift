import Foundation
import Glibc
import MeshCore
import MeshTestSupport
import MeshWire
import Testing

/// Signals as operators send them to a running `meshd`: SIGHUP reloads, SIGUSR1 reports, and
/// neither stops the node.
@Suite("meshd signals", .serialized, .timeLimit(.minutes(1)))
struct MeshdSignalTests {
    static func pool(_ name: String) -> String {
        #"{"name": "\#(name)", "architecture": "x86_64", "computeUnits": 100, "memoryMiB": 1024, "pricePerUnitHour": 1}"#
    }

    @Test func sighupRegistersANewPoolAndSigusr1LogsTheStateWithoutStoppingTheNode() async throws {
        let dir = try testDirectory("meshd-sig")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await MeshdProcess(
            "n", config: #""role": "regional", "region": "cn-north", "pools": [\#(Self.pool("cpu"))]"#, in: dir)
        defer { node.stop() }
        let console = try await TestConsole(connectingTo: node.address)
        defer { console.close() }
        #expect(try await console.inventory().pools.count == 1)

        // The operator adds a pool and (by mistake) changes the region, then sends SIGHUP.
        let edited =
            #"{"name": "n", "listen": "127.0.0.1:0", "dataDirectory": "n", "plaintext": true, "role": "regional", "region": "cn-east", "pools": [\#(Self.pool("cpu")), \#(Self.pool("gpu"))]}"#
        try Data(edited.utf8).write(to: URL(fileURLWithPath: node.configPath))
        node.kill(SIGHUP)
        try await eventually(within: 10, "the reloaded pool is in the inventory") {
            try await console.inventory().pools.count == 2
        }
        #expect(node.process.isRunning)
        #expect(node.log.contains("reload: pools added gpu"), "\(node.log)")
        #expect(node.log.contains("region changed in the file"), "\(node.log)")

        // A file that no longer parses: the node says so and keeps running as it was.
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: node.configPath))
        node.kill(SIGHUP)
        try await eventually(within: 10, "the refused reload is logged") { node.log.contains("reload (SIGHUP) refused") }

        node.kill(SIGUSR1)
        try await eventually(within: 10, "SIGUSR1 logs a state summary") { node.log.contains("state: regional node") }
        #expect(node.log.contains("pools 2"), "\(node.log)")
        #expect(node.process.isRunning, "SIGHUP and SIGUSR1 must not stop the node")
        #expect(try await console.status().aliveMembers >= 0)

        await node.terminate()
        #expect(node.process.terminationStatus == 0)
    }
}

@Suite("meshctl watch", .serialized, .timeLimit(.minutes(1)))
struct MeshctlWatchTests {
    @Test func watchRedirectedToAFileKeepsEveryEventWhenStoppedWithSIGTERM() async throws {
        let dir = try testDirectory("meshctl-watch")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await MeshdProcess(
            "n", config: #""role": "regional", "region": "cn-north", "pools": [\#(MeshdSignalTests.pool("cpu"))]"#, in: dir)
        defer { node.stop() }
        let outputPath = dir.appendingPathComponent("watch.out").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: builtProduct("meshctl"))
        watch.arguments = ["console", "--node", node.address.description, "--plaintext", "watch"]
        watch.standardOutput = FileHandle(forWritingAtPath: outputPath)
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        let output = { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        try await eventually(within: 10, "watch subscribed") { output().contains("watching") }
        // Events: the node reloads its configuration, and a placement runs on its own pool, so
        // the owner's side shows too (the hold, then the lease committed).
        node.kill(SIGHUP)
        let console = try await TestConsole(connectingTo: node.address)
        defer { console.close() }
        guard case .outcome(let o) = try await console.ask(.place(try request(key: "w", origin: node.nodeID, units: 5))) else {
            Issue.record("PLACE not answered")
            return
        }
        #expect(o.isPlaced, "\(o.result)")
        try await eventually(within: 10, "the owner's lease event") { output().contains("lease committed") }
        kill(watch.processIdentifier, SIGTERM)
        try await offPool { watch.waitUntilExit() }
        #expect(watch.terminationStatus == 0)
        let text = output()
        for event in ["configuration reloaded", "hold placed on cpu", "lease committed on cpu", "placed"] {
            #expect(text.contains(event), "the event '\(event)' was lost: \(text)")
        }
    }
}

@Suite("meshd logs", .serialized, .timeLimit(.minutes(1)))
struct MeshdLogTests {
    static func isRFC3339(_ text: some StringProtocol) -> Bool {
        String(text).wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/#) != nil
    }

    @Test func everyLineHasATimestampALevelAndTheNodeInJSONThenInLogfmtAfterAReload() async throws {
        let dir = try testDirectory("meshd-log")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await MeshdProcess(
            "north-1", config: #""role": "regional", "region": "cn-north", "logFormat": "json""#, in: dir)
        defer { node.stop() }
        try await eventually(within: 10, "the listening line") { node.log.contains("listening on") }
        // The operator switches the file to text and reloads.
        let config = try String(contentsOfFile: node.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "\"json\"", with: "\"text\"").write(
            toFile: node.configPath, atomically: true, encoding: .utf8)
        node.kill(SIGHUP)
        try await eventually(within: 10, "the reload line") { node.log.contains("reload: pools added") }
        await node.terminate()
        #expect(node.process.terminationStatus == 0)
        let lines = node.log.split(separator: "\n").map(String.init)
        #expect(lines.count >= 4, "\(lines)")
        var sawJSON = false
        var sawText = false
        for line in lines {
            if line.hasPrefix("{") {
                sawJSON = true
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                let ts = try #require(object["ts"] as? String)
                #expect(Self.isRFC3339(ts), "\(ts)")
                #expect(object["level"] as? String == "info" || object["level"] as? String == "warning", "\(line)")
                #expect(object["node"] as? String == "north-1", "\(line)")
                #expect(object["msg"] is String, "\(line)")
            } else {
                sawText = true
                let match = try #require(
                    line.firstMatch(of: #/^ts=(\S+) level=(trace|debug|info|warning|error) node=north-1 msg=/#), "\(line)")
                #expect(Self.isRFC3339(match.1), "\(line)")
            }
        }
        #expect(sawJSON && sawText)
        #expect(lines.last?.contains("msg=\"stopped cleanly\"") == true, "a clean stop ends with a final line: \(lines)")
    }
}

extension MeshdLogTests {
    @Test func strangersFailingTheHandshakeGiveOneWarningNotOneEach() async throws {
        let dir = try testDirectory("meshd-scan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await MeshdProcess("n", config: #""role": "regional", "region": "cn-north""#, in: dir)
        defer { node.stop() }
        // Five scanners: each connects, sends something that is not our preface, and is dropped.
        for _ in 0..<5 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = node.address.port.bigEndian
            inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
            _ = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let junk = Array("GET / HTTP/1.1\r\n\r\n".utf8)
            _ = write(fd, junk, junk.count)
            try await Task.sleep(nanoseconds: 100_000_000)
            close(fd)
        }
        try await eventually(within: 10, "the first failure is reported") { node.log.contains("failed the handshake") }
        try await Task.sleep(nanoseconds: 500_000_000)
        let warnings = node.log.split(separator: "\n").filter { $0.contains("level=warning") && $0.contains("handshake") }
        #expect(warnings.count == 1, "\(warnings)")
    }
}
