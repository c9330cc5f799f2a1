import Foundation
import MeshCore
import MeshNode
import MeshWire

// What an operator gives a running node besides its configuration at start: SIGHUP reloads the
// configuration file, SIGUSR1 writes a state summary to the log (neither stops the node), and the
// revocation list file is read whenever it changes.

extension Node {
    /// SIGHUP: `next` is the configuration file as it reads now. Runs on the node's loop.
    public func requestReload(_ next: ResolvedConfiguration) { mailbox.post(.reload(next)) }

    /// SIGUSR1: one log line with what the node holds now. Runs on the node's loop.
    public func requestSummary() { mailbox.post(.summary) }

    /// Applies what can change while the node runs (pools, the revocation list file, a renewed
    /// certificate for the same key and root) and names every other setting that differs from the
    /// running one: those need a restart.
    func reload(_ next: ResolvedConfiguration) {
        let running = configuration
        var restart: [String] = []
        if next.name != running.name { restart.append("name") }
        if next.role != running.role { restart.append("role") }
        if next.region != running.region { restart.append("region") }
        if next.sectors != running.sectors { restart.append("sectors") }
        if next.listen != running.listen && running.listen.port != 0 { restart.append("listen") }
        if next.seeds != running.seeds { restart.append("seeds") }
        if next.backbone != running.backbone { restart.append("backbone") }
        if next.dataDirectory != running.dataDirectory { restart.append("dataDirectory") }
        renewCertificate(next, restart: &restart)
        if next.revocationsPath != running.revocationsPath { restart.append("credentials.revocations") }
        if next.plaintext != running.plaintext { restart.append("plaintext") }
        if next.metrics != running.metrics { restart.append("metrics") }
        if !restart.isEmpty {
            logger.warning(
                "reload: \(restart.joined(separator: ", ")) changed in the file; these apply at the next restart, "
                    + "the node keeps running with the values it started with")
        }
        feed(.reload(pools: next.pools))
        flushPersists()
        // The revocation list file is read again even if its modification time did not move.
        revocationStamp = nil
        checkRevocationFile()
    }

    /// Reads the credentials `next` names and, when they certify this node's key under the same
    /// root, gives their chain to every connection made from now on (a renewal needs no restart);
    /// a new key or root is a new identity, which `restart` records.
    private func renewCertificate(_ next: ResolvedConfiguration, restart: inout [String]) {
        guard configuration.keyPath != nil else {
            if next.keyPath != nil { restart.append("credentials") }
            return
        }
        let credentials: NodeCredentials?
        do { credentials = try NodeCredentials.load(next) } catch {
            logger.warning("reload: credentials not renewed, the node keeps its certificate: \(error)")
            return
        }
        guard let credentials else {
            restart.append("credentials")
            return
        }
        guard credentials.key.nodeID == nodeID, (try? credentials.root.publicKey.nodeID) == (try? trustRoot?.publicKey.nodeID)
        else {
            restart.append("credentials (a new key or federation root is a new identity)")
            return
        }
        let previous = certificateExpiry.value
        transport.replaceTLS(credentials.tls)
        certificateExpiry.value = credentials.expiry
        guard credentials.expiry != previous else {
            logger.debug("reload: the certificate is unchanged")
            return
        }
        let until = credentials.expiry.map { ISO8601DateFormatter().string(from: $0) } ?? "?"
        logger.info(
            "reload: certificate renewed (serial \(credentials.serial.map(String.init) ?? "?"), valid until \(until)); "
                + "new connections use it, open ones keep theirs")
    }

    /// One info line: membership, links, pools, holds and leases, placements, the ledger and the
    /// mailbox.
    func logSummary() {
        let s = snapshotNow()
        let alive = s.members.filter { $0.status == .alive }.count
        let suspect = s.members.filter { $0.status == .suspect }.count
        logger.info(
            "state: \(configuration.role) node \(nodeID.short) in \(configuration.region); members \(s.members.count) "
                + "(\(alive) alive, \(suspect) suspect), links \(s.linkedPeers.count), backbone \(s.backbone.count), "
                + "pools \(s.pools.count) (view \(s.viewPools)), holds \(s.holds), leases \(s.leases), "
                + "placements in flight \(s.inFlight) (in doubt \(s.inDoubt)), ledger commits \(s.ledgerCommits) "
                + "(\(s.ledgerBatches) batches), mailbox \(s.mailboxDepth) (dropped \(s.mailboxDropped)), "
                + "revocation list \(s.revocationSerial)")
    }

    /// Reads the configured revocation list file when it changed (checked every second, and at
    /// every reload); only a list the federation root signed goes to the core.
    func checkRevocationFile() {
        guard let path = configuration.revocationsPath,
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let stamp = attributes[.modificationDate] as? Date, stamp != revocationStamp
        else { return }
        revocationStamp = stamp
        guard let data = FileManager.default.contents(atPath: path),
            case .message(.revocationList(let list), _, _)? = try? WireMessage.decode(frameBytes: [UInt8](data))
        else {
            logger.warning("\(path) does not hold a REVOCATION_LIST frame; ignored")
            return
        }
        guard let root = trustRoot, list.hasValidSignature(root: root) else {
            logger.warning("\(path): revocation list \(list.serial) is not signed by the federation root; ignored")
            return
        }
        feed(.revocations(list))
    }
}
