// mesh-ledger-crashtest: kills a process that places compute against the SQLite ledger with
// SIGKILL at random points, reopens the ledger after every kill and checks that no acknowledged
// hold or lease was lost and that no idempotency key was booked twice.
//
//   mesh-ledger-crashtest run <dir> [placements] [kills] [seed]   the parent: spawn, kill, verify
//   mesh-ledger-crashtest child <dir> <placements> <seed>         the child: place until done
//
// The child is one node: a requester and an owner ledger in one process, exchanging placement
// messages in memory. Every owner answer leaves only after its batch committed; an answer that
// leaves is "acknowledged" by appending a line to <dir>/acks.log (write(2) with O_APPEND, which
// survives the death of the process). The parent trusts only that file.
import Foundation
import Glibc
import MeshCore
import MeshPlacement
import MeshStore

let node = NodeID(w0: 0xC0FF_EE00, w1: 1, w2: 2, w3: 3)
let region = try! Region("cn-east")
let tenant = try! TenantID("crash-tenant")
let poolCount = 4
let poolUnits: UInt64 = 600

func pools() -> [PoolDescriptor] {
    (0..<poolCount).map { i in
        PoolDescriptor(
            id: try! ComputeID(owner: node, path: ["pool-\(i)"]), architecture: .x86_64, accelerators: [],
            computeUnits: poolUnits,
            memoryMiB: poolUnits << 10, interconnect: .ethernet,
            pricePerUnitHour: Price(microYuan: 1_000_000 + UInt64(i) * 100_000),
            residency: region, certifications: [], greenEnergyPermille: 500)
    }
}

func wallNow() -> MeshInstant {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return MeshInstant(milliseconds: UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("mesh-ledger-crashtest: \(message)\n".utf8))
    exit(1)
}

// MARK: - Acknowledgements

struct Acks {
    var holds: [String] = []
    /// lease ID → (hold ID, key)
    var leases: [String: (String, String)] = [:]
    var released: Set<String> = []
    /// placement index → "placed <lease>" or "refused <reason>"
    var outcomes: [Int: String] = [:]

    static func read(_ path: String) -> Acks {
        var acks = Acks()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return acks }
        for line in text.split(separator: "\n") where line.hasSuffix(";") {  // a torn last line has no ';'
            let f = line.dropLast().split(separator: " ").map(String.init)
            switch f.first {
            case "H": acks.holds.append(f[1])
            case "L": acks.leases[f[1]] = (f[2], f[3])
            case "R": acks.released.insert(f[1])
            case "O": acks.outcomes[Int(f[1])!] = f.dropFirst(2).joined(separator: " ")
            default: break
            }
        }
        return acks
    }
}

// MARK: - Child

func child(dir: String, placements: Int, seed: UInt64) {
    var store: SQLiteLedgerStore
    do { store = try SQLiteLedgerStore(path: dir + "/ledger.sqlite") } catch { fail("child: \(error)") }
    let config = PlacementConfig(holdTTLMilliseconds: 2_000)
    let state: LedgerSnapshot
    do { state = try store.load() } catch { fail("child: load: \(error)") }
    var owner = OwnerLedger(node: node, config: config, restoring: state)
    var rng = SeededRandom(seed: seed ^ UInt64(getpid()) ^ wallNow().milliseconds)
    let ackFD = open(dir + "/acks.log", O_WRONLY | O_APPEND | O_CREAT, 0o644)
    if ackFD < 0 { fail("child: cannot open acks.log") }
    func ack(_ line: String) {
        let bytes = Array((line + ";\n").utf8)
        if write(ackFD, bytes, bytes.count) != bytes.count { fail("child: ack write failed") }
    }
    func persistThenAnswer(_ directives: [OwnerDirective]) -> [PlacementMessage] {
        var replies: [PlacementMessage] = []
        for directive in directives {
            switch directive {
            case .persist(let changes, let version):
                do {
                    try store.commit(changes, ledgerVersion: version, at: wallNow())
                } catch {
                    fail("child: commit: \(error)")
                }
            case .reply(_, let message):
                // The answer leaves now, after its batch committed: acknowledge it.
                switch message {
                case .quote(let q): ack("H \(q.holdID)")
                case .confirmed(let c): ack("L \(c.lease.leaseID) \(c.lease.holdID) \(keyOf[c.requestID] ?? "?")")
                case .leaseState(let s):
                    if s.state == .released, case .lease(let id) = s.reservation { ack("R \(id)") }
                default: break
                }
                replies.append(message)
            case .scheduleSweep: break
            }
        }
        return replies
    }
    var keyOf: [RequestID: String] = [:]
    if state.pools.isEmpty {
        for pool in pools() {
            _ = persistThenAnswer(owner.register(RegisteredPool(descriptor: pool, epoch: 1, sequence: 1), now: wallNow()))
        }
    }
    _ = persistThenAnswer(owner.onTick(now: wallNow()))
    var requester = PlacementRequester(node: node, region: region, config: config)
    func refreshView() {
        for pool in pools() {
            let now = wallNow()
            requester.view.upsert(
                ViewEntry(
                    descriptor: pool, availability: owner.availability(of: pool.id)!, epoch: 1, sequence: now.milliseconds,
                    issuedAt: now,
                    validUntil: now + .seconds(5), latency: .milliseconds(1)))
        }
    }
    let acks = Acks.read(dir + "/acks.log")
    let start = (acks.outcomes.keys.max() ?? -1) + 1
    for i in start..<placements {
        refreshView()
        let now = wallNow()
        let request = PlacementRequest(
            requestID: RequestID.random(using: &rng), tenant: tenant, sector: .manufacturing, idempotencyKey: "p-\(i)",
            demand: Demand(computeUnits: 1 + rng.next(below: 3)), leaseDuration: .minutes(60), deadline: now + .seconds(10),
            origin: node)
        keyOf[request.requestID] = request.idempotencyKey
        var inbox: [PlacementMessage] = []
        var outcome: Outcome? = nil
        func handle(_ directives: [RequesterDirective]) {
            for directive in directives {
                switch directive {
                case .send(_, let message):
                    let t = wallNow()
                    switch message {
                    case .quoteRequest(let ask):
                        inbox += persistThenAnswer(
                            owner.onQuoteRequest(ask, from: node, requesterRegion: region, now: t, rng: &rng))
                    case .confirm(let ask): inbox += persistThenAnswer(owner.onConfirm(ask, from: node, now: t, rng: &rng))
                    case .release(let r): inbox += persistThenAnswer(owner.onRelease(r.reservation, from: node, now: t))
                    case .renew(let r):
                        inbox += persistThenAnswer(owner.onRenew(r.leaseID, extendBy: r.extendBy, from: node, now: t))
                    case .quote, .refuse, .confirmed, .leaseState, .forward, .outcome: fail("unexpected \(message)")
                    }
                case .deliver(let o, _, _): outcome = o
                case .remember, .explained: break  // the requester's memory is not what this test kills
                case .scheduleTick: break
                }
            }
        }
        handle(requester.onPlace(request, ticket: UInt64(i + 1), now: now, rng: &rng))
        var steps = 0
        while !inbox.isEmpty {
            steps += 1
            if steps > 1_000 { fail("message storm") }
            let message = inbox.removeFirst()
            handle(requester.onMessage(message, from: node, now: wallNow()))
        }
        guard let outcome else { fail("placement \(i) did not finish") }
        switch outcome.result {
        case .placed(let leases):
            ack("O \(i) placed \(leases[0].leaseID)")
            if i % 3 == 0 { _ = persistThenAnswer(owner.onRelease(.lease(leases[0].leaseID), from: node, now: wallNow())) }
        case .refused(let reason, _):
            ack("O \(i) refused \(reason)")
        }
    }
    exit(0)
}

// MARK: - Parent

func verify(dir: String, placements: Int, finished: Bool) -> String? {
    let store: SQLiteLedgerStore
    let state: LedgerSnapshot
    do {
        store = try SQLiteLedgerStore(path: dir + "/ledger.sqlite")
        state = try store.load()
    } catch { return "reopen failed: \(error)" }
    let acks = Acks.read(dir + "/acks.log")
    guard let holdRows = try? store.allHolds(), let leaseRows = try? store.allLeases() else { return "audit queries failed" }
    let holdIDs = Set(holdRows.map(\.holdID))
    for hold in acks.holds where !holdIDs.contains(hold) { return "acknowledged hold \(hold) is lost" }
    var leaseByID: [String: (holdID: String, key: String, state: Int64)] = [:]
    var leasesPerKey: [String: Int] = [:]
    for row in leaseRows {
        leaseByID[row.leaseID] = (row.holdID, row.idempotencyKey, row.state)
        leasesPerKey[row.idempotencyKey, default: 0] += 1
    }
    for (key, count) in leasesPerKey where count > 1 { return "idempotency key \(key) has \(count) leases (a duplicate)" }
    for (leaseID, (holdID, key)) in acks.leases {
        guard let row = leaseByID[leaseID] else { return "acknowledged lease \(leaseID) is lost" }
        if row.holdID != holdID || (key != "?" && row.key != key) { return "lease \(leaseID) does not match its acknowledgement" }
        // Acknowledged released: it must be released. Otherwise it must be live, or released by a
        // release that committed but whose answer the kill cut off (committed, not acknowledged).
        let allowed: [Int64] = acks.released.contains(leaseID) ? [3] : [2, 3]
        if !allowed.contains(row.state) { return "lease \(leaseID) is in state \(row.state), acknowledged \(allowed)" }
    }
    for (index, text) in acks.outcomes where text.hasPrefix("placed ") {
        let leaseID = String(text.dropFirst(7))
        guard leaseByID[leaseID] != nil else { return "placement \(index) acknowledged lease \(leaseID), which is lost" }
    }
    // The ledger must restore, and holds plus leases must fit every pool.
    var used: [ComputeID: UInt64] = [:]
    for hold in state.holds { used[hold.pool, default: 0] += hold.computeUnits }
    for lease in state.leases { used[lease.lease.pool, default: 0] += lease.lease.computeUnits }
    for (pool, units) in used where units > poolUnits { return "pool \(pool.localName) over-committed: \(units) > \(poolUnits)" }
    _ = OwnerLedger(node: node, restoring: state)
    if finished {
        for i in 0..<placements where acks.outcomes[i] == nil { return "placement \(i) never got an outcome" }
    }
    return nil
}

func parent(dir: String, placements: Int, kills: Int, seed: UInt64) {
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var rng = SeededRandom(seed: seed)
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    func lines() -> Int {
        guard let data = FileManager.default.contents(atPath: dir + "/acks.log") else { return 0 }
        return data.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
    }
    var killed = 0
    var runs = 0
    let startedAt = wallNow()
    while true {
        if wallNow().milliseconds - startedAt.milliseconds > 240_000 { fail("gave up after four minutes") }
        runs += 1
        if runs > kills * 5 + 10 { fail("too many runs without finishing") }
        let process = Process()
        process.executableURL = me
        process.arguments = ["child", dir, String(placements), String(rng.next())]
        do { try process.run() } catch { fail("cannot start the child: \(error)") }
        if killed < kills {
            let before = lines()
            let target = before + 1 + Int(rng.next(below: 60))
            while process.isRunning && lines() < target { usleep(200) }
            usleep(UInt32(rng.next(below: 3_000)))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal {
                    killed += 1
                    if let problem = verify(dir: dir, placements: placements, finished: false) {
                        fail("after kill \(killed): \(problem)")
                    }
                    print("kill \(killed): SIGKILL after \(lines()) acknowledgement lines; ledger verified")
                    continue
                }
            }
            process.waitUntilExit()
        } else {
            process.waitUntilExit()
        }
        if process.terminationReason == .exit && process.terminationStatus == 0 {
            if killed < kills {
                fail("the child finished all \(placements) placements after only \(killed) kills; raise placements")
            }
            if let problem = verify(dir: dir, placements: placements, finished: true) { fail("after the last run: \(problem)") }
            let acks = Acks.read(dir + "/acks.log")
            let placed = acks.outcomes.values.filter { $0.hasPrefix("placed") }.count
            print(
                "OK: \(placements) placements (\(placed) placed), \(killed) SIGKILLs, \(acks.holds.count) holds and \(acks.leases.count) leases acknowledged, none lost, no duplicate"
            )
            exit(0)
        }
        fail("child ended with reason \(process.terminationReason.rawValue) status \(process.terminationStatus)")
    }
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "child" where args.count == 5:
    child(dir: args[2], placements: Int(args[3]) ?? 0, seed: UInt64(args[4]) ?? 0)
case "run" where args.count >= 3:
    parent(
        dir: args[2], placements: args.count > 3 ? Int(args[3]) ?? 1000 : 1000, kills: args.count > 4 ? Int(args[4]) ?? 20 : 20,
        seed: args.count > 5 ? UInt64(args[5]) ?? 1 : 1)
default:
    FileHandle.standardError.write(Data("usage: mesh-ledger-crashtest run <dir> [placements] [kills] [seed]\n".utf8))
    exit(2)
}
