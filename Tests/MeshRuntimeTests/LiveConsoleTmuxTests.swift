import Foundation
import Glibc
import MeshCore
import MeshRuntime
import MeshTestSupport
import Testing

/// A terminal that a test can type into and read: a detached tmux session of a given size on its
/// own server socket, so that tests never share a server. tmux runs through ``ChildProcess``
/// (posix_spawn, waitpid): its server outlives the command that starts it, and must not hold
/// this process's descriptors or inherit its signal dispositions.
struct TmuxTerminal {
    let socket: String
    let directory: URL

    init(columns: Int, rows: Int, directory: URL) async throws {
        socket = "mesh-\(UUID().uuidString.prefix(8))"
        self.directory = directory
        try await run(["new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "-c", directory.path, "sh"])
    }

    @discardableResult
    func run(_ arguments: [String]) async throws -> String {
        let output = directory.appendingPathComponent("tmux-\(UUID().uuidString.prefix(8)).out").path
        let child = try ChildProcess.spawn(
            name: "tmux", executable: "/usr/bin/tmux", arguments: ["-L", socket] + arguments, stdoutPath: output,
            stderrPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard await child.wait(seconds: 10) else {
            child.signal(SIGKILL)
            throw RuntimeError("tmux \(arguments.joined(separator: " ")) did not finish within 10 s")
        }
        guard child.exitStatus == 0 else { throw RuntimeError("tmux \(arguments.first ?? ""): \(child.standardOutput)") }
        return child.standardOutput
    }

    func type(_ text: String) async throws { try await run(["send-keys", "-l", text]) }
    func press(_ keys: String...) async throws { try await run(["send-keys"] + keys) }
    func screen() async throws -> String { try await run(["capture-pane", "-p"]) }
    /// A tmux format of the pane, e.g. `#{alternate_on}`.
    func pane(_ format: String) async throws -> String {
        try await run(["display-message", "-p", format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    func close() async { _ = try? await run(["kill-server"]) }
}

/// The live console as an operator meets it: meshctl in an 80×24 terminal (tmux) against a
/// federation of real meshd processes (issue 17). Reconnecting and replaying after the node comes
/// back are tested on the value (LiveConsoleTests) and the client (ConsoleClientTests): a restarted
/// meshd here would listen on another port.
@Suite("live console in a terminal", .serialized, .timeLimit(.minutes(1)))
struct LiveConsoleTmuxTests {
    static let pool =
        #""pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5}]"#

    @Test func theConsoleListsTheMeshFollowsAPlacementExplainsItSeesNodesGoAndRestoresTheTerminal() async throws {
        let dir = try testDirectory("live-console")
        defer { try? FileManager.default.removeItem(at: dir) }
        let north1 = try await MeshdProcess(
            "north-1", config: #""role": "regional", "region": "cn-north", \#(Self.pool)"#, in: dir)
        defer { north1.stop() }
        let north2 = try await MeshdProcess(
            "north-2", config: #""role": "regional", "region": "cn-north", "seeds": ["\#(north1.address)"]"#, in: dir)
        defer { north2.stop() }
        let finance = try await MeshdProcess(
            "north-finance",
            config: #""role": "industry", "region": "cn-north", "sectors": ["finance"], "seeds": ["\#(north1.address)"]"#,
            in: dir)
        defer { finance.stop() }

        let terminal = try await TmuxTerminal(columns: 80, rows: 24, directory: dir)
        do {
            try await drive(terminal, north1: north1, north2: north2)
        } catch {
            Issue.record("the console's last screen:\n\((try? await terminal.screen()) ?? "-")")
            await terminal.close()
            throw error
        }
        await terminal.close()
    }

    func drive(_ terminal: TmuxTerminal, north1: MeshdProcess, north2: MeshdProcess) async throws {
        let dir = terminal.directory
        try await terminal.type("\(Meshctl.path) console --node \(north1.address) --plaintext; echo console-exited-$?")
        try await terminal.press("Enter")

        // Members: every node, by name.
        try await eventually(within: 20, "the members pane lists north-1, north-2 and north-finance") {
            let screen = try await terminal.screen()
            return ["north-1", "north-2", "north-finance"].allSatisfy { name in
                screen.split(separator: "\n").contains { $0.hasPrefix(" \(name) ") && $0.contains("alive") }
            }
        }
        #expect(try await terminal.pane("#{alternate_on}") == "1", "the console draws on the alternate screen")

        // A resize redraws at the new size (SIGWINCH): at 132 columns the title has room for the
        // member counts, at 80 it has not.
        try await terminal.run(["resize-window", "-x", "132", "-y", "43"])
        try await eventually(within: 5, "the console redraws at 132×43") {
            let screen = try await terminal.screen()
            return screen.contains("alive, 0 suspect")
                && screen.split(separator: "\n", omittingEmptySubsequences: false).count >= 43
        }
        try await terminal.run(["resize-window", "-x", "80", "-y", "24"])
        try await eventually(within: 5, "the console redraws at 80×24") {
            try await !terminal.screen().contains("alive, 0 suspect")
        }

        // A placement made now appears in the flow pane, and its explanation opens.
        let request = dir.appendingPathComponent("request.json")
        try Data(#"{"tenant": "acme-bank", "sector": "finance", "computeUnits": 10}"#.utf8).write(to: request)
        // The inventory pane shows north-1's pool; the node's placement view may lag its first
        // tick, so the request is placed again (with a fresh ID) until it is placed.
        try await terminal.type("2")
        try await eventually(within: 10, "the inventory pane shows north-1's cpu pool") {
            try await terminal.screen().contains("cpu x86_64 (units)")
        }
        var id = ""
        try await eventually(within: 10, "a placement through north-1 succeeds") {
            let placed = try await Meshctl.run([
                "console", "--node", north1.address.description, "--plaintext", "place", request.path,
            ])
            let words = placed.output.split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "\n" })
            id = words.firstIndex(of: "request").map { String(words[$0 + 1]) } ?? ""
            return placed.status == 0 && !id.isEmpty
        }
        try await terminal.type("3")
        try await eventually(within: 10, "the flow pane shows request \(id.prefix(8)) placed on north-1/cpu") {
            let screen = try await terminal.screen()
            return screen.contains(String(id.prefix(8))) && screen.contains("placed on north-1/cpu")
        }
        try await terminal.press("Enter")
        try await eventually(within: 10, "the explanation of \(id) opens with the sum rule") {
            let screen = try await terminal.screen()
            return screen.contains("why \(id)") && screen.contains("sum rule   considered 1 = filtered 0 + scored 1")
        }
        try await terminal.press("Escape")

        // A node stopped now is shown as left (or dead).
        await north2.terminate()
        try await terminal.type("1")
        try await eventually(within: 20, "the members pane shows north-2 as left or dead") {
            try await terminal.screen().split(separator: "\n").contains {
                $0.hasPrefix(" north-2 ") && ($0.contains(" left ") || $0.contains(" dead "))
            }
        }

        // The node the console is on goes away: the console says so and keeps dialling.
        await north1.terminate()
        try await eventually(within: 10, "the footer says the node is gone and when it dials again") {
            try await terminal.screen().contains("NODE GONE")
        }

        // q: the console exits 0, the alternate screen is left and the cursor shown again.
        try await terminal.type("q")
        try await eventually(within: 10, "meshctl exits 0 and the shell's screen is back") {
            try await terminal.screen().contains("console-exited-0")
        }
        #expect(try await terminal.pane("#{alternate_on}") == "0")
        #expect(try await terminal.pane("#{cursor_flag}") == "1")
        #expect(!(try await terminal.screen()).contains("ComputeMesh ·"))
    }
}
