import Dispatch
import Foundation
import Glibc
import MeshCore

/// A minimal HTTP/1.1 endpoint that serves `GET /metrics` in the Prometheus text format
/// (version 0.0.4) on loopback, for the operator's monitoring.
///
/// One thread accepts and answers connections one at a time: scrapes are rare and small. Every
/// read has a 2 s timeout and a request is at most 8 KiB, so a slow or hostile client holds the
/// thread for at most 2 s. Anything but `GET /metrics` gets 404; the answer always closes the
/// connection.
final class MetricsEndpoint: @unchecked Sendable {
    let fd: Int32
    let address: NetAddress
    let render: @Sendable () async -> String
    private let stopped = DispatchSemaphore(value: 0)
    private var thread: Thread?
    static let maxRequestBytes = 8 << 10

    /// Binds `address` (it MUST be loopback: the endpoint has no authentication).
    init(address: NetAddress, render: @escaping @Sendable () async -> String) throws(RuntimeError) {
        guard ["127.0.0.1", "::1", "localhost"].contains(address.host) else {
            throw RuntimeError("field 'metrics': \(address) is not loopback; the metrics endpoint has no authentication")
        }
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        let (fd, port): (Int32, UInt16)
        do { (fd, port) = try BoundSocket.bind(host: host, port: address.port) } catch {
            throw RuntimeError("cannot serve metrics on \(address): \(error)")
        }
        guard listen(fd, 16) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError("cannot serve metrics on \(address): listen: \(text)")
        }
        self.fd = fd
        self.address = NetAddress(host: address.host, port: port)
        self.render = render
    }

    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "mesh-metrics"
        self.thread = thread
        thread.start()
    }

    /// Closes the listener; the accept loop ends.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // closed by stop()
            }
            serve(client)
            close(client)
        }
    }

    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < MetricsEndpoint.maxRequestBytes {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            request += buffer[0..<n]
            if request.count >= 4 && request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = firstLine.split(separator: " ")
        let response: String
        if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" {
            let body = blockingRender()
            response =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        } else {
            let body = "not found: this endpoint serves GET /metrics only\n"
            response =
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        }
        let bytes = Array(response.utf8)
        let total = bytes.count
        var sent = 0
        while sent < total {
            let n = bytes.withUnsafeBytes { write(client, $0.baseAddress! + sent, total - sent) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Runs the async renderer from this plain thread.
    private func blockingRender() -> String {
        final class Box: @unchecked Sendable { var text = "" }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let render = self.render
        Task.detached {
            box.text = await render()
            done.signal()
        }
        done.wait()
        return box.text
    }
}

/// Prometheus text for a node's snapshot.
enum MetricsText {
    static func render(_ s: NodeSnapshot, node: NodeID, role: Role, region: Region) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        let id = "node=\"\(node.short)\",role=\"\(role)\",region=\"\(region)\""
        metric("computemesh_up", "gauge", "1 while the node runs.", [("{\(id)}", 1)])
        let statuses: [MemberStatus] = [.alive, .suspect, .dead, .left]
        metric(
            "computemesh_members", "gauge", "Members this node knows, by status (itself excluded).",
            statuses.map { status in ("{status=\"\(status)\"}", s.members.filter { $0.status == status }.count) })
        metric("computemesh_links", "gauge", "Peers with an open link.", [("", s.linkedPeers.count)])
        metric(
            "computemesh_backbone_peers", "gauge", "Regional nodes of other regions on the backbone.", [("", s.backbone.count)])
        metric("computemesh_pools_owned", "gauge", "Pools this node owns.", [("", s.pools.count)])
        metric("computemesh_holds_active", "gauge", "Holds in the owner ledger.", [("", s.holds)])
        metric("computemesh_leases_active", "gauge", "Leases in the owner ledger.", [("", s.leases)])
        metric("computemesh_inventory_origins", "gauge", "Origins in the inventory store.", [("", s.inventoryOrigins)])
        metric("computemesh_view_pools", "gauge", "Pools in the placement view.", [("", s.viewPools)])
        metric(
            "computemesh_revocation_serial", "gauge", "Serial of the revocation list in force.", [("", Int(s.revocationSerial))])
        metric(
            "computemesh_placements_total", "counter", "Placement requests decided by this node's requester, by result.",
            [("{result=\"placed\"}", s.placed), ("{result=\"refused\"}", s.refused)])
        metric("computemesh_quote_rounds_total", "counter", "Quote rounds run by this node's requester.", [("", s.quoteRounds)])
        metric("computemesh_forwards_total", "counter", "Requests this node forwarded (spillover).", [("", s.forwardsSent)])
        metric(
            "computemesh_ledger_commits_total", "counter", "Durable ledger transactions (group commits).", [("", s.ledgerCommits)]
        )
        metric(
            "computemesh_ledger_batches_total", "counter",
            "Persist batches made durable (one per node step that changed the ledger).",
            [("", s.ledgerBatches)])
        metric(
            "computemesh_placements_in_flight", "gauge", "Placement requests this node's requester is working on.",
            [("", s.inFlight)])
        metric(
            "computemesh_placements_in_doubt", "gauge", "Refused placements kept in doubt for a retry with the same key.",
            [("", s.inDoubt)])
        metric(
            "computemesh_leases_abandoned_total", "counter", "Leases released because their holder never acknowledged them.",
            [("", s.abandonedLeases)])
        metric("computemesh_input_queue_depth", "gauge", "Inputs waiting for the node's loop.", [("", s.mailboxDepth)])
        metric(
            "computemesh_input_frames_dropped_total", "counter", "Peer frames dropped because the input queue was full.",
            [("", s.mailboxDropped)])
        return out
    }
}
