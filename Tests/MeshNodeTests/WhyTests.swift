import MeshCore
import MeshNode
import MeshPlacement
import MeshWire
import Testing

/// The console's WHY (issue 14): explanations survive a restart through the ledger, and a node
/// without the explanation names the node that has it.
@Suite("NodeCore: WHY")
struct WhyTests {
    let r1 = Bench.id(1)
    let industry = Bench.id(3)

    /// The ERROR text a WHY about `requestID` got at `node`.
    func refusal(_ bench: inout Bench, why requestID: RequestID, at node: NodeID, correlationID: UInt64) -> String? {
        bench.console(.whyRequest(WhyRequest(requestID: requestID, pool: nil)), correlationID: correlationID, at: node)
        guard case .error(let e)? = bench.answer(correlationID) else { return nil }
        return e.message
    }

    @Test func everyDecisionsExplanationIsPersistedAndARestartedNodeAnswersWhyWithIt() throws {
        var bench = Bench.regionalAndIndustry()
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        let outcome = try #require(bench.outcome(1))
        #expect(outcome.isPlaced)
        // The deciding node and the entry node each persist the explanation once.
        for node in [r1, industry] {
            let kept = bench.persisted[node, default: []].flatMap(\.explanations)
            #expect(kept == [outcome.explanation], "node \(node.short) persisted \(kept)")
        }
        // The entry node restarts from what it persisted: WHY answers as before.
        let before = bench.nodes[industry]!
        var rng = SeededRandom(seed: 5)
        var restarted = try NodeCore(
            identity: before.identity, config: bench.config, incarnation: 2, durableIncarnation: 1_000,
            ledger: before.owner.snapshot, explanations: bench.persisted[industry]!.flatMap(\.explanations),
            now: bench.now, rng: &rng)
        #expect(restarted.restoredExplanations == 1)
        _ = restarted.handle(.sessionOpened(Bench.session, operator: Bench.id(99)), now: bench.now, rng: &rng)
        let answers = restarted.handle(
            .consoleRequest(
                .whyRequest(WhyRequest(requestID: RequestID(value: 1), pool: nil)), correlationID: 7, session: Bench.session),
            now: bench.now, rng: &rng)
        #expect(
            answers.contains(
                .answer(.why(Why(explanation: outcome.explanation, focus: nil)), correlationID: 7, session: Bench.session)))
    }

    /// An explanation is not promised to anyone: it rides along with a commit the node makes
    /// anyway, and makes one of its own (which would hold every answer behind it) only once it has
    /// waited a second.
    @Test func anExplanationRidesAlongWithACommitOrWaitsASecondForOneOfItsOwn() throws {
        var bench = Bench.regionalAndIndustry()
        bench.console(.place(bench.request(1, key: "placed", at: industry)), correlationID: 1, at: industry)
        bench.console(.place(bench.request(2, key: "too-big", units: 1_000, at: industry)), correlationID: 2, at: industry)
        let explained = [try #require(bench.outcome(1)).explanation, try #require(bench.outcome(2)).explanation]
        func alone(_ node: NodeID) -> [PersistBatch] {
            bench.persisted[node, default: []].filter {
                !$0.explanations.isEmpty && $0.changes.isEmpty && $0.decisions.isEmpty && $0.incarnation == nil
            }
        }
        for node in [r1, industry] { #expect(alone(node).isEmpty, "\(node.short) committed explanations on their own at once") }
        bench.tick(to: bench.now + .milliseconds(1_001))
        bench.commitAll()
        for node in [r1, industry] {
            let kept = bench.persisted[node, default: []].flatMap(\.explanations)
            #expect(Set(kept.map(\.requestID)) == Set(explained.map(\.requestID)), "\(node.short) kept \(kept.map(\.requestID))")
        }
        print("explanation-only commits after a second: r1 \(alone(r1).count), industry \(alone(industry).count)")
    }

    @Test func anOwnerThatDidNotDecideNamesTheDecidingNodeAndItsAddress() throws {
        var bench = Bench()
        bench.add(1, role: .regional)
        bench.add(3, role: .industry, pools: [Bench.pool("fin")])
        for session in [r1, industry] { bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99)), to: session) }
        for step in 1...5 as ClosedRange<UInt64> { bench.tick(to: bench.now + .milliseconds(1_000 * step)) }
        bench.console(.place(bench.request(1, key: "k", at: r1)), correlationID: 1, at: r1)
        guard case .placed(let leases)? = bench.outcome(1)?.result else {
            Issue.record("expected a placement on the industry node's pool, got \(String(describing: bench.answer(1)))")
            return
        }
        #expect(leases[0].pool.owner == industry)
        let hint = try #require(refusal(&bench, why: RequestID(value: 1), at: industry, correlationID: 2))
        #expect(hint.contains(r1.hex) && hint.contains("127.0.0.1:7001"), "\(hint)")
        #expect(hint.contains("did not decide") && hint.contains(leases[0].pool.description), "\(hint)")
        #expect(!hint.contains("where it was placed"), "the owner is where it was placed: the wrong node")
        // The deciding node answers.
        bench.console(.whyRequest(WhyRequest(requestID: RequestID(value: 1), pool: nil)), correlationID: 3, at: r1)
        guard case .why(let why)? = bench.answer(3) else {
            Issue.record("the deciding node did not answer WHY: \(String(describing: bench.answer(3)))")
            return
        }
        #expect(why.explanation.decidedBy == r1)
    }

    @Test func aRequestStillForwardedNamesThePeerDecidingIt() throws {
        var bench = Bench.regionalAndIndustry()
        bench.unreachable = [r1]
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        let hint = try #require(refusal(&bench, why: RequestID(value: 1), at: industry, correlationID: 2))
        #expect(hint.contains("not decided yet") && hint.contains(r1.hex) && hint.contains("127.0.0.1:7001"), "\(hint)")
    }

    @Test func anUnknownRequestSaysWhatThisNodeIsAndWhereExplanationsLive() throws {
        var bench = Bench.regionalAndIndustry()
        let hint = try #require(refusal(&bench, why: RequestID(value: 4_242), at: industry, correlationID: 1))
        #expect(hint.contains("no explanation") && hint.contains(industry.short) && hint.contains("entered at"), "\(hint)")
    }

    @Test func aPoolWithoutAVerdictIsReportedAsNotACandidate() throws {
        var bench = Bench.regionalAndIndustry()
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        #expect(bench.outcome(1)?.isPlaced == true)
        let other = try ComputeID(owner: Bench.id(8), path: ["elsewhere"])
        bench.console(.whyRequest(WhyRequest(requestID: RequestID(value: 1), pool: other)), correlationID: 2, at: industry)
        guard case .error(let e)? = bench.answer(2) else {
            Issue.record("expected ERROR, got \(String(describing: bench.answer(2)))")
            return
        }
        #expect(e.message.contains("not among the 1 candidates"), "\(e.message)")
    }
}
