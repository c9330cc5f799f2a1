// meshctl console: an operator's debug console on one node, over mutual TLS 1.3 with an
// operator certificate (or plaintext on loopback, for nodes started with "plaintext": true).
//
// Every request carries a fresh non-zero correlation ID and waits for the answer with the same
// ID: the node's response, or an ERROR frame naming what it refused. Waits are bounded: connect
// 5 s, answers 10 s, PLACE until the request's deadline plus 5 s.
import Foundation
import Glibc
import MeshCommandLine
import MeshConsole
import MeshCore
import MeshCrypto
import MeshRuntime
import MeshTransport
import MeshWire

// MARK: - Commands

/// `meshctl console`: the live console on a running node, or one-shot commands for scripts.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "inspect and drive a running node over its console",
        discussion: """
            Without a subcommand: the live console, full screen (members, inventory, placement flow, \
            events; ? shows the keys, q quits; NO_COLOR is honoured).

            DIR holds node.key, node.pem and root.pem from `meshctl cert issue --role operator`.

            exit status: 0 done; 1 the node refused the request (or the placement was refused); 2 bad \
            usage, a bad file, or no connection. Waits: connect 5 s, answers 10 s, place until the \
            request's deadline + 5 s. Examples: deploy/examples/pool.json, deploy/examples/request.json.
            """,
        subcommands: [
            ConsoleStatus.self, ConsoleMembers.self, ConsoleInventory.self, ConsolePlacements.self, ConsoleWhy.self,
            ConsoleRegister.self, ConsolePlace.self, ConsoleWatch.self,
        ])
    @OptionGroup var connection: ConsoleConnection

    /// No subcommand: the live console, full screen, until q, Ctrl-C or SIGTERM.
    func run() throws -> Int32 {
        try LiveConsoleShell.run(address: connection.node, credentials: connection.consoleCredentials)
    }
}

/// How every console command reaches its node, and how it prints.
struct ConsoleConnection: ParsableArguments {
    @Option(help: "the node's address", valueName: "HOST:PORT", environment: "MESH_NODE") var node: String
    @Option(
        help: "an operator certificate directory (from cert issue --role operator)", valueName: "DIR",
        environment: "MESH_CREDENTIALS")
    var credentials: String?
    @Flag(help: "no TLS: only for a loopback node configured with \"plaintext\": true") var plaintext = false
    @Flag(help: "JSON for scripts: string enums, RFC 3339 times, decimal prices (README: Console JSON)") var json = false
    @Flag(help: "tables with every column, in full (default: fit 80 columns)") var wide = false

    func validate() throws {
        if json && wide { throw ValidationError("--wide shapes tables; --json prints no table: give one") }
        switch (credentials, plaintext) {
        case (_?, true): throw ValidationError("use either --credentials DIR or --plaintext, not both")
        case (nil, false):
            throw ValidationError(
                "--credentials DIR is required (an operator certificate; or set MESH_CREDENTIALS), or --plaintext for a plaintext loopback node"
            )
        default: return
        }
    }

    /// The width tables fit: none with `--wide`.
    var width: Int? { wide ? nil : ConsoleText.defaultWidth }

    /// Fetches one answer and prints it: as JSON with `--json` (`json` shapes it), else as `text`
    /// renders it at ``width``.
    func show<Answer: Sendable>(
        _ fetch: @escaping @Sendable (ConsoleClient) async throws -> Answer,
        json shape: @escaping @Sendable (Answer) -> any Encodable,
        text: @escaping @Sendable (Answer, Int?) -> String
    ) throws -> Int32 {
        let (json, width) = (self.json, self.width)
        return try run { client in
            let answer = try await fetch(client)
            print(json ? try ConsoleJSON.encode(shape(answer)) : text(answer, width))
            return 0
        }
    }

    /// The credentials the options name.
    var consoleCredentials: ConsoleCredentials { credentials.map { .directory($0) } ?? .plaintext }

    /// Connects, runs `body` against the node and closes; the exit status is `body`'s.
    func run(_ body: @escaping @Sendable (ConsoleClient) async throws -> Int32) throws -> Int32 {
        let credentials = consoleCredentials
        let node = self.node
        return try runBlocking {
            let client = try await ConsoleClient.connect(to: node, credentials: credentials)
            defer { client.close() }
            return try await body(client)
        }
    }
}

struct ConsoleStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "the node's identity, uptime, members and ledger counts")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.status() }, json: { StatusJSON($0) }, text: ConsoleText.status)
    }
}

struct ConsoleMembers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "the node's membership list")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.memberList() }, json: { MembersJSON($0) }, text: ConsoleText.members)
    }
}

struct ConsoleInventory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory", abstract: "pools in view (the node's region in full) and other regions' summaries")
    @OptionGroup var connection: ConsoleConnection
    @Option(help: "only this region", valueName: "REGION", transform: { try Region($0) }) var region: Region?
    func run() throws -> Int32 {
        let region = region
        return try connection.show(
            { try await $0.inventory(region: region) }, json: { InventoryJSON($0) }, text: ConsoleText.inventory)
    }
}

struct ConsolePlacements: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "placements", abstract: "the leases the node owns")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.placements() }, json: { PlacementsJSON($0) }, text: ConsoleText.placements)
    }
}

struct ConsoleWhy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why", abstract: "why a request ended as it did (and why not a given pool)")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the request's ID, as place printed it", valueName: "REQUEST_ID", transform: { try RequestID(hex: $0) })
    var requestID: RequestID
    @Option(
        help: "why not this pool: as the tables print it (north-1/a100, 3f2a9c1d4e5f/a100, a100) or its compute ID",
        valueName: "POOL")
    var pool: String?
    func run() throws -> Int32 {
        let (requestID, reference) = (requestID, pool.map(PoolReference.init))
        return try connection.show(
            { client in
                let why = try await client.why(requestID, pool: nil)
                guard let reference else { return why }
                // The reference is resolved among this request's candidates, named as the tables
                // name them; the node then explains that one.
                let pool: ComputeID
                do {
                    pool = try reference.resolve(
                        among: why.explanation.verdicts.map(\.pool), names: NodeDirectory(why.names))
                } catch let error as PoolReferenceError {
                    throw ConsoleError("--pool \(error.description)")
                }
                return try await client.why(requestID, pool: pool)
            }, json: { WhyJSON($0) }, text: ConsoleText.why)
    }
}

struct ConsoleRegister: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register", abstract: "register a pool (a PoolConfiguration file) on the node, durably")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the pool, as in a node's configuration (deploy/examples/pool.json)", valueName: "POOL.json")
    var file: String
    func run() throws -> Int32 {
        // The file is checked before connecting: a bad file is reported without a node.
        let (json, path) = (connection.json, file)
        let pool = try loadPoolFile(path)
        _ = try poolDescriptor(pool, node: placeholderNode, region: try Region("local"), path: path)
        return try connection.run { client in
            let status = try await client.status()
            let descriptor = try poolDescriptor(pool, node: status.nodeID, region: status.region, path: path)
            let registered = try await client.register(descriptor)
            let names = status.directory
            print(
                json
                    ? try ConsoleJSON.encode(RegisteredJSON(registered, names: names))
                    : ConsoleText.registered(registered, names: names))
            return 0
        }
    }
}

struct ConsolePlace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place", abstract: "place a request entering at the node and print its outcome (exit 1 if refused)")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the request (deploy/examples/request.json)", valueName: "REQUEST.json") var file: String
    func run() throws -> Int32 {
        let (json, width, path) = (connection.json, connection.width, file)
        let requestFile = try PlacementRequestFile.load(path)
        do {
            _ = try requestFile.request(requestID: RequestID(value: 1), origin: placeholderNode, now: wallClockNow())
        } catch let error as ConsoleError {
            throw ConsoleError("\(path): \(error.description)")
        }
        return try connection.run { client in
            let status = try await client.status()
            let request = try requestFile.request(requestID: freshRequestID(), origin: status.nodeID, now: wallClockNow())
            if !json { print("placing request \(request.requestID): \(TextFormat.demand(request.demand))") }
            let outcome = try await client.place(request)
            // The entry node keeps the explanation, with the names of every node it mentions.
            var names = status.directory
            if let why = try? await client.why(outcome.requestID, pool: nil) { names.merge(why.names) }
            print(
                json
                    ? try ConsoleJSON.encode(OutcomeJSON(outcome, names: names))
                    : ConsoleText.outcome(outcome, names: names, width: width))
            if case .refused = outcome.result { return 1 }
            return 0
        }
    }
}

struct ConsoleWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "print the node's events as they happen, until Ctrl-C or SIGTERM (exit 0)")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        let (json, node) = (connection.json, connection.node)
        return try connection.run { client in
            let mask = EventKind.allCases.reduce(UInt32(0)) { $0 | $1.mask }
            let stream = client.subscribe(kinds: mask)
            installInterruptExit()
            if !json { print("watching \(node) (Ctrl-C to stop)") }
            fflush(nil)
            for await event in stream {
                print(json ? try ConsoleJSON.encode(EventJSON(event), compact: true) : ConsoleText.event(event))
                fflush(nil)
            }
            let reason = client.closedReason ?? "closed"
            throw ConsoleError("the node ended the event stream: \(reason)")
        }
    }
}

/// Stands in for the node's ID while a file is checked before connecting.
let placeholderNode = NodeID(w0: 0, w1: 0, w2: 0, w3: 1)

/// Ctrl-C or SIGTERM ends `watch` with status 0, after every event printed so far has been
/// written out (each is also flushed as it is printed, for output redirected to a file or pipe).
func installInterruptExit() {
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            fflush(nil)
            exit(0)
        }
        source.resume()
        interruptSources.append(source)
    }
}

/// Keeps signal sources alive for the life of the process (touched from the main task only).
nonisolated(unsafe) var interruptSources: [any DispatchSourceSignal] = []
