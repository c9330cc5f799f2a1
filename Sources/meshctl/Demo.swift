// meshctl demo: a guided tour of a ComputeMesh federation on loopback.
//
// In a fresh directory it creates a federation root, admits an operator, issues certificates for
// six nodes (two regions × two regional nodes + one industry node) and a console, writes their
// configurations with realistic pools, starts six `meshd` processes, and then, through the
// console, shows membership, registration, inventory, three placements (in-region, spillover to
// the other region, refused), an explanation and the owner's leases. Finally it stops every node
// with SIGTERM and checks each exits 0. It exits 0 only if every step did what it says.
import Glibc
import MeshCommandLine
import MeshConsole

/// `meshctl demo`: 0 when every step did what it claims, 1 when a step failed, 2 on misuse.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "start a six-node mesh on loopback, place requests through it, explain them, and stop it",
        discussion: """
            Starts a six-node mesh on 127.0.0.1 (cn-north and cn-east, each with two regional nodes and one \
            industry node), drives it through the console, and stops it. DIR (default: a new temporary \
            directory) holds the authority, certificates, configurations, node logs and data; it is \
            removed at the end unless --keep is given. Runs meshd when it was built next to meshctl, else \
            the same runtime through `meshctl node`. On a terminal the live console opens at the end, \
            on north-finance, before the nodes stop (q closes it); --no-console, or output that is not \
            a terminal, keeps the demo headless.
            """)
    @Option(help: "a new or empty directory for the demo's files (default: a temporary one)", valueName: "DIR")
    var dir: String?
    @Flag(help: "keep the directory (and its logs) at the end") var keep = false
    @Flag(help: "stay headless: no live console at the end, even on a terminal") var noConsole = false
    func run() throws -> Int32 {
        try runDemo(dir: dir, keep: keep, console: !noConsole && isatty(0) == 1 && isatty(1) == 1)
    }
}
