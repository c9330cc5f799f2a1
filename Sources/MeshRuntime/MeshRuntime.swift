import Dispatch
import Foundation
import Glibc
public import MeshCommandLine
import MeshCore
public import MeshTransport

/// `meshd`'s command line: parse, load the configuration, run one node until SIGTERM or SIGINT.
///
/// Contract (relied on by `meshctl demo` and the integration tests): once listening, the daemon
/// prints exactly one line to standard output,
/// `meshd: NAME listening on HOST:PORT as ROLE node NODEID in REGION`, and flushes it. Logs go to
/// standard error. SIGTERM or SIGINT make it leave the mesh gracefully and exit 0; SIGHUP reloads
/// the configuration file (pools, the revocation list, log settings, a renewed certificate; it
/// names what needs a restart); SIGUSR1 logs a state summary. A bad configuration or
/// credentials: one paragraph on standard error naming the file and the field,
/// exit 2.
public enum MeshDaemon {
    /// Runs the daemon on `arguments` (after the program's name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        CommandLineTool.main(MeshdCommand.self, arguments: arguments)
    }
}

/// `meshd`'s command line, declared once: options, help, usage and errors follow from it.
public struct MeshdCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "meshd",
        abstract: "Runs one ComputeMesh node (regional or industry) from a JSON configuration file.",
        discussion: """
            See deploy/examples/ and README.md for configurations. Stops gracefully on SIGTERM or SIGINT;
            SIGHUP reloads the configuration (pools, revocations, log level and format, a certificate
            renewed for the same key); SIGUSR1 logs a
            state summary. MESH_NAME, MESH_LISTEN, MESH_SEEDS, MESH_BACKBONE, MESH_DATA_DIRECTORY,
            MESH_METRICS and MESH_RANDOM_SEED override the file's fields.

            exit status: 0 stopped cleanly or a clean configuration; 2 a bad command line, configuration
            or credentials, or a data directory in use or of another node; 3 the ledger failed (halted).
            """,
        version: "meshd \(MeshVersion.current) (wire protocol 1)")

    @Option(help: "the node's configuration file", valueName: "FILE") var config: String?
    @Option(help: "print every problem of FILE and exit 2, or one line and exit 0 when it is clean", valueName: "FILE")
    var checkConfig: String?
    @Option(help: "trace, debug, info, warning or error (default: the file's, else info)", valueName: "LEVEL")
    var logLevel: LogLevelName?
    @Option(help: "text (logfmt) or json, one object a line (default: the file's, else text)", valueName: "FORMAT")
    var logFormat: LogFormat?

    public init() {}

    public func validate() throws {
        switch (config, checkConfig) {
        case (nil, nil): throw ValidationError("--config FILE is required (or --check-config FILE)")
        case (_?, _?): throw ValidationError("--config and --check-config exclude each other; give one")
        default: return
        }
    }

    public func run() throws -> Int32 {
        if let checkConfig { return MeshDaemon.checkConfiguration(checkConfig) }
        return MeshDaemon.serve(configPath: config!, level: logLevel?.level, format: logFormat)
    }
}

/// `meshctl node ...` and `mesh-bench node ...`: a node process, exactly as meshd runs it, so that
/// the demo and the end-to-end benchmark need no other binary.
public struct NodeProcessCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "node", abstract: "run a node, exactly as meshd does (meshd's arguments follow)")
    @Argument(help: "meshd's arguments, e.g. --config FILE", valueName: "ARGUMENT", parsing: .remaining)
    var arguments: [String]
    public init() {}
    public func run() throws -> Int32 { MeshDaemon.main(arguments) }
}

/// `--log-level`'s values.
public enum LogLevelName: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, warning, error
    var level: TransportLogger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }
}

extension LogFormat: ExpressibleByArgument {}

extension MeshDaemon {
    /// Runs one node until SIGTERM or SIGINT; the exit status.
    static func serve(configPath: String, level: TransportLogger.Level?, format: LogFormat?) -> Int32 {
        let resolved: ResolvedConfiguration
        do { resolved = try NodeConfiguration.load(configPath).1 } catch { return fail(error.description) }
        // The command line's level and format win over the file's, at start and at every reload.
        let (levelFlag, formatFlag) = (level, format)
        let settings = LogSettings(
            level: levelFlag ?? resolved.logLevel ?? .info, format: formatFlag ?? resolved.logFormat ?? .text)
        let logger = TransportLogger.standardError(node: resolved.name.name, settings: settings)
        let node: Node
        let bound: NetAddress
        do {
            node = try Node(configuration: resolved, logger: logger)
            bound = try node.start()
        } catch {
            return fail("\(configPath): \(error.description)")
        }
        // Signals are handled before the readiness line: a supervisor may stop us as soon as it sees it.
        for number in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE] { signal(number, SIG_IGN) }
        var sources: [any DispatchSourceSignal] = []
        func on(_ number: Int32, _ handler: @escaping @Sendable () -> Void) {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
        let systemd = SystemdNotifier()
        if systemd.watchdogEnabled { node.heartbeat = { systemd.notify("WATCHDOG=1") } }
        for number in [SIGTERM, SIGINT] {
            on(number) {
                systemd.notify("STOPPING=1")
                node.stop()
            }
        }
        on(SIGUSR1) { node.requestSummary() }
        on(SIGHUP) {
            do {
                let next = try NodeConfiguration.load(configPath).1
                settings.set(level: levelFlag ?? next.logLevel ?? .info, format: formatFlag ?? next.logFormat ?? .text)
                logger.info("reload: log level \(settings.level), format \(settings.format.rawValue)")
                node.requestReload(next)
            } catch {
                logger.warning("reload (SIGHUP) refused, the node keeps its configuration: \(error)")
            }
        }
        FileHandle.standardOutput.write(
            Data(
                "meshd: \(resolved.name) listening on \(bound) as \(resolved.role) node \(node.nodeID.hex) in \(resolved.region)\n"
                    .utf8))

        systemd.notify("READY=1\nSTATUS=listening on \(bound)")
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await node.run()
            done.signal()
        }
        done.wait()
        sources.forEach { $0.cancel() }
        logger.info("stopped cleanly")
        return 0
    }

    /// `--check-config`: every problem of the file on its own line and exit 2, or one line and 0.
    static func checkConfiguration(_ path: String) -> Int32 {
        guard let data = FileManager.default.contents(atPath: path) else {
            return fail("cannot read the configuration file \(path): check the path and its permissions")
        }
        let problems = StrictJSON.problems(in: data, shape: NodeConfiguration.shape, file: path)
        if !problems.isEmpty {
            for problem in problems { FileHandle.standardError.write(Data("meshd: \(problem)\n".utf8)) }
            return 2
        }
        do {
            let resolved = try NodeConfiguration.load(path).1
            print(
                "meshd: \(path) is a valid configuration: \(resolved.role) node \(resolved.name) in \(resolved.region), "
                    + "\(resolved.pools.count) pool\(resolved.pools.count == 1 ? "" : "s")")
            return 0
        } catch {
            return fail(error.description)
        }
    }

    static func fail(_ text: String) -> Int32 {
        FileHandle.standardError.write(Data("meshd: \(text)\n".utf8))
        return 2
    }
}
