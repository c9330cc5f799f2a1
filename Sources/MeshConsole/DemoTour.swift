// meshctl demo: a guided tour of a ComputeMesh federation on loopback.
//
// In a fresh directory it creates a federation root, admits an operator, issues certificates for
// six nodes (two regions × two regional nodes + one industry node) and a console, writes their
// configurations with realistic pools, starts six `meshd` processes, and then, through the
// console, shows membership, registration, inventory, three placements (in-region, spillover to
// the other region, refused), an explanation and the owner's leases. Finally it stops every node
// with SIGTERM and checks each exits 0. It exits 0 only if every step did what it says.
import Dispatch
import Foundation
import Glibc
import MeshCore
import MeshCrypto
public import MeshRuntime
import MeshWire

/// Runs the demo in `dir` (default: a new temporary directory, removed at the end unless `keep`):
/// 0 when every step did what it claims, 1 when a step failed. With `console`, the live console
/// opens on north-finance before the nodes are stopped, until q (standard input and output MUST
/// then be a terminal).
public func runDemo(dir: String?, keep: Bool, console: Bool) throws -> Int32 {
    let executable = ownExecutable()
    // meshd next to meshctl when it was built; otherwise meshctl's own `node` command, which runs
    // the same runtime (`swift run meshctl demo` on a clean checkout builds meshctl only).
    let meshdPath = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("meshd").path
    let meshd: NodeLauncher =
        FileManager.default.isExecutableFile(atPath: meshdPath)
        ? NodeLauncher(executable: meshdPath, leadingArguments: [])
        : NodeLauncher(executable: executable, leadingArguments: ["node"])
    let root: String
    if let dir {
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: dir), !existing.isEmpty {
            throw ConsoleError("demo: \(dir) is not empty; give a new or empty directory, or leave out --dir")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        root = URL(fileURLWithPath: dir).standardizedFileURL.path
    } else {
        root = NSTemporaryDirectory() + "computemesh-demo-" + String(UUID().uuidString.prefix(8)).lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    installDemoInterrupt(root: root, keep: keep)
    let ok = try runBlocking { await DemoRun(root: root, meshctl: executable, meshd: meshd, console: console).run() }
    RunningChildren.stopAll(seconds: 5)
    if keep {
        print("kept \(root) (configurations, certificates, node logs: nodes/*.log)")
    } else {
        try? FileManager.default.removeItem(atPath: root)
    }
    return ok ? 0 : 1
}

/// Ctrl-C stops every node, cleans up and exits 130.
func installDemoInterrupt(root: String, keep: Bool) {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    for number in [SIGINT, SIGTERM] {
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            LiveConsoleShell.restoreTerminal()
            print("\ninterrupted: stopping the nodes")
            RunningChildren.stopAll(seconds: 5)
            if !keep { try? FileManager.default.removeItem(atPath: root) }
            exit(130)
        }
        source.resume()
        demoInterruptSources.append(source)
    }
}

/// Keeps the demo's signal sources alive for the life of the process (touched from the main task
/// only, before any signal can arrive).
nonisolated(unsafe) var demoInterruptSources: [any DispatchSourceSignal] = []

// MARK: - The tour

/// A step failed: what was expected and what was seen.
struct DemoFailure: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// One run of the tour. Used from one task only.
final class DemoRun: @unchecked Sendable {
    let root: String
    let meshctl: String
    let meshd: NodeLauncher
    /// Whether the live console opens before the nodes stop.
    let openConsole: Bool
    var nodes = DemoMesh.nodes
    var processes: [String: ChildProcess] = [:]
    var consoles: [String: ConsoleClient] = [:]
    var names = NodeDirectory()
    var results: [(title: String, passed: Bool, note: String)] = []
    var stepNumber = 0
    let totalSteps = 13
    let started = Date()
    var placedInRegion: Outcome?
    var placedSpillover: Outcome?
    var registeredID: ComputeID?

    init(root: String, meshctl: String, meshd: NodeLauncher, console: Bool) {
        self.openConsole = console
        self.root = root
        self.meshctl = meshctl
        self.meshd = meshd
    }

    func say(_ text: String) { print("  " + text) }
    func indent(_ text: String) { print(text) }

    func node(_ name: String) -> DemoNode { nodes.first { $0.name == name }! }
    func console(_ name: String) -> ConsoleClient { consoles[name]! }

    /// Runs one step; a thrown error fails it. Returns whether it passed.
    @discardableResult
    func step(_ title: String, _ body: () async throws -> String) async -> Bool {
        stepNumber += 1
        print("\n[\(stepNumber)/\(totalSteps)] \(title)")
        do {
            let note = try await body()
            results.append((title, true, note))
            return true
        } catch {
            print("  FAILED: \(error)")
            results.append((title, false, "\(error)"))
            return false
        }
    }

    func run() async -> Bool {
        print("ComputeMesh demo: two regions (cn-north, cn-east), each with two regional nodes and one industry node,")
        print("all on 127.0.0.1, speaking mutual TLS 1.3. Working directory: \(root)")
        var ok =
            await step("Federation authority: a root, and an admitted operator") { try await federation() }
        if ok { ok = await step("Certificates: six nodes and one operator console") { try await certificates() } }
        if ok { ok = await step("Node configurations") { try configurations() } }
        if ok { ok = await step("Start six meshd processes") { try await startNodes() } }
        if ok { ok = await step("Membership: every node sees its region alive") { try await waitForMembership() } }
        if ok { ok = await step("Register one more pool through the console") { try await registerPool() } }
        if ok { ok = await step("Inventory as the finance industry node sees it") { try await showInventory() } }
        if ok { ok = await step("Place a request that fits in its own region") { try await placeInRegion() } }
        if ok { ok = await step("Place a request only the other region can serve (spillover)") { try await placeSpillover() } }
        if ok { ok = await step("Place a request nobody can serve") { try await placeRefused() } }
        if ok { ok = await step("Why: the explanation of the first placement") { try await showWhy() } }
        if ok { ok = await step("Placements on the owning node") { try await showPlacements() } }
        if ok && openConsole {
            // On its own thread: the console waits for its session, which needs the cooperative
            // pool this task runs on.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread {
                    self.liveConsole()
                    done.resume()
                }.start()
            }
        }
        stepNumber = totalSteps - 1
        for console in consoles.values { console.close() }
        consoles = [:]
        let stopped = await step("Stop: SIGTERM every node; each leaves the mesh and exits 0") { try await stopNodes() }
        ok = ok && stopped
        summary()
        return ok && results.allSatisfy(\.passed) && results.count == totalSteps
    }

    /// The live console on north-finance, where two of the placements entered: the mesh as an
    /// operator on call sees it, until q.
    func liveConsole() {
        let entry = node("north-finance")
        print("\nThe live console on \(entry.name) (\(entry.address)); q closes it and the nodes stop.")
        fflush(nil)
        sleep(2)
        do {
            _ = try LiveConsoleShell.run(
                address: entry.address, credentials: .directory(root + "/console"), exitOnSignals: false)
        } catch {
            print("  the live console could not open: \(error)")
        }
    }

    // MARK: Steps

    func pki(_ arguments: [String], log: String) async throws -> String {
        let child = try ChildProcess.spawn(
            name: "meshctl", executable: meshctl, arguments: arguments, stdoutPath: root + "/" + log,
            stderrPath: root + "/" + log)
        guard await child.wait(seconds: 20) else {
            child.signal(SIGKILL)
            throw DemoFailure("meshctl \(arguments.prefix(2).joined(separator: " ")) did not finish within 20 s")
        }
        let output = child.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        guard child.exitStatus == 0 else {
            throw DemoFailure("meshctl \(arguments.joined(separator: " ")) ended with \(child.exitDescription):\n\(output)")
        }
        return output
    }

    func federation() async throws -> String {
        try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)
        _ = try await pki(["authority", "init", root + "/authority"], log: "logs/authority-init.log")
        say("created the federation root (an Ed25519 key and a self-signed certificate) in authority/")
        let application = try operatorApplication()
        _ = try await pki(
            ["authority", "admit", application.path, "--authority", root + "/authority", "--out", root + "/operator"],
            log: "logs/authority-admit.log")
        say("admitted the operator in \(application.shown):")
        say("registered capital, telecom licence, facilities, staff and integrity record meet the entry")
        say("conditions; its credential (operator key and certificate) is in operator/")
        return "root and operator"
    }

    /// deploy/examples/operator-application.json when run from the package, else a copy of it.
    func operatorApplication() throws -> (path: String, shown: String) {
        let relative = "deploy/examples/operator-application.json"
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
        var dir = URL(fileURLWithPath: meshctl).deletingLastPathComponent()
        for _ in 0..<5 {
            dir = dir.deletingLastPathComponent()
            candidates.append(dir.path + "/" + relative)
        }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            return (found, relative)
        }
        let path = root + "/operator-application.json"
        try Data(embeddedApplication.utf8).write(to: URL(fileURLWithPath: path))
        return (path, "operator-application.json (a copy of \(relative))")
    }

    func certificates() async throws -> String {
        var rows: [[String]] = []
        for index in nodes.indices {
            let n = nodes[index]
            var arguments = [
                "cert", "issue", "--operator", root + "/operator", "--role", n.role.description, "--region", n.region,
                "--out", root + "/nodes/" + n.name,
            ]
            if let sector = n.sector { arguments += ["--sector", sector] }
            _ = try await pki(arguments, log: "logs/cert-\(n.name).log")
            let key = try Ed25519PrivateKey(contentsOf: root + "/nodes/\(n.name)/node.key")
            nodes[index].nodeID = key.nodeID
            names.add(key.nodeID, try NodeName(n.name))
            rows.append([n.name, n.role.description + (n.sector.map { " (\($0))" } ?? ""), n.region, key.nodeID.short + "…"])
        }
        _ = try await pki(
            [
                "cert", "issue", "--operator", root + "/operator", "--role", "operator", "--region", "cn-north", "--out",
                root + "/console",
            ],
            log: "logs/cert-console.log")
        rows.append(["console", "operator console", "cn-north", "-"])
        say("each NodeID is the SHA-256 of the node's Ed25519 key; the certificate binds it to a role and region:")
        indent(
            TextTable(["name", "role", "region", "NodeID"].map { TextTable.Column($0) }, rows: rows, indent: "    ").render(
                width: nil))
        return "7 certificates"
    }

    func configurations() throws -> String {
        for index in nodes.indices { nodes[index].port = try freeLoopbackPort() }
        var rows: [[String]] = []
        for n in nodes {
            let sameRegion = nodes.filter { $0.region == n.region && $0.name != n.name && $0.role == .regional }
            let otherRegional = nodes.filter { $0.region != n.region && $0.role == .regional }
            let config = NodeConfiguration(
                name: n.name, role: n.role.description, region: n.region, sectors: n.sector.map { [$0] },
                listen: n.address, seeds: sameRegion.map(\.address),
                backbone: n.role == .regional ? otherRegional.map(\.address) : nil, dataDirectory: n.name + "/data",
                credentials: .init(
                    key: n.name + "/node.key", certificate: n.name + "/node.pem", root: n.name + "/root.pem",
                    revocations: "../authority/revocations.frame"),
                randomSeed: nil, pools: n.pools)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let path = root + "/nodes/\(n.name).json"
            try encoder.encode(config).write(to: URL(fileURLWithPath: path))
            do { _ = try NodeConfiguration.load(path) } catch {
                throw DemoFailure("the demo wrote a configuration meshd would refuse: \(error)")
            }
            let pools = n.pools.map { p in
                let accelerators = (p.accelerators ?? []).map { "\($0.count)× \($0.vendor) \($0.model)" }.joined(separator: ", ")
                return
                    "\(p.name) (\(accelerators.isEmpty ? "CPU \(p.architecture)" : accelerators), ¥\(String(format: "%.2f", p.pricePerUnitHour)), \(Int(p.greenEnergyPercent ?? 0))% green)"
            }.joined(separator: "; ")
            rows.append([n.name, n.address, pools])
        }
        say("nodes/NAME.json for each node (the format of deploy/examples); regional nodes seed each other in")
        say("their region and list the other region's regional nodes as backbone; industry nodes peer upward:")
        indent(
            TextTable(["node", "listens on", "pools"].map { TextTable.Column($0) }, rows: rows, indent: "    ").render(width: nil)
        )
        return "6 configurations"
    }

    func startNodes() async throws -> String {
        for n in nodes {
            let child = try ChildProcess.spawn(
                name: n.name, executable: meshd.executable,
                arguments: meshd.leadingArguments + ["--config", root + "/nodes/\(n.name).json"],
                stdoutPath: root + "/nodes/\(n.name).out", stderrPath: root + "/nodes/\(n.name).log")
            processes[n.name] = child
        }
        let deadline = Date().addingTimeInterval(15)
        var lines: [String: String] = [:]
        while lines.count < nodes.count {
            for n in nodes where lines[n.name] == nil {
                let child = processes[n.name]!
                let out = child.standardOutput
                if let newline = out.firstIndex(of: "\n") {
                    lines[n.name] = String(out[..<newline])
                } else if child.poll() {
                    let log = child.standardError.split(separator: "\n").prefix(8).joined(separator: "\n    ")
                    throw DemoFailure(
                        "\(n.name) ended (\(child.exitDescription)) before listening. Its standard error:\n    \(log)")
                }
            }
            if Date() > deadline {
                let missing = nodes.filter { lines[$0.name] == nil }.map(\.name)
                throw DemoFailure(
                    "no 'listening' line within 15 s from \(missing.joined(separator: ", ")); see nodes/NAME.log")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        for n in nodes {
            let line = lines[n.name]!
            let expected =
                "meshd: \(n.name) listening on \(n.address) as \(n.role) node \(n.nodeID!.hex) in \(n.region)"
            guard line == expected else {
                throw DemoFailure("\(n.name) printed\n    \(line)\n  expected\n    \(expected)")
            }
            say("\(n.name): listening on \(n.address) as \(n.role) node \(n.nodeID!.short)… in \(n.region)")
        }
        for n in nodes {
            consoles[n.name] = try await ConsoleClient.connect(to: n.address, credentials: .directory(root + "/console"))
        }
        say("the operator console connected to all six over TLS with its operator certificate")
        return "6 nodes listening"
    }

    func waitForMembership() async throws -> String {
        let deadline = Date().addingTimeInterval(60)
        let begin = Date()
        var laggards: [String: String] = [:]
        var lastReported = -5
        while true {
            laggards = [:]
            for n in nodes {
                let peers = nodes.filter { $0.region == n.region && $0.name != n.name }
                let rows = try await console(n.name).members()
                let alive = Set(rows.filter { $0.update.status == .alive }.map(\.update.node))
                let missing = peers.filter { !alive.contains($0.nodeID!) }.map(\.name)
                if !missing.isEmpty { laggards[n.name] = "does not yet see \(missing.joined(separator: ", ")) alive" }
            }
            let seconds = Int(Date().timeIntervalSince(begin))
            let progress =
                "  \(nodes.count - laggards.count)/\(nodes.count) nodes see every member of their region alive (\(seconds) s)"
            if isatty(1) == 1 {
                print("\r" + progress, terminator: "")
                fflush(nil)
            } else if laggards.isEmpty || seconds >= lastReported + 5 {
                print(progress)
                lastReported = seconds
            }
            if laggards.isEmpty { break }
            if Date() > deadline {
                if isatty(1) == 1 { print("") }
                let detail = laggards.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "; ")
                throw DemoFailure("membership did not converge within 60 s: \(detail)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        if isatty(1) == 1 { print("") }
        var rows: [[String]] = []
        for n in nodes {
            let s = try await console(n.name).status()
            guard s.nodeID == n.nodeID, s.role == n.role, s.region.code == n.region else {
                throw DemoFailure("\(n.name)'s STATUS says \(s.role) node \(s.nodeID.short) in \(s.region)")
            }
            rows.append([n.name, String(s.aliveMembers), String(s.suspectMembers), String(s.deadMembers), String(s.pools)])
        }
        say("every node's STATUS (SWIM with Lifeguard keeps these counts current):")
        indent(
            TextTable(["node", "alive", "suspect", "dead", "pools"].map { TextTable.Column($0) }, rows: rows, indent: "    ")
                .render(width: nil))
        say("north-1's membership list:")
        indent(
            ConsoleText.members(try await console("north-1").memberList(), width: ConsoleText.defaultWidth - 2)
                .replacingOccurrences(
                    of: "\n  ", with: "\n    "
                )
                .replacingFirst("  ", with: "    "))
        return "converged in \(Int(Date().timeIntervalSince(begin))) s"
    }

    func registerPool() async throws -> String {
        let path = root + "/pools/kunlun-hall-3.json"
        try FileManager.default.createDirectory(atPath: root + "/pools", withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(DemoMesh.registeredPool).write(to: URL(fileURLWithPath: path))
        let pool = try loadPoolFile(path)
        let target = node("north-2")
        let status = try await console("north-2").status()
        let descriptor = try poolDescriptor(pool, node: status.nodeID, region: status.region, path: path)
        let registered = try await console("north-2").register(descriptor)
        guard registered.id == descriptor.id else {
            throw DemoFailure("POOL_REGISTERED names \(registered.id), expected \(descriptor.id)")
        }
        registeredID = registered.id
        say("`meshctl console register pools/kunlun-hall-3.json` on \(target.name): 32 Kunlunxin P800 NPUs at ¥1.80,")
        say("for education, finance and research; the node stored it durably, then answered POOL_REGISTERED:")
        say("  \(names.pool(registered.id)) published as inventory record \(registered.epoch).\(registered.sequence)")
        let after = try await console("north-2").status()
        guard after.pools == status.pools + 1 else {
            throw DemoFailure("north-2's STATUS shows \(after.pools) pools after registering; expected \(status.pools + 1)")
        }
        say("north-2's STATUS now counts \(after.pools) pools")
        return "registered"
    }

    func showInventory() async throws -> String {
        let viewer = "north-finance"
        let northPools = nodes.filter { $0.region == "cn-north" }.reduce(0) { $0 + $1.pools.count } + 1
        let begin = Date()
        var view = Inventory(pools: [], summaries: [], more: false)
        var seenNorth = 0
        // Every cn-north node, not only the viewer: the placements that follow are decided by
        // whichever regional node the industry node forwards to, and a decider that has not yet
        // heard of a pool cannot consider it (nor explain why it did not choose it).
        for holder in nodes.filter({ $0.region == "cn-north" }).map(\.name) {
            while true {
                view = try await console(holder).inventory(region: nil)
                seenNorth =
                    view.pools.filter {
                        if case .descriptor(let d) = $0.descriptor.body { return d.residency.code == "cn-north" }
                        return false
                    }.count
                if seenNorth >= northPools { break }
                if Date().timeIntervalSince(begin) > 20 {
                    throw DemoFailure("after 20 s \(holder) sees \(seenNorth) of the \(northPools) cn-north pools in full")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        // Region summaries travel between regional nodes over the backbone: every 10 s each
        // regional node sends them to its backbone peers in turn, so each peer hears from it once
        // every (peers × 10 s). The first may be issued before the sender's region has converged,
        // so wait for a full one, at every regional node: any of them may route the spillover
        // request. 60 s covers two rounds to every peer with room for a loaded machine (with a
        // random pick, which it was, 30 s failed about once in 20 runs under load).
        var backbone: [RegionSummary] = []
        for holder in nodes.filter({ $0.role == .regional }) {
            let other = holder.region == "cn-north" ? "cn-east" : "cn-north"
            let otherPools = nodes.filter { $0.region == other }.reduce(0) { $0 + $1.pools.count } + (other == "cn-north" ? 1 : 0)
            while true {
                let summaries = try await console(holder.name).inventory(region: nil).summaries
                let summary = summaries.first { $0.region.code == other }
                if holder.name == "north-1" { backbone = summaries }
                if let summary, summary.poolCount >= UInt32(otherPools) { break }
                if Date().timeIntervalSince(begin) > 60 {
                    throw DemoFailure(
                        "after 60 s \(holder.name) holds "
                            + (summary.map { "a summary of \(other) with \($0.poolCount) pools" } ?? "no summary of \(other)")
                            + "; expected one with all \(otherPools) \(other) pools")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        view = try await console(viewer).inventory(region: nil)
        say("\(viewer) holds its own region's pools in full, the registered one included (it arrived by")
        say("gossip); availability shows free/total:")
        indent(ConsoleText.inventory(view, width: ConsoleText.defaultWidth))
        if !view.summaries.contains(where: { $0.region.code == "cn-east" }) {
            say("\(viewer) holds no summary of cn-east; its regional nodes do. north-1's summary of the other region:")
            indent(
                ConsoleText.inventory(
                    Inventory(pools: [], summaries: backbone, more: false, names: names.entries), width: ConsoleText.defaultWidth
                ).replacingFirst("  (no pools in view)\n", with: ""))
        }
        return "\(seenNorth) pools in full; cn-east summarised on the backbone"
    }

    func place(_ file: PlacementRequestFile, through entry: String, name: String) async throws -> Outcome {
        try FileManager.default.createDirectory(atPath: root + "/requests", withIntermediateDirectories: true)
        let path = root + "/requests/\(name).json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(file).write(to: URL(fileURLWithPath: path))
        let loaded = try PlacementRequestFile.load(path)
        let request = try loaded.request(requestID: freshRequestID(), origin: node(entry).nodeID!, now: wallClockNow())
        say(
            "`meshctl console place requests/\(name).json` through \(entry): tenant \(request.tenant) (\(request.sector)) asks for"
        )
        say(
            "  \(TextFormat.demand(request.demand))"
                + (request.constraints.residency.isEmpty
                    ? "" : ", data in \(request.constraints.residency.map(\.code).joined(separator: " or "))")
                + (request.constraints.certifications.isEmpty
                    ? "" : ", certified \(request.constraints.certifications.map(\.name).joined(separator: ","))"))
        let begin = Date()
        let outcome = try await console(entry).place(request)
        guard outcome.requestID == request.requestID else {
            throw DemoFailure("OUTCOME names request \(outcome.requestID), expected \(request.requestID)")
        }
        say("OUTCOME after \(Int(Date().timeIntervalSince(begin) * 1000)) ms:")
        indent(
            ConsoleText.outcome(outcome, names: names, width: ConsoleText.defaultWidth - 2).split(separator: "\n").map {
                "  " + $0
            }
            .joined(separator: "\n"))
        return outcome
    }

    func leases(_ outcome: Outcome) throws -> [Lease] {
        switch outcome.result {
        case .placed(let leases) where !leases.isEmpty: return leases
        case .placed: throw DemoFailure("PLACED with no lease")
        case .refused(let reason, let message): throw DemoFailure("expected a placement, got a refusal: \(reason): \(message)")
        }
    }

    func placeInRegion() async throws -> String {
        let outcome = try await place(DemoMesh.inRegionRequest, through: "north-finance", name: "in-region")
        let lease = try leases(outcome)[0]
        let owner = nodes.first { $0.nodeID == lease.pool.owner }
        guard let owner, owner.region == "cn-north" else {
            throw DemoFailure("expected a cn-north pool, got \(names.pool(lease.pool))")
        }
        guard lease.acceleratorCount == 16 else {
            throw DemoFailure("the lease has \(lease.acceleratorCount) accelerators, not 16")
        }
        placedInRegion = outcome
        say("placed in cn-north on \(names.pool(lease.pool)): of the finance-grade GPU pools there, the Hygon one")
        say("is above the ¥4.00 price cap")
        return "placed on \(names.pool(lease.pool))"
    }

    func placeSpillover() async throws -> String {
        let outcome = try await place(DemoMesh.spilloverRequest, through: "east-manufacturing", name: "spillover")
        let lease = try leases(outcome)[0]
        guard let owner = nodes.first(where: { $0.nodeID == lease.pool.owner }), owner.region == "cn-north" else {
            throw DemoFailure("expected the request to spill over to cn-north, got \(names.pool(lease.pool))")
        }
        placedSpillover = outcome
        let path = outcome.explanation.path.map(names.label).joined(separator: " → ")
        let decider = names.label(outcome.explanation.decidedBy)
        say("it entered in cn-east, which has no H800s, and travelled \(path)")
        say("(upward to a regional node, then over the backbone); \(decider) chose the pool, and")
        say("\(owner.name), the pool's owner and the only writer of its ledger, committed the lease")
        return "spilled over to \(owner.name)"
    }

    func placeRefused() async throws -> String {
        let outcome = try await place(DemoMesh.refusedRequest, through: "north-finance", name: "refused")
        guard case .refused(let reason, let message) = outcome.result else {
            throw DemoFailure("4,096 GPUs in one pool was placed; expected a refusal")
        }
        say("refused as it should be: \(reason) — \(message)")
        return "refused: \(reason)"
    }

    func showWhy() async throws -> String {
        guard let outcome = placedInRegion else { throw DemoFailure("no placement to explain") }
        let hygon = try ComputeID(owner: node("north-finance").nodeID!, path: ["dcu-trading"])
        var asked = "north-finance"
        var why: Why
        do {
            why = try await console(asked).why(outcome.requestID, pool: hygon)
        } catch {
            let decider = names.label(outcome.explanation.decidedBy)
            guard consoles[decider] != nil, decider != asked else { throw error }
            say("north-finance has no explanation (\(error)); asking the node that decided, \(decider)")
            asked = decider
            why = try await console(asked).why(outcome.requestID, pool: hygon)
        }
        say("`meshctl console why \(outcome.requestID) --pool \(names.pool(hygon))` on \(asked):")
        indent(
            ConsoleText.explanation(why.explanation, focus: why.focus, names: names, width: ConsoleText.defaultWidth - 2)
                .replacingOccurrences(of: "\n", with: "\n  ")
                .replacingFirst("  ", with: "    "))
        if why.focus == nil { throw DemoFailure("WHY with --pool came back without a verdict on that pool") }
        guard why.explanation.requestID == outcome.requestID else {
            throw DemoFailure("WHY explains request \(why.explanation.requestID), expected \(outcome.requestID)")
        }
        guard why.explanation.chosen == outcome.explanation.chosen else {
            throw DemoFailure(
                "WHY says the chosen pool was \(why.explanation.chosen.map(names.pool) ?? "none"), the outcome said \(outcome.explanation.chosen.map(names.pool) ?? "none")"
            )
        }
        if let focus = why.focus {
            guard case .filtered = focus.outcome else {
                throw DemoFailure("the Hygon pool is above the price cap and should be filtered, but it was scored")
            }
        }
        return "explained by \(asked)"
    }

    func showPlacements() async throws -> String {
        guard let first = placedInRegion, let second = placedSpillover else { throw DemoFailure("no placements to show") }
        let lease = try leases(first)[0]
        let ownerName = names.label(lease.pool.owner)
        let owned = try await console(ownerName).placements()
        say("`meshctl console placements` on \(ownerName), the single writer of its pools' ledger:")
        indent(ConsoleText.leases(owned.leases, names: names, width: ConsoleText.defaultWidth))
        var expected = [lease.leaseID]
        let spill = try leases(second)[0]
        if spill.pool.owner == lease.pool.owner { expected.append(spill.leaseID) }
        for id in expected where !owned.leases.contains(where: { $0.leaseID == id }) {
            throw DemoFailure("\(ownerName) does not list lease \(id)")
        }
        let status = try await console(ownerName).status()
        say(
            "\(ownerName)'s STATUS: \(status.activeLeases) active lease(s), \(status.activeHolds) hold(s) (quotes that lost have lapsed or been released)"
        )
        return "\(owned.leases.count) lease(s) on \(ownerName)"
    }

    func stopNodes() async throws -> String {
        for n in nodes { processes[n.name]?.signal(SIGTERM) }
        var problems: [String] = []
        var rows: [[String]] = []
        for n in nodes {
            guard let child = processes[n.name] else { continue }
            let exited = await child.wait(seconds: 10)
            if !exited {
                child.signal(SIGKILL)
                _ = await child.wait(seconds: 2)
                problems.append("\(n.name) did not exit within 10 s of SIGTERM (killed)")
            } else if child.exitStatus != 0 {
                let tail = child.standardError.split(separator: "\n").suffix(3).joined(separator: " | ")
                problems.append("\(n.name) ended with \(child.exitDescription) (last log lines: \(tail))")
            }
            rows.append([n.name, child.exitDescription])
        }
        indent(TextTable(["node", "after SIGTERM"].map { TextTable.Column($0) }, rows: rows, indent: "    ").render(width: nil))
        if !problems.isEmpty { throw DemoFailure(problems.joined(separator: "; ")) }
        return "all exited 0"
    }

    func summary() {
        let seconds = Date().timeIntervalSince(started)
        let passed = results.filter(\.passed).count
        print("\nSummary (\(String(format: "%.1f", seconds)) s): \(passed) of \(totalSteps) steps did what they claim")
        for r in results {
            print("  \(r.passed ? "ok  " : "FAIL") \(r.title): \(r.note)")
        }
        if results.count < totalSteps { print("  (steps after the first failure were skipped)") }
        if passed == totalSteps && results.count == totalSteps {
            print("demo passed: the mesh formed, placed, spilled over, refused, explained and shut down cleanly")
        } else {
            print("demo FAILED; node logs are in \(root)/nodes/*.log (keep them with --keep)")
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}

/// A copy of deploy/examples/operator-application.json, for a meshctl run outside the package.
