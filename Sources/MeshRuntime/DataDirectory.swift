import Foundation
import Glibc
import MeshCore

/// A node's data directory, held by one node process for its whole life.
///
/// Two guards protect the ledger, which is the record of every lease the node has promised:
/// - **An exclusive lock** (`flock` on `DIR/lock`, which names the holder's pid): a second process
///   given the same directory stops with an error before it reads or writes anything there. The
///   kernel drops the lock when the process ends, however it ends.
/// - **An identity file** (`DIR/node-id`, the NodeID in hex) binding the directory to one node: a
///   node with another key stops before it changes anything (a foreign ledger would otherwise get
///   this node's incarnation, or trap on pools outside its namespace).
///
/// The directory is created 0700 and the files this type writes 0600.
final class DataDirectory: Sendable {
    let path: String
    private let lockDescriptor: Int32

    /// Creates the directory if needed and takes its lock; throws when another process holds it.
    init(path: String) throws(RuntimeError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw RuntimeError("cannot create the data directory \(path): \(error.localizedDescription)")
        }
        let lockPath = path + "/lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw RuntimeError(
                "cannot open \(lockPath): \(String(cString: strerror(errno))); check the directory's owner and mode")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            let who = holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? ""
            throw RuntimeError(
                "the data directory \(path) is in use by another meshd\(who): stop that node first, or give this node a "
                    + "dataDirectory of its own")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        lockDescriptor = fd
    }

    deinit { close(lockDescriptor) }

    /// The node this directory belongs to, per its identity file; nil when it has none yet.
    func owner() throws(RuntimeError) -> NodeID? {
        let file = path + "/node-id"
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw RuntimeError("cannot read \(file): \(error.localizedDescription)")
        }
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let id = try? NodeID(hex: hex) else {
            throw RuntimeError(
                "\(file) does not hold a node ID (64 hex digits) but \(hex.prefix(80).debugDescription): "
                    + "it is damaged; restore it from a backup, or remove it if this directory is this node's own")
        }
        return id
    }

    /// Refuses a directory whose identity file names another node than `node` (whose key came
    /// from `keySource`). Called before the ledger is opened.
    func refuseIfNotOwned(by node: NodeID, keySource: String) throws(RuntimeError) {
        guard let owner = try owner(), owner != node else { return }
        throw notOwned(by: node, owner: owner, keySource: keySource)
    }

    private func notOwned(by node: NodeID, owner: NodeID, keySource: String) -> RuntimeError {
        RuntimeError(
            "the data directory \(path) belongs to node \(owner.hex) (\(path)/node-id), but this node's key "
                + "(\(keySource)) is node \(node.hex): give this node its own dataDirectory, or run it with "
                + "\(owner.short)'s key; nothing in the directory was changed")
    }

    /// Binds the directory to `node`: refuses a directory of another node, else writes the identity
    /// file if it is missing. `ledgerOwners` are the owners of the pools in the ledger, for a
    /// directory written before identity files existed.
    func bind(to node: NodeID, keySource: String, ledgerOwners: [NodeID]) throws(RuntimeError) {
        if let owner = try owner() {
            if owner != node { throw notOwned(by: node, owner: owner, keySource: keySource) }
            return
        }
        if let foreign = ledgerOwners.first(where: { $0 != node }) {
            throw RuntimeError(
                "the ledger in \(path) holds pools of node \(foreign.hex), but this node's key (\(keySource)) is "
                    + "node \(node.hex): give this node its own dataDirectory; nothing in the directory was changed")
        }
        let file = path + "/node-id"
        let data = Data((node.hex + "\n").utf8)
        guard FileManager.default.createFile(atPath: file + ".tmp", contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw RuntimeError("cannot write \(file).tmp: check the directory's owner, mode and free space")
        }
        guard rename(file + ".tmp", file) == 0 else {
            throw RuntimeError("cannot rename \(file).tmp to \(file): \(String(cString: strerror(errno)))")
        }
    }
}
