import Foundation
import MeshCore
import MeshNode

// What an operator asks of a running node with a signal: SIGHUP reloads the configuration file,
// SIGUSR1 writes a state summary to the log. Neither stops the node.

extension Node {
    /// SIGHUP: `next` is the configuration file as it reads now. Runs on the node's loop.
    public func requestReload(_ next: ResolvedConfiguration) { mailbox.post(.reload(next)) }

    /// SIGUSR1: one log line with what the node holds now. Runs on the node's loop.
    public func requestSummary() { mailbox.post(.summary) }

    /// Applies what can change while the node runs (pools, the revocation list file) and names
    /// every other setting that differs from the running one: those need a restart.
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
        if next.keyPath != running.keyPath || next.certificatePath != running.certificatePath
            || next.rootPath != running.rootPath
        {
            restart.append("credentials")
        }
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
}

extension Node {
    /// Why the node should not take traffic yet (nil: ready): its ledger failed, it is stopping,
    /// or it was given seeds or a backbone and has reached none of them.
    func notReadyBecause(_ stats: StoreWorker.Stats) -> String? {
        if stats.failed { return "the ledger could not commit; the node is halting" }
        if draining || finished { return "the node is stopping" }
        let configured = configuration.seeds.count + configuration.backbone.count
        if configured > 0 && links.linkedNodes.isEmpty {
            return "none of the \(configured) configured seeds and backbone peers is reachable yet"
        }
        return nil
    }
}
