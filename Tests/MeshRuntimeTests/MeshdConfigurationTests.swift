import Foundation
import MeshTestSupport
import Testing

/// Configuration files as operators mistype them, through the real `meshd`.
@Suite("meshd configuration", .serialized, .timeLimit(.minutes(1)))
struct MeshdConfigurationTests {
    func write(_ text: String) throws -> (dir: URL, path: String) {
        let dir = try testDirectory("meshd-conf")
        let path = dir.appendingPathComponent("node.json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return (dir, path)
    }

    @Test func checkConfigNamesEveryMisspeltFieldWithTheNearestKnownName() async throws {
        let (dir, path) = try write(
            """
            {"name": "n", "role": "regional", "region": "cn-north", "listen": "127.0.0.1:0", "dataDirectory": "d",
             "plaintext": true, "seed": ["127.0.0.1:7402"], "metric": "127.0.0.1:9401",
             "pools": [{"name": "p", "architecture": "x86_64", "computeUnits": -5, "memoryMiB": 1, "pricePerUnitHour": 1,
                        "acceptSectors": ["finance"]}]}
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await runProcess(builtProduct("meshd"), ["--check-config", path])
        #expect(run.status == 2)
        for expected in [
            "unknown field 'seed'; did you mean 'seeds'?", "unknown field 'metric'; did you mean 'metrics'?",
            "unknown field 'pools[0].acceptSectors'; did you mean 'acceptsSectors'?",
            "field 'pools[0].computeUnits' is -5, not a whole number",
        ] {
            #expect(run.output.contains(expected), "missing \(expected) in: \(run.output)")
        }
        // The node itself refuses the file too, with the first problem and a count of the rest.
        let start = try await runProcess(builtProduct("meshd"), ["--config", path])
        #expect(start.status == 2)
        #expect(start.output.contains("(and 3 more problems)"), "\(start.output)")
    }

    @Test func aSyntaxErrorIsReportedWithItsLineAndColumn() async throws {
        let (dir, path) = try write("{\n  \"name\": \"n\",\n  \"role\": regional\n}\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await runProcess(builtProduct("meshd"), ["--config", path])
        #expect(run.status == 2)
        #expect(run.output.contains("\(path):3:11: not JSON"), "\(run.output)")
    }

    @Test func plaintextWithCredentialsIsAnErrorThatSaysWhichToRemove() async throws {
        let (dir, path) = try write(
            """
            {"name": "n", "role": "regional", "region": "cn-north", "listen": "127.0.0.1:0", "dataDirectory": "d",
             "plaintext": true, "credentials": {"key": "k", "certificate": "c", "root": "r"}}
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await runProcess(builtProduct("meshd"), ["--check-config", path])
        #expect(run.status == 2)
        #expect(run.output.contains("remove 'plaintext'") && run.output.contains("'credentials'"), "\(run.output)")
    }

    @Test func aCleanFilePassesTheCheckAndEnvironmentVariablesOverrideItsFields() async throws {
        let (dir, path) = try write(
            """
            {"name": "n", "role": "regional", "region": "cn-north", "listen": "127.0.0.1:0", "dataDirectory": "d",
             "plaintext": true}
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await runProcess(builtProduct("meshd"), ["--check-config", path])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("valid configuration: regional node n in cn-north"), "\(run.output)")
        let overridden = try await runProcess(
            builtProduct("meshd"), ["--check-config", path],
            environment: ["MESH_NAME": "renamed", "MESH_LISTEN": "not-an-address"])
        #expect(overridden.status == 2, "MESH_LISTEN replaced the file's listen: \(overridden.output)")
        #expect(
            overridden.output.contains("field 'listen'") && overridden.output.contains("not-an-address"), "\(overridden.output)")
        let renamed = try await runProcess(
            builtProduct("meshd"), ["--check-config", path], environment: ["MESH_NAME": "renamed"])
        #expect(renamed.output.contains("regional node renamed in cn-north"), "\(renamed.output)")
    }
}

extension MeshdConfigurationTests {
    @Test func aPoolBeyondTheLimitsARequestIsHeldToIsRefusedBeforeTheNodeStarts() async throws {
        let (dir, path) = try write(
            """
            {"name": "n", "role": "regional", "region": "cn-north", "listen": "127.0.0.1:0", "dataDirectory": "d",
             "plaintext": true, "pools": [{"name": "huge", "architecture": "x86_64", "computeUnits": 100, "memoryMiB": 1,
             "pricePerUnitHour": 1, "accelerators": [{"kind": "gpu", "vendor": "nvidia", "model": "a100", "count": 100000000,
             "memoryMiB": 81920}]}]}
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        for arguments in [["--check-config", path], ["--config", path]] {
            let run = try await runProcess(builtProduct("meshd"), arguments)
            #expect(run.status == 2, "\(arguments): \(run.output)")
            #expect(
                run.output.contains("pools[0] ('huge')") && run.output.contains("100000000 accelerators")
                    && run.output.contains("limit of 1000000"), "\(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("d/ledger.sqlite").path))
    }
}
