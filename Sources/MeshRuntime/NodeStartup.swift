import Foundation
import Glibc
public import MeshCore
import MeshCrypto
import MeshStore
import MeshTransport

/// A failure that stops the node from starting or running: names what and what to do.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a node needs from disk before it can speak: its identity (key, certificates), its ledger,
/// and a new incarnation, durably stored before any frame carries it.
struct NodeStartup {
    /// The data directory, locked for as long as this value (and the node that keeps it) lives.
    var directory: DataDirectory
    var nodeID: NodeID
    var tls: TLSSetup?
    var trustRoot: Certificate?
    /// When the node's own certificate expires (nil: plaintext).
    var certificateExpiry: Date?
    var store: SQLiteLedgerStore
    var ledger: LedgerSnapshot
    /// The decisions for idempotency keys this node still remembers.
    var decisions: [KeyDecision]
    /// The explanations the ledger kept for WHY, oldest first.
    var explanations: [Explanation]
    /// The incarnation this run starts with, and the ceiling stored durably above it.
    var incarnation: UInt64
    var durableIncarnation: UInt64

    /// Opens the data directory, the identity and the ledger (keeping at most `explanationLimit`
    /// explanations), and stores the next incarnation.
    static func open(
        _ c: ResolvedConfiguration, block: UInt64, explanationLimit: Int, now: MeshInstant
    ) throws(RuntimeError) -> NodeStartup {
        // Lock first: nothing in a directory another node is using is read or written.
        let directory = try DataDirectory(path: c.dataDirectory)
        // Identity: the certified key, or (plaintext only) a key kept in the data directory.
        let key: Ed25519PrivateKey
        let keySource: String
        var tls: TLSSetup?
        var root: Certificate?
        var expiry: Date?
        do {
            if let credentials = try NodeCredentials.load(c) {
                key = credentials.key
                keySource = c.keyPath ?? ""
                root = credentials.root
                tls = credentials.tls
                expiry = credentials.expiry
            } else {
                let path = c.dataDirectory + "/node.key"
                keySource = path
                if FileManager.default.fileExists(atPath: path) {
                    key = try Ed25519PrivateKey(contentsOf: path)
                } else {
                    key = try Ed25519PrivateKey.generate()
                    // A directory bound to a node whose key is gone is not this new key's.
                    if let owner = try directory.owner() {
                        throw RuntimeError(
                            "the data directory \(c.dataDirectory) belongs to node \(owner.hex) but its key \(path) is "
                                + "missing: restore the key from a backup, or give this node an empty dataDirectory")
                    }
                    try key.save(to: path)
                }
            }
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("cannot load the node's credentials: \(error)")
        }

        try directory.refuseIfNotOwned(by: key.nodeID, keySource: keySource)
        let path = c.dataDirectory + "/ledger.sqlite"
        let store: SQLiteLedgerStore
        let ledger: LedgerSnapshot
        let stored: UInt64
        let decisions: [KeyDecision]
        let explanations: [Explanation]
        do {
            store = try SQLiteLedgerStore(path: path, explanationLimit: explanationLimit)
            ledger = try store.load()
            stored = try store.incarnation()
            decisions = try store.decisions(at: now)
            explanations = try store.explanations()
        } catch {
            throw RuntimeError("cannot open the ledger \(path): \(error)")
        }
        chmod(path, 0o600)
        try directory.bind(
            to: key.nodeID, keySource: keySource, ledgerOwners: ledger.pools.map(\.descriptor.id.owner))
        // The incarnation survives restarts and only grows: this run starts above the stored
        // ceiling and stores a new one (earlier versions kept the incarnation in a file of its
        // own, which still counts).
        let legacy =
            (try? String(contentsOfFile: c.dataDirectory + "/incarnation", encoding: .utf8))
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let incarnation = max(stored, legacy) + 1
        let ceiling = incarnation + block
        do { try store.commit([PersistBatch(incarnation: ceiling)], at: now) } catch {
            throw RuntimeError("cannot store the incarnation in \(path): \(error)")
        }
        return NodeStartup(
            directory: directory, nodeID: key.nodeID, tls: tls, trustRoot: root, certificateExpiry: expiry, store: store,
            ledger: ledger,
            decisions: decisions,
            explanations: explanations,
            incarnation: incarnation,
            durableIncarnation: ceiling)
    }

    /// A port the kernel reports free on `host` (IPv4 or IPv6 literal), for `listen` with port 0.
    static func freePort(host: String) -> UInt16? {
        guard let (fd, port) = try? BoundSocket.bind(host: host, port: 0) else { return nil }
        close(fd)
        return port
    }

    /// The wall clock in milliseconds since the Unix epoch: ledger instants survive restarts.
    static func wallClock() -> MeshInstant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return MeshInstant(milliseconds: UInt64(ts.tv_sec) * 1_000 + UInt64(ts.tv_nsec) / 1_000_000)
    }
}
