import MeshCore
import MeshMembership
import MeshNode
import MeshPlacement
import MeshWire
import Testing

/// A node's console answers name nodes beside their IDs: its own configured name, the names its
/// peers declared in HELLO or WELCOME and on their membership facts.
@Suite("NodeCore: node names in console answers")
struct NodeNameTests {
    static let region = try! Region("cn-north")
    static let me = NodeID(w0: 1, w1: 0, w2: 0, w3: 0)
    static let peer = NodeID(w0: 2, w1: 0, w2: 0, w3: 0)
    static let session = SessionID(9)

    var rng = SeededRandom(seed: 3)
    let now = MeshInstant(milliseconds: 5_000_000)
    var core: NodeCore

    init() throws {
        var config = NodeConfig()
        config.warmupMilliseconds = 0
        let identity = NodeIdentity(
            node: Self.me, role: .regional, region: Self.region, address: NetAddress(host: "127.0.0.1", port: 7001),
            name: try NodeName("north-1"))
        var rng = SeededRandom(seed: 3)
        core = try NodeCore(
            identity: identity, config: config, incarnation: 1, durableIncarnation: 1_025, ledger: LedgerSnapshot(),
            seeds: [NetAddress(host: "127.0.0.1", port: 7002)], now: now, rng: &rng)
        let pool = PoolSpec(
            path: ["cpu"], architecture: .x86_64, computeUnits: 100, memoryMiB: 1 << 10,
            pricePerUnitHour: Price(microYuan: 1_000), residency: Self.region)
        for case .persist(_, let token) in try core.start(pools: [pool], now: now) {
            _ = core.handle(.committed(through: token), now: now, rng: &rng)
        }
        _ = core.handle(.sessionOpened(Self.session, operator: NodeID(w0: 99, w1: 0, w2: 0, w3: 0)), now: now, rng: &rng)
    }

    mutating func ask(_ request: WireMessage) -> WireMessage? {
        for directive in core.handle(.consoleRequest(request, correlationID: 5, session: Self.session), now: now, rng: &rng) {
            if case .answer(let message, 5, Self.session) = directive { return message }
        }
        return nil
    }

    mutating func linkNamedPeer() throws {
        let link = PeerLink(
            peer: PeerCredentials(node: Self.peer, role: .regional, region: Self.region),
            listenAddress: NetAddress(host: "127.0.0.1", port: 7002), incarnation: 1,
            dialed: NetAddress(host: "127.0.0.1", port: 7002), purpose: .seed, name: try NodeName("north-2"))
        _ = core.handle(.peerLinked(link), now: now, rng: &rng)
    }

    @Test mutating func statusCarriesTheConfiguredName() throws {
        guard case .status(let status) = ask(.statusRequest(StatusRequest())) else {
            Issue.record("no STATUS")
            return
        }
        #expect(status.name == (try NodeName("north-1")))
    }

    @Test mutating func membersShowTheNodesOwnNameAndThePeersDeclaredName() throws {
        try linkNamedPeer()
        guard case .members(let page) = ask(.membersRequest(MembersRequest())) else {
            Issue.record("no MEMBERS")
            return
        }
        #expect(page.members.map(\.update.node) == [Self.me, Self.peer])
        #expect(page.members.map(\.update.name) == [try NodeName("north-1"), try NodeName("north-2")])
    }

    @Test mutating func membersCarryTheRoundTripOfAnAckedDirectProbe() throws {
        try linkNamedPeer()
        var at = now
        var probed: MeshInstant?
        for _ in 0..<200 where probed == nil {
            at = at + .milliseconds(50)
            for case .send(.probe(let p), to: Self.peer, _, _) in core.handle(.tick, now: at, rng: &rng)
            where p.target == Self.peer {
                probed = at
            }
        }
        let sentAt = try #require(probed, "the node probes its only peer")
        let ack = WireMessage.probeAck(ProbeAck(target: Self.peer, incarnation: 1, updates: []))
        let credentials = PeerCredentials(node: Self.peer, role: .regional, region: Self.region)
        _ = core.handle(.peerMessage(ack, from: credentials), now: sentAt + .milliseconds(4), rng: &rng)
        var answer: WireMessage?
        let request = WireMessage.membersRequest(MembersRequest())
        for case .answer(let message, 5, Self.session) in core.handle(
            .consoleRequest(request, correlationID: 5, session: Self.session), now: sentAt + .milliseconds(5), rng: &rng)
        {
            answer = message
        }
        guard case .members(let page) = answer else {
            Issue.record("no MEMBERS")
            return
        }
        // Issue 17: the peer's round trip, in microseconds; none for the node itself.
        #expect(page.roundTrips == [MemberRoundTrip(node: Self.peer, microseconds: 4_000)])
    }

    @Test mutating func theNodesOwnFactsCarryItsNameToPeers() throws {
        #expect(core.me.name == (try NodeName("north-1")))
    }

    @Test mutating func inventoryNamesThePoolsOwner() throws {
        guard case .inventory(let page) = ask(.inventoryRequest(InventoryRequest())) else {
            Issue.record("no INVENTORY")
            return
        }
        #expect(page.pools.map(\.descriptor.origin) == [Self.me])
        #expect(page.names == [NamedNode(node: Self.me, name: try NodeName("north-1"))])
    }

    @Test mutating func aNodeWithoutAKnownNameIsLeftOutOfTheDirectory() throws {
        try linkNamedPeer()
        let stranger = NodeID(w0: 77, w1: 0, w2: 0, w3: 0)
        #expect(core.name(of: stranger) == nil)
        #expect(core.name(of: Self.peer) == (try NodeName("north-2")))
    }
}
