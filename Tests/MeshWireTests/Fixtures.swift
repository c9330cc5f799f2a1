import MeshCore
import MeshWire

/// Small, fixed values of every message type: the content of the golden vectors in
/// `Protocols/vectors`. Changing one changes its vector, which is a wire change.
enum Fixtures {
    static let nodeA = NodeID(
        w0: 0x0102_0304_0506_0708, w1: 0x1112_1314_1516_1718, w2: 0x2122_2324_2526_2728, w3: 0x3132_3334_3536_3738)
    static let nodeB = NodeID(
        w0: 0xa1a2_a3a4_a5a6_a7a8, w1: 0xb1b2_b3b4_b5b6_b7b8, w2: 0xc1c2_c3c4_c5c6_c7c8, w3: 0xd1d2_d3d4_d5d6_d7d8)
    static let east = try! Region("cn-east")
    static let north = try! Region("cn-north")
    static let pool = try! ComputeID(owner: nodeB, path: ["gpu", "hall-2"])
    static let request = RequestID(value: 0x0011_2233_4455_6677_8899_aabb_ccdd_eeff)
    static let hold = HoldID(value: 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100)
    static let lease = LeaseID(value: 42)
    static let tenant = try! TenantID("acme-robotics")
    static let t0 = MeshInstant(milliseconds: 1_764_374_400_000)  // 2025-11-29T00:00:00Z

    static let accelerators = try! AcceleratorGroup(
        kind: .gpu, vendor: "nvidia", model: "h800", count: 64, memoryMiBPerDevice: 81920)
    static let ascend = try! AcceleratorGroup(
        kind: .npu, vendor: "huawei", model: "ascend-910b", count: 128, memoryMiBPerDevice: 65536)

    static let descriptor = PoolDescriptor(
        id: pool, architecture: .x86_64, accelerators: [accelerators, ascend], computeUnits: 20_000, memoryMiB: 4_194_304,
        interconnect: .infiniband, pricePerUnitHour: Price(microYuan: 1_250_000), residency: east,
        certifications: [try! Certification("finance-grade"), try! Certification("mlps-3")], greenEnergyPermille: 420,
        policy: .any([.sectorIn([.finance, .healthcare]), .not(.tenantIn([try! TenantID("blocked-co")]))]),
        services: [try! ServiceID("infer.llm"), try! ServiceID("train.llm")], displayName: "Hall 2 GPU")

    static let availability = PoolAvailability(
        id: pool, freeComputeUnits: 12_000, freeMemoryMiB: 2_000_000, freeAccelerators: [40, 128],
        pricePerUnitHour: Price(microYuan: 1_100_000))

    static let member = MemberUpdate(
        node: nodeB, address: NetAddress(host: "127.0.0.1", port: 7400), role: .regional, region: east, incarnation: 3,
        status: .suspect)

    /// The suspect fact with its suspecter (MemberUpdate tag 0): the buddy notice nodeA sends nodeB.
    static let suspectedMember = MemberUpdate(
        node: nodeB, address: NetAddress(host: "127.0.0.1", port: 7400), role: .regional, region: east, incarnation: 3,
        status: .suspect, suspectedBy: nodeA)

    /// Node names (SPEC §5.1.7): self-declared labels shown beside the NodeIDs.
    static let nameA = try! NodeName("north-finance")
    static let nameB = try! NodeName("east-1")

    /// A suspect fact with both tags: its suspecter (0) and the member's name (1).
    static let namedMember = MemberUpdate(
        node: nodeB, address: NetAddress(host: "127.0.0.1", port: 7400), role: .regional, region: east, incarnation: 3,
        status: .suspect, suspectedBy: nodeA, name: nameB)

    /// nodeA alive and named: the peer whose round trip MEMBERS tag 0 carries (issue 17).
    static let namedPeer = MemberUpdate(
        node: nodeA, address: NetAddress(host: "127.0.0.1", port: 7401), role: .regional, region: east, incarnation: 2,
        status: .alive, name: nameA)

    /// The name directory of console answers that mention nodeA and nodeB (SPEC §5.4.22).
    static let names = [NamedNode(node: nodeA, name: nameA), NamedNode(node: nodeB, name: nameB)]

    static let demand = Demand(
        accelerator: try! AcceleratorClass(kind: .gpu, vendor: "nvidia"), acceleratorCount: 64, computeUnits: 8000,
        memoryMiB: 1_048_576, mode: .gang, maxPools: 1)

    static let placement = PlacementRequest(
        requestID: request, tenant: tenant, sector: .manufacturing, idempotencyKey: "order-2025-0001", demand: demand,
        constraints: Constraints(
            residency: [east, north], certifications: [try! Certification("mlps-3")], architectures: [.x86_64, .aarch64],
            maxPricePerUnitHour: Price(microYuan: 2_000_000), maxLatency: .milliseconds(30)),
        weights: Weights(price: 600, latency: 300, green: 100), leaseDuration: .minutes(60), deadline: t0 + .seconds(5),
        origin: nodeA)

    static let leaseValue = Lease(
        leaseID: lease, holdID: hold, pool: pool, tenant: tenant, computeUnits: 8000, memoryMiB: 1_048_576,
        acceleratorCount: 64, pricePerUnitHour: Price(microYuan: 1_100_000), startsAt: t0, expiresAt: t0 + .minutes(60))

    static let explanation = Explanation(
        requestID: request, decidedBy: nodeA, decidedAt: t0, path: [nodeA], consideredCount: 2, filteredCount: 1,
        scoredCount: 1,
        verdicts: [
            CandidateVerdict(
                pool: pool, inventoryEpoch: 1, inventorySequence: 17, inventoryAge: .milliseconds(850),
                outcome: .scored(ScoreVector(price: 700_000, latency: 900_000, green: 420_000, total: 732_000))),
            CandidateVerdict(
                pool: try! ComputeID(owner: nodeB, path: ["cpu", "hall-1"]), inventoryEpoch: 1, inventorySequence: 9,
                inventoryAge: .milliseconds(2600), outcome: .filtered(.stale, detail: "valid until passed 600 ms ago")),
        ],
        chosen: pool)

    static let summary = RegionSummary(
        region: east, origin: nodeB, version: 7, issuedAt: t0, validUntil: t0 + .seconds(30), nodeCount: 12, poolCount: 40,
        totalComputeUnits: 800_000, freeComputeUnits: 310_000,
        accelerators: [try! AcceleratorSummary(kind: .gpu, vendor: "nvidia", model: "h800", total: 2048, free: 512)],
        minPricePerUnitHour: Price(microYuan: 900_000), certifications: [try! Certification("mlps-3")],
        greenEnergyPermille: 380, signature: Array(repeating: 0x5a, count: 64))

    static func record(_ body: RecordBody, sequence: UInt64) -> InventoryRecord {
        InventoryRecord(
            origin: nodeB, epoch: 2, sequence: sequence, issuedAt: t0, validUntil: t0 + .seconds(30), body: body,
            signature: Array(repeating: 0xab, count: 64))
    }

    /// One fixture: a case name, the message, and its frame header fields.
    struct Case {
        var name: String
        var message: WireMessage
        var correlationID: UInt64 = 0
        var flags: FrameFlags = []
    }

    /// At least one case per registered message type, in type order.
    static let cases: [Case] = [
        Case(
            name: "hello",
            message: .hello(
                Hello(
                    nodeID: nodeA, role: .industry, region: east, sectors: [.finance, .manufacturing],
                    listenAddress: NetAddress(host: "127.0.0.1", port: 7401), maxFrameBytes: 1 << 20, features: .all,
                    incarnation: 5, software: "computemesh/0.1")), correlationID: 1),
        Case(
            name: "hello-console",
            message: .hello(Hello(nodeID: nodeA, role: .operatorConsole, region: east, listenAddress: nil, incarnation: 0)),
            correlationID: 1),
        Case(
            name: "hello-named",
            message: .hello(
                Hello(
                    nodeID: nodeA, role: .industry, region: east, sectors: [.finance],
                    listenAddress: NetAddress(host: "127.0.0.1", port: 7401),
                    incarnation: 5, software: "computemesh/0.1", name: nameA)), correlationID: 1),
        Case(
            name: "welcome-named",
            message: .welcome(
                Welcome(
                    nodeID: nodeB, role: .regional, region: east, maxFrameBytes: 1 << 20, features: .all, serverTime: t0,
                    incarnation: 9, name: nameB)), correlationID: 1),
        Case(
            name: "welcome",
            message: .welcome(
                Welcome(
                    nodeID: nodeB, role: .regional, region: east, maxFrameBytes: 1 << 20, features: [.spillover],
                    serverTime: t0, incarnation: 9, software: "computemesh/0.1")), correlationID: 1),
        Case(
            name: "reject",
            message: .reject(
                Reject(reason: .revoked, message: "certificate serial 17 was revoked; ask the authority", retryAfter: .zero)),
            correlationID: 1),
        Case(
            name: "goaway",
            message: .goAway(GoAway(reason: .shutdown, lastCorrelationID: 99, drain: .seconds(5), message: "maintenance"))),
        Case(
            name: "error",
            message: .error(
                ErrorMessage(code: WireErrorCode.notWelcomed.rawValue, offset: 0, frameType: 0x0200, message: "send HELLO first")),
            correlationID: 3),
        Case(
            name: "ping", message: .ping(Ping(nonce: 0x0102_0304_0506_0708, sentAt: MeshInstant(milliseconds: 1000))),
            correlationID: 1),
        Case(
            name: "pong", message: .pong(Pong(nonce: 0x0102_0304_0506_0708, sentAt: MeshInstant(milliseconds: 1000))),
            correlationID: 1),
        Case(
            name: "probe", message: .probe(Probe(from: nodeA, fromIncarnation: 5, target: nodeB, updates: [member])),
            correlationID: 10),
        Case(
            name: "probe-suspected-by",
            message: .probe(Probe(from: nodeA, fromIncarnation: 5, target: nodeB, updates: [suspectedMember])),
            correlationID: 12),
        Case(name: "probe-ack", message: .probeAck(ProbeAck(target: nodeB, incarnation: 4, updates: [])), correlationID: 10),
        Case(
            name: "indirect-probe",
            message: .indirectProbe(
                IndirectProbe(from: nodeA, target: nodeB, targetAddress: NetAddress(host: "::1", port: 7400), wantsNack: true)),
            correlationID: 11),
        Case(name: "nack", message: .nack(Nack(helper: nodeA, target: nodeB)), correlationID: 11),
        Case(
            name: "digest",
            message: .digest(
                Digest(
                    scope: .region, region: east, bucketHashes: [0x1111_2222_3333_4444, 0, 0xffff_ffff_ffff_ffff, 7],
                    entries: [DigestEntry(origin: nodeB, epoch: 2, sequence: 300)], maxDeltaBytes: 65536)),
            correlationID: 20),
        Case(
            name: "delta",
            message: .delta(
                Delta(
                    records: [
                        record(.descriptor(descriptor), sequence: 299), record(.availability(availability), sequence: 300),
                        record(.tombstone(try! ComputeID(owner: nodeB, path: ["cpu", "old"])), sequence: 301),
                    ], morePending: false)), correlationID: 20),
        Case(name: "region-summary", message: .regionSummaries(RegionSummaries(summaries: [summary]))),
        Case(
            name: "revocation-list",
            message: .revocationList(
                RevocationList(
                    issuer: nodeA, serial: 3, issuedAt: t0, nextUpdate: t0 + .minutes(60),
                    entries: [Revocation(node: nodeB, certificateSerial: 17, revokedAt: t0, reason: .keyCompromise)],
                    signature: Array(repeating: 0x77, count: 64)))),
        Case(name: "place", message: .place(placement), correlationID: 30),
        Case(
            name: "quote-request",
            message: .quoteRequest(
                QuoteRequest(
                    requestID: request, requester: nodeA, pool: pool, tenant: tenant, sector: .manufacturing, demand: demand,
                    holdFor: .seconds(2), deadline: t0 + .seconds(5))), correlationID: 31),
        Case(
            name: "quote",
            message: .quote(
                Quote(
                    requestID: request, holdID: hold, pool: pool, computeUnits: 8000, memoryMiB: 1_048_576, acceleratorCount: 64,
                    pricePerUnitHour: Price(microYuan: 1_100_000), holdExpiresAt: t0 + .seconds(2), ledgerVersion: 1234)),
            correlationID: 31),
        Case(
            name: "refuse",
            message: .refuse(
                Refuse(
                    requestID: request, reason: .insufficientCapacity, message: "only 40 of 64 gpu free", pool: pool,
                    freshAvailability: availability)), correlationID: 31),
        Case(
            name: "confirm",
            message: .confirm(
                Confirm(requestID: request, holdID: hold, idempotencyKey: "order-2025-0001", leaseDuration: .minutes(60))),
            correlationID: 32),
        Case(name: "confirmed", message: .confirmed(Confirmed(requestID: request, lease: leaseValue)), correlationID: 32),
        Case(name: "release", message: .release(Release(reservation: .hold(hold))), correlationID: 33),
        Case(name: "release-lease", message: .release(Release(reservation: .lease(lease))), correlationID: 34),
        Case(name: "renew", message: .renew(Renew(leaseID: lease, extendBy: .minutes(30))), correlationID: 35),
        // An entry node acknowledges a lease to its owner (extendBy zero) along the lease's route.
        Case(
            name: "renew-acknowledge", message: .renew(Renew(leaseID: lease, extendBy: .zero, route: [nodeA, nodeB])),
            correlationID: 38),
        Case(
            name: "release-route", message: .release(Release(reservation: .lease(lease), route: [nodeA, nodeB])),
            correlationID: 39),
        Case(
            name: "lease-state",
            message: .leaseStatus(LeaseStatus(reservation: .lease(lease), state: .leased, expiresAt: t0 + .minutes(90))),
            correlationID: 35),
        Case(
            name: "lease-state-route",
            message: .leaseStatus(
                LeaseStatus(reservation: .lease(lease), state: .leased, expiresAt: t0 + .minutes(60), route: [nodeA, nodeB])),
            correlationID: 38),
        Case(name: "forward", message: .forward(Forward(request: placement, hopLimit: 3, path: [nodeA])), correlationID: 36),
        Case(
            name: "outcome-placed",
            message: .outcome(
                Outcome(
                    requestID: request, idempotencyKey: "order-2025-0001", result: .placed([leaseValue]), explanation: explanation
                )),
            correlationID: 30),
        Case(
            name: "outcome-acknowledged",
            message: .outcome(
                Outcome(
                    requestID: request, idempotencyKey: "order-2025-0001", result: .placed([leaseValue]),
                    explanation: explanation,
                    acknowledged: true)),
            correlationID: 30),
        Case(
            name: "outcome-refused",
            message: .outcome(
                Outcome(
                    requestID: request, idempotencyKey: "order-2025-0002",
                    result: .refused(.noCandidates, message: "no pool in cn-east holds mlps-3"),
                    explanation: Explanation(
                        requestID: request, decidedBy: nodeA, decidedAt: t0, path: [nodeA, nodeB], consideredCount: 0,
                        filteredCount: 0, scoredCount: 0, verdicts: [], chosen: nil))), correlationID: 37),
        Case(name: "status-request", message: .statusRequest(StatusRequest()), correlationID: 40),
        Case(
            name: "status",
            message: .status(
                Status(
                    nodeID: nodeB, role: .regional, region: east, software: "computemesh/0.1", now: t0, uptime: .minutes(90),
                    incarnation: 9, aliveMembers: 120, suspectMembers: 2, deadMembers: 1, pools: 40, activeHolds: 3,
                    activeLeases: 71)), correlationID: 40),
        Case(
            name: "status-named",
            message: .status(
                Status(
                    nodeID: nodeB, role: .regional, region: east, software: "meshd/1", now: t0, uptime: .minutes(90),
                    incarnation: 9, aliveMembers: 3, suspectMembers: 0, deadMembers: 0, pools: 2, activeHolds: 0,
                    activeLeases: 1, name: nameB)), correlationID: 40),
        Case(name: "members-request", message: .membersRequest(MembersRequest(after: nodeA, limit: 100)), correlationID: 41),
        Case(
            name: "members",
            message: .members(Members(members: [MemberRow(update: member, sinceChange: .milliseconds(1500))], more: false)),
            correlationID: 41),
        Case(
            name: "members-named",
            message: .members(
                Members(members: [MemberRow(update: namedMember, sinceChange: .milliseconds(1500))], more: false)),
            correlationID: 41),
        Case(
            name: "members-rtt",
            message: .members(
                Members(
                    members: [
                        MemberRow(update: namedPeer, sinceChange: .seconds(40)),
                        MemberRow(update: namedMember, sinceChange: .milliseconds(1500)),
                    ], more: false, roundTrips: [MemberRoundTrip(node: nodeA, microseconds: 2_500)])),
            correlationID: 41),
        Case(
            name: "inventory-request", message: .inventoryRequest(InventoryRequest(region: east, after: nil, limit: 50)),
            correlationID: 42),
        Case(
            name: "inventory",
            message: .inventory(
                Inventory(
                    pools: [
                        PoolRow(
                            descriptor: record(.descriptor(descriptor), sequence: 299),
                            availability: record(.availability(availability), sequence: 300), age: .milliseconds(800))
                    ], summaries: [summary], more: true)), correlationID: 42),
        Case(
            name: "inventory-named",
            message: .inventory(
                Inventory(
                    pools: [
                        PoolRow(
                            descriptor: record(.descriptor(descriptor), sequence: 299), availability: nil, age: .milliseconds(800)
                        )
                    ],
                    summaries: [], more: false, names: [NamedNode(node: nodeB, name: nameB)])), correlationID: 42),
        Case(
            name: "placements-request", message: .placementsRequest(PlacementsRequest(tenant: tenant, limit: 10)),
            correlationID: 43),
        Case(name: "placements", message: .placements(Placements(leases: [leaseValue], more: false)), correlationID: 43),
        Case(
            name: "placements-named",
            message: .placements(Placements(leases: [leaseValue], more: false, names: [NamedNode(node: nodeB, name: nameB)])),
            correlationID: 43),
        Case(name: "why-request", message: .whyRequest(WhyRequest(requestID: request, pool: pool)), correlationID: 44),
        Case(name: "why", message: .why(Why(explanation: explanation, focus: explanation.verdicts[0])), correlationID: 44),
        Case(
            name: "why-named", message: .why(Why(explanation: explanation, focus: nil, names: names)), correlationID: 44),
        Case(
            name: "subscribe",
            message: .subscribe(Subscribe(kinds: EventKind.membership.mask | EventKind.placement.mask, fromSequence: 0)),
            correlationID: 0),
        Case(
            name: "event",
            message: .event(
                Event(
                    sequence: 812, at: t0, kind: .membership, severity: .warning, subject: nodeB.short,
                    detail: "suspected by 3 members")), flags: .ignorable),
        Case(name: "unsubscribe", message: .unsubscribe(Unsubscribe()), correlationID: 0),
        Case(name: "register-pool", message: .registerPool(RegisterPool(descriptor: descriptor)), correlationID: 47),
        Case(
            name: "pool-registered", message: .poolRegistered(PoolRegistered(id: pool, epoch: 2, sequence: 299)),
            correlationID: 47),
    ]

    static func frame(_ c: Case) -> [UInt8] {
        try! FrameEncoder.frame(c.message, correlationID: c.correlationID, flags: c.flags)
    }

    static func frame(named name: String) -> [UInt8] { frame(cases.first { $0.name == name }!) }
}
