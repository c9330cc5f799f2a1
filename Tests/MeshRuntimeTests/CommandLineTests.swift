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
        #expect(option.output.contains("unknown option '--plaintxt'; did you mean '--plaintext'?"), "\(option.output)")
        #expect(option.output.split(separator: "\n").count <= 2, "\(option.output)")
        let bench = try await runProcess(builtProduct("mesh-bench"), ["wir"])
        #expect(bench.status == 2)
        #expect(bench.output.contains("did you mean 'wire'?"), "\(bench.output)")
    }

    /// Walks each binary's command tree through its help ("commands:" sections) and asks every
    /// command for `--help` and through `help COMMAND`: each answers with its usage, exit 0, within
    /// 80 columns.
    @Test(arguments: ["meshd", "meshctl", "mesh-bench"])
    func helpWorksOnEveryCommandAndSubcommandWithin80Columns(binary: String) async throws {
        var pending: [[String]] = [[]]
        var seen = 0
        while let path = pending.popLast() {
            let run = try await runProcess(builtProduct(binary), path + ["--help"])
            // `meshctl node` and `mesh-bench node` hand every argument to the node's own parser: their
            // --help is meshd's.
            let passthrough = binary != "meshd" && path == ["node"]
            let usage = passthrough ? "usage: meshd" : "usage: \(([binary] + path).joined(separator: " "))"
            #expect(run.status == 0, "\(binary) \(path) --help: \(run.output)")
            #expect(run.output.hasPrefix(usage), "\(run.output)")
            for line in run.output.split(separator: "\n") where line.count > 80 {
                Issue.record("\(binary) \(path.joined(separator: " ")) --help: a line of \(line.count) columns: \(line)")
            }
            if !path.isEmpty && !passthrough {
                let viaWord = try await runProcess(builtProduct(binary), ["help"] + path)
                #expect(viaWord.status == 0 && viaWord.output == run.output, "\(binary) help \(path): \(viaWord.output)")
            }
            seen += 1
            let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let start = lines.firstIndex(of: "commands:") else { continue }
            for line in lines[(start + 1)...] {
                guard line.hasPrefix("  ") else { break }
                guard !line.hasPrefix("   "), let word = line.split(separator: " ").first else { continue }
                pending.append(path + [String(word)])
            }
        }
        let expected = ["meshd": 1, "meshctl": 22, "mesh-bench": 9][binary] ?? 0
        #expect(seen == expected, "\(binary): \(seen) commands answered --help")
    }

    @Test func aCommandWithSubcommandsRunWithoutOneShowsItsHelpAndExits2() async throws {
        let run = try await runProcess(builtProduct("meshctl"), ["authority"])
        #expect(run.status == 2)
        #expect(run.output.contains("usage: meshctl authority <command>") && run.output.contains("admit"), "\(run.output)")
    }

    @Test func optionValuesAreCheckedWhereTheyAreParsed() async throws {
        let days = try await runProcess(builtProduct("meshctl"), ["authority", "init", "/nonexistent/x", "--days", "abc"])
        #expect(days.status == 2)
        #expect(days.output.contains("--days needs a whole number from 1 to 36500, not 'abc'"), "\(days.output)")
        let twice = try await runProcess(builtProduct("meshd"), ["--config", "a", "--config", "b"])
        #expect(twice.status == 2)
        #expect(twice.output.contains("--config given more than once"), "\(twice.output)")
        let level = try await runProcess(builtProduct("meshd"), ["--config", "a", "--log-level", "verbose"])
        #expect(
            level.output.contains("--log-level needs one of trace, debug, info, warning, error, not 'verbose'"), "\(level.output)"
        )
        let seconds = try await runProcess(builtProduct("mesh-bench"), ["wire", "--seconds", "0"])
        #expect(seconds.status == 2)
        #expect(seconds.output.contains("--seconds needs a number from 0.1 to 600, not '0'"), "\(seconds.output)")
    }

    @Test func meshNodeAndMeshCredentialsAreTheDefaultsOfTheConsolesOptions() async throws {
        let run = try await runProcess(
            builtProduct("meshctl"), ["console", "--plaintext", "status"], environment: ["MESH_NODE": "127.0.0.1:1"])
        #expect(run.output.contains("cannot reach a node at 127.0.0.1:1"), "MESH_NODE was not used: \(run.output)")
    }
}
