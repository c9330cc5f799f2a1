import Foundation
import Glibc
import MeshCore
import MeshCrypto
import MeshRuntime
import MeshTestSupport
import MeshTransport
import MeshWire
import Synchronization
import Testing

/// A console as a test uses it: one connection, requests answered by correlation ID.
final class TestConsole: Sendable {
    let transport: Transport
    let connection: ConnectionID
    /// Answers by correlation ID, and EVENT frames, filled by the reader task.
    final class Inbox: Sendable {
        let answers = Mutex<[UInt64: WireMessage]>([:])
        let events = Mutex<[Event]>([])
    }
    let inbox = Inbox()
    let nextCorrelation = Atomic<UInt64>(1)

    /// Plaintext when `certificate` is nil; else TLS with that operator-console identity.
    init(connectingTo address: NetAddress, certificate: TLSIdentity? = nil, trust: FederationTrust? = nil) async throws {
        let (stream, feed) = Transport.eventStream()
        let tls = try certificate.map { try TLSSetup(identity: $0, trust: trust!) }
        let identity = LocalIdentity(
            nodeID: certificate?.key.nodeID ?? NodeID(w0: UInt64.random(in: 1...UInt64.max), w1: 0, w2: 0, w3: 0),
            role: .operatorConsole, region: try Region(certificate == nil ? "cn-north" : "cn-east"))
        transport = try Transport(
            configuration: TransportConfiguration(identity: identity, tls: tls, allowPlaintext: tls == nil),
            logger: .silent, onEvent: feed)
        do {
            (connection, _) = try await transport.connect(to: SocketAddress(host: address.host, port: address.port))
        } catch {
            // A refused connection (e.g. REJECT duplicate-node): the transport's loop must stop
            // before it is released.
            transport.shutdown()
            throw error
        }
        let inbox = self.inbox
        Task {
            for await event in stream {
                guard case .frame(_, let message, let correlationID, _) = event else { continue }
                if case .event(let e) = message {
                    inbox.events.withLock { $0.append(e) }
                } else {
                    inbox.answers.withLock { $0[correlationID] = message }
                }
            }
        }
    }

    /// Sends a request and waits for the answer with its correlation ID.
    func ask(_ message: WireMessage, within seconds: Double = 10) async throws -> WireMessage {
        let correlation = nextCorrelation.add(1, ordering: .relaxed).oldValue
        transport.send(message, correlationID: correlation, on: connection)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let answer = inbox.answers.withLock({ $0.removeValue(forKey: correlation) }) { return answer }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        throw RuntimeError("no answer to \(message.type.name ?? "?") within \(seconds) s")
    }

    func status() async throws -> Status {
        guard case .status(let s) = try await ask(.statusRequest(StatusRequest())) else { throw RuntimeError("not STATUS") }
        return s
    }

    func inventory() async throws -> Inventory {
        guard case .inventory(let i) = try await ask(.inventoryRequest(InventoryRequest())) else {
            throw RuntimeError("not INVENTORY")
        }
        return i
    }

    func close() { transport.shutdown() }
}

/// A few nodes in one process over loopback, each with its own data directory.
final class TestMesh {
    var nodes: [String: Node] = [:]
    var tasks: [Task<Void, Never>] = []
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshrt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    @discardableResult
    func start(_ config: NodeConfiguration) throws -> Node {
        let resolved = try config.resolve(relativeTo: directory.path)
        let node = try Node(configuration: resolved, logger: .standardError(label: config.name, minimumLevel: .warning))
        try node.start()
        nodes[config.name] = node
        tasks.append(Task { await node.run() })
        return node
    }

    func address(_ name: String) -> String { nodes[name]!.boundAddress.description }

    func stop() async {
        for (_, node) in nodes.sorted(by: { $0.key < $1.key }) { node.stop() }
        for task in tasks { await task.value }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Waits until `condition` holds, checking every 50 ms.
func eventually(
    within seconds: Double, _ what: @autoclosure () -> String, _ condition: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    Issue.record("not within \(seconds) s: \(what())")
    throw RuntimeError("timed out: \(what())")
}

func pool(
    _ name: String, gpus: UInt32 = 0, npus: UInt32 = 0, units: UInt64, price: Double, sectors: [String]? = nil
)
    -> PoolConfiguration
{
    var accelerators: [PoolConfiguration.Accelerator] = []
    if gpus > 0 { accelerators.append(.init(kind: "gpu", vendor: "nvidia", model: "a100", count: gpus, memoryMiB: 81_920)) }
    if npus > 0 {
        accelerators.append(.init(kind: "npu", vendor: "huawei", model: "ascend-910b", count: npus, memoryMiB: 65_536))
    }
    return PoolConfiguration(
        name: name, architecture: npus > 0 ? "aarch64" : "x86_64", accelerators: accelerators, computeUnits: units,
        memoryMiB: 1 << 20, pricePerUnitHour: price, acceptsSectors: sectors)
}

func request(
    key: String, origin: NodeID, units: UInt64, accelerator: AcceleratorKind? = nil, count: UInt32 = 0,
    sector: Sector = .finance, seconds: UInt64 = 10
) throws -> PlacementRequest {
    var rng = SeededRandom(seed: UInt64(key.hashValue.magnitude) | 1)
    let now = UInt64(Date().timeIntervalSince1970 * 1_000)
    return PlacementRequest(
        requestID: .random(using: &rng), tenant: try TenantID("acme-bank"), sector: sector, idempotencyKey: key,
        demand: Demand(
            accelerator: try accelerator.map { try AcceleratorClass(kind: $0) }, acceleratorCount: count, computeUnits: units),
        leaseDuration: .milliseconds(600_000), deadline: MeshInstant(milliseconds: now + seconds * 1_000), origin: origin)
}

@Suite("Node process, in-process mesh over loopback", .timeLimit(.minutes(2)), .serialized)
struct NodeIntegrationTests {
    static func regional(
        _ name: String, region: String, seeds: [String] = [], backbone: [String] = [], pools: [PoolConfiguration]
    )
        -> NodeConfiguration
    {
        NodeConfiguration(
            name: name, role: "regional", region: region, listen: "127.0.0.1:0", seeds: seeds, backbone: backbone,
            dataDirectory: name, plaintext: true, randomSeed: UInt64(name.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }),
            pools: pools)
    }

    /// One HTTP GET over a plain socket; returns the whole response. Blocking I/O, so it runs off
    /// Swift's cooperative pool.
    static func get(_ address: NetAddress, _ path: String) async throws -> String {
        try await offPool { try getBlocking(address, path) }
    }

    static func getBlocking(_ address: NetAddress, _ path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &a.sin_addr)
        let connected = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw RuntimeError("connect \(address): \(errno)") }
        var request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = write(fd, &request, request.count)
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }

    @Test func anIndustryNodePlacesInItsRegionSpillsOverToAnotherAndExplainsARefusal() async throws {
        let mesh = try TestMesh()
        do {
            var north1Config = Self.regional(
                "north-1", region: "cn-north", pools: [pool("a100", gpus: 8, units: 1_000, price: 2.5)])
            north1Config.metrics = "127.0.0.1:0"
            let north1 = try mesh.start(north1Config)
            try mesh.start(
                Self.regional(
                    "north-2", region: "cn-north", seeds: [mesh.address("north-1")],
                    pools: [pool("cpu", units: 4_000, price: 0.4, sectors: ["finance", "manufacturing"])]))
            try mesh.start(
                Self.regional(
                    "east-1", region: "cn-east", backbone: [mesh.address("north-1")],
                    pools: [pool("ascend", npus: 64, units: 8_000, price: 1.8)]))
            let fin = try mesh.start(
                NodeConfiguration(
                    name: "fin-1", role: "industry", region: "cn-north", sectors: ["finance"], listen: "127.0.0.1:0",
                    seeds: [mesh.address("north-1")], dataDirectory: "fin-1", plaintext: true, randomSeed: 11))
            _ = north1
            let console = try await TestConsole(connectingTo: fin.boundAddress)
            defer { console.close() }

            // Membership: the industry node sees both regional nodes of its region, alive.
            try await eventually(within: 20, "fin-1 sees 3 alive members of cn-north") {
                try await console.status().aliveMembers == 3
            }
            // Inventory: both regional pools of cn-north reached the industry node by gossip.
            try await eventually(within: 20, "fin-1's inventory holds the 2 pools of cn-north") {
                try await console.inventory().pools.count == 2
            }
            // The request is decided by its key's home, one of the two regional nodes: both must
            // have heard of both pools (under a loaded machine gossip can lag the industry node's).
            for name in ["north-1", "north-2"] {
                let regional = try await TestConsole(connectingTo: mesh.nodes[name]!.boundAddress)
                defer { regional.close() }
                try await eventually(within: 20, "\(name)'s inventory holds the 2 pools of cn-north") {
                    try await regional.inventory().pools.count >= 2
                }
            }

            // 1. Fits in the region.
            let inRegion = try request(key: "in-region", origin: fin.nodeID, units: 100, accelerator: .gpu, count: 4)
            guard case .outcome(let placed) = try await console.ask(.place(inRegion)) else {
                Issue.record("PLACE was not answered with OUTCOME")
                return
            }
            guard case .placed(let leases) = placed.result else {
                Issue.record("in-region request refused: \(placed.result)")
                return
            }
            #expect(leases.count == 1)
            #expect(leases.first?.pool.owner == north1.nodeID)
            #expect(leases.first?.acceleratorCount == 4)
            // The decision is explained on the node that made it, with the sum rule.
            guard case .why(let why) = try await console.ask(.whyRequest(WhyRequest(requestID: inRegion.requestID))) else {
                Issue.record("WHY not answered")
                return
            }
            #expect(why.explanation.requestID == inRegion.requestID)
            #expect(why.explanation.obeysSumRule, "rejected + scored != considered: \(why.explanation)")
            #expect(why.explanation.chosen == leases.first?.pool)
            // "Why not" for a pool: the chosen pool's verdict is its score vector.
            let chosen = try #require(leases.first?.pool)
            guard
                case .why(let whyPool) = try await console.ask(
                    .whyRequest(WhyRequest(requestID: inRegion.requestID, pool: chosen)))
            else {
                Issue.record("WHY for a pool not answered")
                return
            }
            guard case .scored? = whyPool.focus?.outcome else {
                Issue.record("the chosen pool has no score vector: \(String(describing: whyPool.focus))")
                return
            }

            // The single-writer rule (SPEC §8.4): an industry peer that quotes a regional pool
            // directly is refused with `unauthorized`; it must FORWARD.
            let (impostorEvents, impostorFeed) = Transport.eventStream()
            let impostor = try Transport(
                configuration: TransportConfiguration(
                    identity: LocalIdentity(
                        nodeID: NodeID(w0: 77, w1: 0, w2: 0, w3: 0), role: .industry, region: try Region("cn-north"),
                        sectors: [.finance]),
                    tls: nil, allowPlaintext: true), logger: .silent, onEvent: impostorFeed)
            defer { impostor.shutdown() }
            let (link, _) = try await impostor.connect(
                to: SocketAddress(host: north1.boundAddress.host, port: north1.boundAddress.port))
            impostor.send(
                .quoteRequest(
                    QuoteRequest(
                        requestID: inRegion.requestID, requester: NodeID(w0: 77, w1: 0, w2: 0, w3: 0), pool: chosen,
                        tenant: inRegion.tenant, sector: .finance, demand: inRegion.demand, holdFor: .milliseconds(5_000),
                        deadline: inRegion.deadline)), on: link)
            var refusedReason: RefuseReason?
            for await event in impostorEvents {
                if case .frame(_, .refuse(let r), _, _) = event {
                    refusedReason = r.reason
                    break
                }
            }
            #expect(refusedReason == .unauthorized)
            #expect(await north1.snapshot()?.holds == 0, "an unauthorized quote placed a hold")

            // 2. Only another region has NPUs: spillover through the regional node, across the backbone.
            try await eventually(within: 30, "north-1 has east-1 on its backbone") {
                let c = try await TestConsole(connectingTo: north1.boundAddress)
                defer { c.close() }
                let s = try await c.status()
                return s.aliveMembers >= 3
            }
            var spilled: Outcome?
            try await eventually(
                within: 30, "an NPU request from cn-north is placed in cn-east (last: \(String(describing: spilled?.result)))"
            ) {
                let ask = try request(
                    key: "spill-\(UUID().uuidString)", origin: fin.nodeID, units: 100, accelerator: .npu, count: 8)
                guard case .outcome(let o) = try await console.ask(.place(ask)) else { return false }
                spilled = o
                if case .placed = o.result { return true }
                return false
            }
            if case .placed(let l)? = spilled?.result {
                #expect(l.first?.pool.owner == mesh.nodes["east-1"]!.nodeID)
            }
            // The path of hops: the industry node, a regional node of cn-north, then east-1.
            let path = spilled?.explanation.path ?? []
            #expect(path.first == fin.nodeID && path.last == mesh.nodes["east-1"]!.nodeID && path.count >= 3, "path \(path)")

            // 3. Impossible: refused with a reason, nothing reserved.
            let impossible = try request(key: "impossible", origin: fin.nodeID, units: 1_000_000)
            guard case .outcome(let refused) = try await console.ask(.place(impossible), within: 20) else {
                Issue.record("impossible PLACE not answered with OUTCOME")
                return
            }
            guard case .refused(let reason, let message) = refused.result else {
                Issue.record("an impossible request was placed: \(refused.result)")
                return
            }
            #expect(!message.isEmpty, "refusal \(reason) carries no message")

            // The owner's metrics, as Prometheus scrapes them.
            let scrape = try await Self.get(north1.metricsAddress!, "/metrics")
            #expect(scrape.hasPrefix("HTTP/1.1 200 OK"), "\(scrape)")
            #expect(scrape.contains("computemesh_leases_active 1"), "\(scrape)")
            #expect(scrape.contains("computemesh_members{status=\"alive\"} 2"), "\(scrape)")
            #expect(try await Self.get(north1.metricsAddress!, "/other").hasPrefix("HTTP/1.1 404"))

            // The owner's ledger holds exactly the in-region lease.
            let ownerConsole = try await TestConsole(connectingTo: north1.boundAddress)
            defer { ownerConsole.close() }
            guard case .placements(let p) = try await ownerConsole.ask(.placementsRequest(PlacementsRequest())) else {
                Issue.record("PLACEMENTS not answered")
                return
            }
            #expect(p.leases.map(\.leaseID) == leases.map(\.leaseID))
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }
}
