// The live console's shell: the terminal (raw mode, the alternate screen, SIGWINCH, SIGTERM,
// Ctrl-C) and the link to the node (connect, poll, subscribe, reconnect with backoff). Every
// decision is LiveConsole's; this file only feeds it inputs and performs its directives (issue 17).
import CLinuxShim
import Dispatch
import Foundation
import Glibc
public import MeshCore
import MeshRuntime
import MeshWire
import Synchronization

/// Runs the live console on this process's terminal.
public enum LiveConsoleShell {
    /// The answers are asked for again this often while the link is up.
    static let refreshMilliseconds = 2_000
    /// Reconnect waits: 0.5 s, doubling up to 8 s.
    static let firstBackoffMilliseconds: UInt64 = 500
    static let maxBackoffMilliseconds: UInt64 = 8_000

    /// Opens the console on `address` and returns 0 after `q` or Ctrl-C; the terminal is restored
    /// on each of them and on errors. Standard input and output MUST be a terminal.
    ///
    /// With `exitOnSignals` (meshctl console), SIGTERM, SIGINT and SIGHUP restore the terminal and
    /// exit 0. A caller with its own handlers (the demo, which must stop its nodes) passes false;
    /// its handlers MUST call ``restoreTerminal()`` first.
    public static func run(address: String, credentials: ConsoleCredentials, exitOnSignals: Bool = true) throws -> Int32 {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw ConsoleError(
                "the live console needs a terminal; in scripts use a subcommand (status, members, inventory, watch, …)")
        }
        let color = (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        RawTerminal.enter(exitOnSignals: exitOnSignals)
        let session = Session(address: address, credentials: credentials, color: color)
        defer {
            // The terminal first: a quitting operator never waits on the node.
            RawTerminal.restore()
            session.client.withLock { $0 }?.close()
        }
        return try runBlocking { await session.run() }
    }
}

extension LiveConsoleShell {
    /// Puts the terminal back as it was before ``run(address:credentials:exitOnSignals:)``: main
    /// screen, cursor shown, modes restored. Idempotent, and a no-op when no console is open.
    public static func restoreTerminal() { RawTerminal.restore() }
}

// MARK: - Terminal

/// Raw mode and the alternate screen, entered once and restored exactly once: by the normal
/// return, or by the SIGTERM/SIGINT handler, whichever comes first.
enum RawTerminal {
    private static let saved = Mutex<termios?>(nil)

    static func enter(exitOnSignals: Bool) {
        var original = termios()
        guard tcgetattr(0, &original) == 0 else { return }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        saved.withLock { $0 = original }
        tcsetattr(0, TCSAFLUSH, &raw)
        write(ANSI.enter)
        for number in [SIGTERM, SIGINT, SIGHUP] where exitOnSignals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                restore()
                exit(0)
            }
            source.resume()
            keep(source)
        }
    }

    /// Leaves the alternate screen, shows the cursor and puts the terminal's modes back.
    static func restore() {
        guard
            var original = saved.withLock({ s -> termios? in
                defer { s = nil }
                return s
            })
        else { return }
        write(ANSI.leave)
        tcsetattr(0, TCSAFLUSH, &original)
    }

    static func size() -> (columns: Int, rows: Int) {
        var columns: UInt16 = 0
        var rows: UInt16 = 0
        guard cmesh_terminal_size(1, &columns, &rows) == 0, columns > 0, rows > 0 else { return (80, 24) }
        return (Int(columns), Int(rows))
    }

    static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Keeps a signal source alive for the life of the process (sources are made on the main task
    /// and the session's task, one at a time, before any signal can arrive).
    static func keep(_ source: any DispatchSourceSignal) { signalSources.append(source) }
    nonisolated(unsafe) private static var signalSources: [any DispatchSourceSignal] = []
}

// MARK: - Session

/// One run of the console: inputs from the keyboard, the clock, SIGWINCH and the node, in one
/// stream, applied to one ``LiveConsole`` by one loop.
final class Session: Sendable {
    enum Input: Sendable {
        case console(LiveConsole.Input)
        /// The link task asks what to subscribe to; answered after every input before it (the
        /// fresh STATUS among them) has been applied.
        case subscription(CheckedContinuation<Subscribe, Never>)
        case quit
    }

    let address: String
    let credentials: ConsoleCredentials
    let color: Bool
    let inputs: AsyncStream<Input>
    let feed: AsyncStream<Input>.Continuation
    /// The connected client, for explanations; nil while the link is down.
    let client = Mutex<ConsoleClient?>(nil)

    init(address: String, credentials: ConsoleCredentials, color: Bool) {
        self.address = address
        self.credentials = credentials
        self.color = color
        (inputs, feed) = AsyncStream<Input>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    func run() async -> Int32 {
        let size = RawTerminal.size()
        var console = LiveConsole(address: address, columns: size.columns, rows: size.rows, now: wallClockNow())
        startKeyboard()
        startResizes()
        let link = Task { await self.keepLinked() }
        let clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                self.feed.yield(.console(.tick(wallClockNow())))
            }
        }
        defer {
            link.cancel()
            clock.cancel()
        }
        var drawn: Screen?
        var drawnSize = (size.columns, size.rows)
        RawTerminal.write(ANSI.draw(console.screen(), color: color))
        for await input in inputs {
            let event: LiveConsole.Input
            switch input {
            case .quit: return 0
            case .subscription(let answer):
                answer.resume(returning: console.subscription)
                continue
            case .console(let input): event = input
            }
            for directive in console.handle(event) {
                switch directive {
                case .quit: return 0
                case .explain(let id): explain(id)
                }
            }
            let screen = console.screen()
            if (console.columns, console.rows) != drawnSize {
                // A resize: clear what the old size left behind.
                RawTerminal.write("\u{1b}[2J")
                drawnSize = (console.columns, console.rows)
                drawn = nil
            }
            if screen != drawn {
                RawTerminal.write(ANSI.draw(screen, color: color))
                drawn = screen
            }
        }
        return 0
    }

    /// Reads the keyboard on its own thread (a blocking read has no place on the cooperative pool).
    func startKeyboard() {
        let feed = self.feed
        let thread = Thread {
            var decoder = KeyDecoder()
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let n = read(0, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    feed.yield(.quit)
                    return
                }
                let (keys, interrupt) = decoder.decode(Array(buffer[0..<n]))
                for key in keys { feed.yield(.console(.key(key))) }
                if interrupt { feed.yield(.quit) }
            }
        }
        thread.start()
    }

    func startResizes() {
        signal(SIGWINCH, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        let feed = self.feed
        source.setEventHandler {
            let size = RawTerminal.size()
            feed.yield(.console(.resize(columns: size.columns, rows: size.rows)))
        }
        source.resume()
        RawTerminal.keep(source)
    }

    func explain(_ id: RequestID) {
        guard let client = client.withLock({ $0 }) else {
            feed.yield(.console(.whyFailed(id, "not connected")))
            return
        }
        let feed = self.feed
        Task {
            do {
                feed.yield(.console(.why(try await client.why(id, pool: nil))))
            } catch {
                feed.yield(.console(.whyFailed(id, "\(error)")))
            }
        }
    }

    /// Connects, subscribes from the last event seen, refreshes the answers every 2 s, and when
    /// the node goes away says so and dials again with backoff, until cancelled.
    func keepLinked() async {
        var attempt = 1
        while !Task.isCancelled {
            feed.yield(.console(.link(.connecting(attempt: attempt))))
            var reason: String
            do {
                let connected = try await ConsoleClient.connect(to: address, credentials: credentials)
                attempt = 1
                client.withLock { $0 = connected }
                reason = await serve(connected)
                client.withLock { $0 = nil }
                connected.close()
            } catch let error as ConsoleError {
                reason = Self.shortReason(error.description)
            } catch {
                reason = "\(error)"
            }
            if Task.isCancelled { return }
            let wait = min(
                LiveConsoleShell.firstBackoffMilliseconds << UInt64(min(attempt - 1, 10)),
                LiveConsoleShell.maxBackoffMilliseconds)
            feed.yield(
                .console(
                    .link(.lost(reason: reason, retryAt: wallClockNow() + .milliseconds(wait), attempt: attempt))))
            try? await Task.sleep(for: .milliseconds(Int(wait)))
            attempt += 1
        }
    }

    /// Serves one connection until it closes; returns why it closed.
    func serve(_ client: ConsoleClient) async -> String {
        let feed = self.feed
        do {
            try await refresh(client)
        } catch {
            return Self.shortReason("\(error)")
        }
        let wanted = await withCheckedContinuation { feed.yield(.subscription($0)) }
        let events = client.subscribe(kinds: wanted.kinds, fromSequence: wanted.fromSequence)
        feed.yield(.console(.link(.live)))
        let poller = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(LiveConsoleShell.refreshMilliseconds))
                if Task.isCancelled { return }
                do { try await self.refresh(client) } catch { return }
            }
        }
        for await event in events { feed.yield(.console(.event(event))) }
        poller.cancel()
        return Self.shortReason(client.closedReason ?? "the connection closed")
    }

    func refresh(_ client: ConsoleClient) async throws {
        feed.yield(.console(.status(try await client.status())))
        let members = try await client.memberList()
        feed.yield(.console(.members(members.members, roundTrips: members.roundTrips)))
        feed.yield(.console(.inventory(try await client.inventory(region: nil))))
    }

    /// The first clause of an error (up to the first ": "), for the footer.
    static func shortReason(_ text: String) -> String {
        let cut = text.range(of: ": ").map { String(text[..<$0.lowerBound]) } ?? text
        return cut.count > 60 ? String(cut.prefix(59)) + "…" : cut
    }
}
