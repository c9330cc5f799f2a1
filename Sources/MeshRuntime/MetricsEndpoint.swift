import Dispatch
import Foundation
import Glibc
import MeshCore
import MeshMembership
import MeshNode

/// A minimal HTTP/1.1 endpoint on loopback for the operator's monitoring: `GET /metrics` in the
/// Prometheus text format (version 0.0.4), `GET /healthz` (200 while the node's loop answers) and
/// `GET /readyz` (200 once the node should take traffic, else 503 with the reason).
///
/// One thread accepts; each connection is answered on a worker of its own, at most
/// ``maxConcurrent`` at once (beyond that a connection gets 503 at once), so an idle or slow client
/// never stalls another scrape. Every read has a 2 s timeout and a request is at most 8 KiB; the
/// answer always closes the connection. Anything else gets 404.
final class MetricsEndpoint: @unchecked Sendable {
    let fd: Int32
    let address: NetAddress
    /// Asks the node's loop for a snapshot; the reply comes on the loop's thread (nil once stopped).
    let inspect: @Sendable (@escaping @Sendable (NodeSnapshot?) -> Void) -> Void
    let render: @Sendable (NodeSnapshot) -> String
    private var thread: Thread?
    private let slots = DispatchSemaphore(value: MetricsEndpoint.maxConcurrent)
    static let maxRequestBytes = 8 << 10
    static let maxConcurrent = 8
    /// How long an answer may wait for the node's loop.
    static let loopTimeoutSeconds = 5.0

    /// Binds `address` (it MUST be loopback: the endpoint has no authentication). `inspect` asks
    /// the node for a snapshot, `render` turns one into the metrics text.
    init(
        address: NetAddress, inspect: @escaping @Sendable (@escaping @Sendable (NodeSnapshot?) -> Void) -> Void,
        render: @escaping @Sendable (NodeSnapshot) -> String
    ) throws(RuntimeError) {
        guard ["127.0.0.1", "::1", "localhost"].contains(address.host) else {
            throw RuntimeError("field 'metrics': \(address) is not loopback; the metrics endpoint has no authentication")
        }
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        let (fd, port): (Int32, UInt16)
        do { (fd, port) = try BoundSocket.bind(host: host, port: address.port) } catch {
            throw RuntimeError("cannot serve metrics on \(address): \(error)")
        }
        guard listen(fd, 64) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError("cannot serve metrics on \(address): listen: \(text)")
        }
        self.fd = fd
        self.address = NetAddress(host: address.host, port: port)
        self.inspect = inspect
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
            guard slots.wait(timeout: .now()) == .success else {
                respond(client, status: "503 Service Unavailable", body: "busy: too many connections at once\n")
                close(client)
                continue
            }
            // A thread of its own, not a Dispatch worker: blocked workers make Dispatch wait
            // before it adds threads, which delayed the next scrape by up to a second.
            let worker = Thread { [self] in
                serve(client)
                close(client)
                slots.signal()
            }
            worker.name = "mesh-metrics-client"
            worker.start()
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
        let target = parts.count >= 2 && parts[0] == "GET" ? String(parts[1]) : ""
        let known = ["/metrics", "/healthz", "/readyz"]
        guard known.contains(target) else {
            respond(client, status: "404 Not Found", body: "not found: this endpoint serves GET /metrics, /healthz and /readyz\n")
            return
        }
        guard let snapshot = snapshot() else {
            respond(client, status: "503 Service Unavailable", body: "the node's loop did not answer within 5 s, or it stopped\n")
            return
        }
        switch target {
        case "/metrics":
            respond(client, status: "200 OK", body: render(snapshot), type: "text/plain; version=0.0.4; charset=utf-8")
        case "/healthz":
            respond(client, status: "200 OK", body: "alive\n")
        default:
            if let reason = snapshot.notReadyBecause {
                respond(client, status: "503 Service Unavailable", body: "not ready: \(reason)\n")
            } else {
                respond(client, status: "200 OK", body: "ready\n")
            }
        }
    }

    /// A snapshot from the node's loop, or nil when the loop has not answered within
    /// ``loopTimeoutSeconds`` (or the node stopped). Waits on a semaphore, never on Swift's
    /// cooperative pool, so a busy pool cannot make a live node look dead.
    private func snapshot() -> NodeSnapshot? {
        let box = ResultBox<NodeSnapshot>()
        let done = DispatchSemaphore(value: 0)
        inspect { snapshot in
            box.value = snapshot
            done.signal()
        }
        guard done.wait(timeout: .now() + MetricsEndpoint.loopTimeoutSeconds) == .success else { return nil }
        return box.value
    }

    private func respond(_ client: Int32, status: String, body: String, type: String = "text/plain; charset=utf-8") {
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(client, $0.baseAddress! + sent, bytes.count - sent) }
            if n <= 0 { return }
            sent += n
        }
    }
}

/// A value handed from the node's loop to a waiting thread (written before the semaphore is signalled).
private final class ResultBox<T>: @unchecked Sendable {
    var value: T? = nil
}

/// Prometheus text for a node's snapshot.
enum MetricsText {
    static func render(_ s: NodeSnapshot, node: NodeID, role: Role, region: Region, certificateExpiry: Date? = nil) -> String {
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
        var byRole: [(String, Int)] = []
        var latency = ""
        for role in NodeCore.PlacementRole.allCases {
            for placed in [true, false] {
                let labels = "role=\"\(role)\",result=\"\(placed ? "placed" : "refused")\""
                let histogram = s.core.placementSeconds(role, placed: placed)
                byRole.append(("{\(labels)}", Int(histogram.count)))
                latency += histogram.lines("computemesh_placement_seconds", labels: labels)
            }
        }
        metric(
            "computemesh_placements_total", "counter",
            "Placements answered by this node, once per role it played (origin: answered a tenant; deciding: decided "
                + "for another node), by result.", byRole)
        out += "# HELP computemesh_placement_seconds Time from a placement's arrival to its outcome, by role and result.\n"
        out += "# TYPE computemesh_placement_seconds histogram\n" + latency
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
        out +=
            "# HELP computemesh_ledger_commit_seconds Time of each durable ledger transaction (group commit, fsync included).\n"
        out += "# TYPE computemesh_ledger_commit_seconds histogram\n"
        out += s.commitSeconds.lines("computemesh_ledger_commit_seconds")
        out +=
            "# HELP computemesh_probe_round_trip_seconds Time from this node's membership probe (PING) to the first ack of it "
            + "(millisecond resolution): path=direct acked before the probe timeout; path=indirect acked only after indirect "
            + "probes went out, timed from the first probe.\n"
        out += "# TYPE computemesh_probe_round_trip_seconds histogram\n"
        out += s.probeRoundTrips.direct.lines("computemesh_probe_round_trip_seconds", labels: "path=\"direct\"")
        out += s.probeRoundTrips.indirect.lines("computemesh_probe_round_trip_seconds", labels: "path=\"indirect\"")
        metric(
            "computemesh_ready", "gauge", "1 when the node takes traffic (GET /readyz), else 0.",
            [("", s.notReadyBecause == nil ? 1 : 0)])
        if let certificateExpiry {
            out += "# HELP computemesh_certificate_expiry_timestamp_seconds When this node's certificate expires (Unix time).\n"
            out += "# TYPE computemesh_certificate_expiry_timestamp_seconds gauge\n"
            out += "computemesh_certificate_expiry_timestamp_seconds \(Int64(certificateExpiry.timeIntervalSince1970))\n"
        }
        out += "# HELP computemesh_build_info The running software; always 1.\n# TYPE computemesh_build_info gauge\n"
        out += "computemesh_build_info{version=\"\(MeshVersion.current)\",wire=\"1\"} 1\n"
        let p = ProcessFigures.current()
        out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        out += "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes \(p.residentBytes)\n"
        out += "# HELP process_open_fds Number of open file descriptors.\n"
        out += "# TYPE process_open_fds gauge\nprocess_open_fds \(p.openFileDescriptors)\n"
        out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        out += "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \(p.cpuSeconds)\n"
        out += "# HELP process_start_time_seconds Start time of the process since the Unix epoch in seconds.\n"
        out += "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds \(p.startTimeSeconds)\n"
        metric(
            "computemesh_input_frames_dropped_total", "counter", "Peer frames dropped because the input queue was full.",
            [("", s.mailboxDropped)])
        return out
    }
}
