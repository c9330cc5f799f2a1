import Dispatch
import Foundation
import Glibc
import MeshCore
import MeshTransport

/// `meshd`'s command line: parse, load the configuration, run one node until SIGTERM or SIGINT.
///
/// Contract (relied on by `meshctl demo` and the integration tests): once listening, the daemon
/// prints exactly one line to standard output,
/// `meshd: NAME listening on HOST:PORT as ROLE node NODEID in REGION`, and flushes it. Logs go to
/// standard error. SIGTERM or SIGINT make it leave the mesh gracefully and exit 0; SIGHUP reloads
/// the configuration file (pools, the revocation list; it names what needs a restart); SIGUSR1
/// logs a state summary. A bad
/// configuration or credentials: one paragraph on standard error naming the file and the field,
/// exit 2.
public enum MeshDaemon {
    static let usage = """
        usage: meshd --config FILE [--log-level trace|debug|info|warning|error] [--log-format text|json]
               meshd --check-config FILE
               meshd --version

        Runs one ComputeMesh node (regional or industry) from a JSON configuration file; see
        deploy/examples/ and README.md. Stops gracefully on SIGTERM or SIGINT; SIGHUP reloads the
        configuration (pools, revocations); SIGUSR1 logs a state summary. --check-config prints every
        problem of a configuration file and exits 2, or 0 when it is clean. MESH_NAME, MESH_LISTEN,
        MESH_SEEDS, MESH_BACKBONE, MESH_DATA_DIRECTORY, MESH_METRICS and MESH_RANDOM_SEED override
        the file's fields.

        """

    /// Runs the daemon; returns the process exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        var configPath: String?
        var level: TransportLogger.Level?
        var format: LogFormat?
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--config" where i + 1 < arguments.count:
                configPath = arguments[i + 1]
                i += 2
            case "--check-config" where i + 1 < arguments.count:
                return checkConfiguration(arguments[i + 1])
            case "--log-level" where i + 1 < arguments.count:
                let names: [TransportLogger.Level] = [.trace, .debug, .info, .warning, .error]
                guard let match = names.first(where: { $0.description == arguments[i + 1] }) else {
                    return fail("unknown log level '\(arguments[i + 1])': use trace, debug, info, warning or error")
                }
                level = match
                i += 2
            case "--log-format" where i + 1 < arguments.count:
                guard let match = LogFormat(rawValue: arguments[i + 1]) else {
                    return fail("unknown log format '\(arguments[i + 1])': use text or json")
                }
                format = match
                i += 2
            case "--help", "-h", "help":
                print(usage, terminator: "")
                return 0
            case "--version":
                print("meshd \(MeshVersion.current) (wire protocol 1)")
                return 0
            default:
                return fail("unexpected argument '\(arguments[i])'\n\n\(usage)")
            }
        }
        guard let configPath else { return fail("--config FILE is required\n\n\(usage)") }
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
