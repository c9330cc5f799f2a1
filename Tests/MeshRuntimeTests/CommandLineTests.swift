import Foundation
import MeshTestSupport
import Testing

/// The three binaries' command lines as a user types them.
@Suite("command lines", .timeLimit(.minutes(1)))
struct CommandLineTests {
    @Test(arguments: ["meshd", "meshctl", "mesh-bench"])
    func everyBinaryPrintsItsVersion(binary: String) async throws {
        let run = try await runProcess(builtProduct(binary), ["--version"])
        #expect(run.status == 0)
        #expect(run.output.hasPrefix("\(binary) ") && run.output.contains("wire protocol 1"), "\(run.output)")
    }

    @Test func bareMeshctlPrintsItsUsageAndExits2() async throws {
        let run = try await runProcess(builtProduct("meshctl"), [])
        #expect(run.status == 2)
        #expect(run.output.contains("usage: meshctl <command>"), "\(run.output)")
    }

    @Test func helpWorksOnASubcommandThatTakesValues() async throws {
        let run = try await runProcess(builtProduct("meshctl"), ["authority", "admit", "--help"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.hasPrefix("usage: meshctl authority admit APPLICATION.json"), "\(run.output)")
    }

    @Test func aMistypedCommandIsOneLineWithASuggestionNotTheWholeUsage() async throws {
        let run = try await runProcess(builtProduct("meshctl"), ["consle", "status"])
        #expect(run.status == 2)
        #expect(run.output.contains("unknown command 'consle'; did you mean 'console'?"), "\(run.output)")
        #expect(run.output.split(separator: "\n").count <= 2, "\(run.output)")
        let option = try await runProcess(builtProduct("meshctl"), ["console", "--node", "127.0.0.1:1", "--plaintxt", "status"])
        #expect(option.output.contains("did you mean --plaintext?"), "\(option.output)")
        let bench = try await runProcess(builtProduct("mesh-bench"), ["wir"])
        #expect(bench.status == 2)
        #expect(bench.output.contains("did you mean 'wire'?"), "\(bench.output)")
    }

    @Test func meshNodeAndMeshCredentialsAreTheDefaultsOfTheConsolesOptions() async throws {
        let run = try await runProcess(
            builtProduct("meshctl"), ["console", "--plaintext", "status"], environment: ["MESH_NODE": "127.0.0.1:1"])
        #expect(run.output.contains("cannot reach a node at 127.0.0.1:1"), "MESH_NODE was not used: \(run.output)")
    }
}
