import Foundation
import MeshCore
import MeshRuntime
import MeshTestSupport
import MeshWire
import Testing

/// A live `meshd` against `Protocols/SPEC.md`, through a client that knows only the document
/// (``RawClient``): the nine mismatches of issue 16.
@Suite("live conformance", .serialized, .timeLimit(.minutes(2)))
struct LiveConformanceTests {
    static let onePool =
        #""pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5}]"#

    /// A regional node with `pools` (a JSON array's inner text, or the one pool above).
    func node(_ dir: URL, pools: String = onePool) async throws -> MeshdProcess {
        try await MeshdProcess("live", config: #""role": "regional", "region": "cn-north", \#(pools)"#, in: dir)
    }

    func console(_ node: MeshdProcess, maxFrameBytes: UInt32 = 1 << 20) async throws -> RawClient {
        let address = node.address
        return try await offPool {
            let client = try RawClient(connectingTo: address, maxFrameBytes: maxFrameBytes, readTimeoutSeconds: 2)
            guard try client.handshake() else { throw RuntimeError("not welcomed: \(String(describing: client.refusal))") }
            return client
        }
    }

    func descriptor(owner: NodeID, _ name: String, architecture: CPUArchitecture = .x86_64) throws -> PoolDescriptor {
        PoolDescriptor(
            id: try ComputeID(owner: owner, path: [name]), architecture: architecture, accelerators: [], computeUnits: 100,
            memoryMiB: 1024, interconnect: .ethernet, pricePerUnitHour: Price(microYuan: 500_000),
            residency: try Region("cn-north"), certifications: [], greenEnergyPermille: 0)
    }

    // MARK: - 1, 2: PING

    @Test func aConsolePingIsAnsweredByPongWithThePingsCorrelationID() async throws {
        let dir = try testDirectory("live-ping")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let client = try await console(node)
        let (frame, answer) = try await offPool {
            try client.send(.ping(Ping(nonce: 42, sentAt: MeshInstant(milliseconds: 1000))), correlationID: 7)
            return try client.answer(to: 7)
        }
        #expect(answer == .pong(Pong(nonce: 42, sentAt: MeshInstant(milliseconds: 1000))), "\(answer)")
        #expect(frame.header.correlationID == 7)
    }

    @Test func aMemberPingIsAnsweredByPongWithThePingsCorrelationID() async throws {
        let dir = try testDirectory("live-mping")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let address = node.address
        let pong = try await offPool { () -> Frame? in
            let hello = Hello(
                nodeID: NodeID(w0: 77, w1: 1, w2: 2, w3: 3), role: .industry, region: try Region("cn-north"),
                sectors: [.finance], listenAddress: NetAddress(host: "127.0.0.1", port: 1), incarnation: 1)
            let client = try RawClient(connectingTo: address, hello: hello, readTimeoutSeconds: 2)
            guard try client.handshake() else { throw RuntimeError("not welcomed") }
            try client.send(.ping(Ping(nonce: 5, sentAt: MeshInstant(milliseconds: 9))), correlationID: 9)
            return try client.next { $0.header.type == .pong }
        }
        #expect(pong?.header.correlationID == 9, "PONG header \(String(describing: pong?.header))")
    }

    // MARK: - 3: ERROR.frameType

    @Test func aFrameThatFailsToDecodeIsRefusedNamingItsTypeAndCorrelationID() async throws {
        let dir = try testDirectory("live-err")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let client = try await console(node)
        let (frame, answer) = try await offPool {
            // STATUS_REQUEST whose body has a byte after its empty tagged section.
            var bytes = try FrameEncoder.frame(.statusRequest(StatusRequest()), correlationID: 5)
            bytes.append(0)
            bytes[3] += 1
            client.sendRaw(bytes)
            return try client.answer(to: 5)
        }
        guard case .error(let error) = answer else {
            Issue.record("not ERROR: \(answer)")
            return
        }
        #expect(error.code == WireErrorCode.trailingBytes.rawValue)
        #expect(error.frameType == MessageType.statusRequest.rawValue)
        #expect(error.offset == 17)
        #expect(frame.header.correlationID == 5)
    }

    // MARK: - 4: the negotiated frame limit

    @Test func everyInventoryAnswerFitsTheNegotiatedFrameLimitAndPagesCoverEveryPool() async throws {
        let dir = try testDirectory("live-page")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pools = (1...60).map {
            #"{"name": "pool-with-a-long-name-\#($0)", "architecture": "x86_64", "computeUnits": 1000, "memoryMiB": 1048576, "pricePerUnitHour": 0.5}"#
        }
        let node = try await node(dir, pools: #""pools": [\#(pools.joined(separator: ", "))]"#)
        defer { node.stop() }
        let client = try await console(node, maxFrameBytes: 4096)
        #expect(client.welcome?.maxFrameBytes == 4096)
        let (sizes, seen) = try await offPool { () -> ([Int], [ComputeID]) in
            var sizes: [Int] = []
            var seen: [ComputeID] = []
            var after: ComputeID? = nil
            for page in 1...60 {
                try client.send(.inventoryRequest(InventoryRequest(after: after, limit: 1024)), correlationID: UInt64(page))
                let (frame, answer) = try client.answer(to: UInt64(page))
                sizes.append(frame.bytes.count)
                guard case .inventory(let inventory) = answer else { throw RuntimeError("not INVENTORY: \(answer)") }
                seen += inventory.pools.map(\.descriptor.body.computeID)
                after = inventory.pools.last?.descriptor.body.computeID
                if !inventory.more { break }
            }
            return (sizes, seen)
        }
        #expect(sizes.allSatisfy { $0 <= 4096 }, "answer sizes \(sizes)")
        #expect(sizes.count > 1)
        #expect(seen.count == 60 && Set(seen).count == 60, "\(seen.count) pools seen")
    }

    // MARK: - 5, 6, 7: the event stream

    @Test func subscribeDeliversOnlyTheKindsAskedForWithTheIgnorableFlag() async throws {
        let dir = try testDirectory("live-kinds")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let client = try await console(node)
        let owner = node.nodeID
        let events = try await offPool { () -> [Frame] in
            try client.send(.subscribe(Subscribe(kinds: EventKind.lifecycle.mask)), correlationID: 0)
            try client.send(.registerPool(RegisterPool(descriptor: try descriptor(owner: owner, "a"))), correlationID: 1)
            _ = try client.answer(to: 1)
            try client.send(.subscribe(Subscribe(kinds: EventKind.inventory.mask)), correlationID: 0)
            try client.send(.registerPool(RegisterPool(descriptor: try descriptor(owner: owner, "b"))), correlationID: 2)
            _ = try client.answer(to: 2)
            return try client.drain().filter { $0.header.type == .event }
        }
        let decoded = try events.map { frame -> Event in
            guard case .event(let e) = try client.message(of: frame) else { throw RuntimeError("not EVENT") }
            return e
        }
        #expect(decoded.count == 1, "\(decoded)")
        #expect(decoded.allSatisfy { $0.kind == .inventory && $0.subject.hasSuffix("/b") }, "\(decoded)")
        #expect(events.allSatisfy { $0.header.flags == .ignorable && $0.header.correlationID == 0 })
    }

    @Test func subscribeFromASequenceReplaysTheKeptEventsFromThere() async throws {
        let dir = try testDirectory("live-replay")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let client = try await console(node)
        let owner = node.nodeID
        let all = EventKind.allCases.reduce(UInt32(0)) { $0 | $1.mask }
        let (fromOne, fromRecent) = try await offPool { () -> ([Event], [Event]) in
            try client.send(.registerPool(RegisterPool(descriptor: try descriptor(owner: owner, "a"))), correlationID: 1)
            _ = try client.answer(to: 1)
            try client.send(.subscribe(Subscribe(kinds: all, fromSequence: 1)), correlationID: 0)
            let fromOne = try client.drain().compactMap { frame -> Event? in
                if case .event(let e) = try client.message(of: frame) { e } else { nil }
            }
            try client.send(.unsubscribe(Unsubscribe()), correlationID: 0)
            let last = fromOne.last?.sequence ?? 1
            try client.send(.subscribe(Subscribe(kinds: all, fromSequence: last)), correlationID: 0)
            let fromRecent = try client.drain().compactMap { frame -> Event? in
                if case .event(let e) = try client.message(of: frame) { e } else { nil }
            }
            return (fromOne, fromRecent)
        }
        #expect(fromOne.first?.sequence == 1 && fromOne.first?.kind == .lifecycle, "\(fromOne)")
        #expect(fromOne.contains { $0.kind == .inventory }, "\(fromOne)")
        #expect(fromOne.map(\.sequence) == fromOne.map(\.sequence).sorted())
        #expect(fromRecent.map(\.sequence) == [fromOne.last?.sequence].compactMap { $0 }, "\(fromRecent)")
    }

    // MARK: - 8: one session per NodeID

    @Test func aSecondSessionWithTheSameNodeIDIsRefusedWithDuplicateNode() async throws {
        let dir = try testDirectory("live-dup")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let address = node.address
        for role in [Role.operatorConsole, .industry] {
            let refusal = try await offPool { () -> WireMessage? in
                let hello = Hello(
                    nodeID: NodeID(w0: UInt64.random(in: 1...UInt64.max), w1: 0, w2: 0, w3: 0), role: role,
                    region: try Region("cn-north"), sectors: role == .industry ? [.finance] : [],
                    listenAddress: role == .industry ? NetAddress(host: "127.0.0.1", port: 1) : nil, incarnation: 1)
                let first = try RawClient(connectingTo: address, hello: hello, readTimeoutSeconds: 2)
                guard try first.handshake() else { throw RuntimeError("the first session was not welcomed") }
                let second = try RawClient(connectingTo: address, hello: hello, readTimeoutSeconds: 2)
                if try second.handshake() { return nil }
                return second.refusal
            }
            guard case .reject(let reject)? = refusal else {
                Issue.record("\(role): the second session got \(String(describing: refusal))")
                continue
            }
            #expect(reject.reason == .duplicateNode)
        }
    }

    // MARK: - 9: semantic refusals

    @Test func semanticRefusalsUseTheirOwnCodesAndOpenEnumerationsAreAccepted() async throws {
        let dir = try testDirectory("live-refuse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try await node(dir)
        defer { node.stop() }
        let client = try await console(node)
        let owner = node.nodeID
        let (unknownArch, foreign, why) = try await offPool { () -> (WireMessage, WireMessage, WireMessage) in
            try client.send(
                .registerPool(RegisterPool(descriptor: try descriptor(owner: owner, "future", architecture: .unknown(200)))),
                correlationID: 1)
            let unknownArch = try client.answer(to: 1).1
            let stranger = NodeID(w0: 1, w1: 2, w2: 3, w3: 4)
            try client.send(.registerPool(RegisterPool(descriptor: try descriptor(owner: stranger, "x"))), correlationID: 2)
            let foreign = try client.answer(to: 2).1
            try client.send(.whyRequest(WhyRequest(requestID: RequestID(value: 99), pool: nil)), correlationID: 3)
            return (unknownArch, foreign, try client.answer(to: 3).1)
        }
        guard case .poolRegistered = unknownArch else {
            Issue.record("an unknown architecture code was refused: \(unknownArch)")
            return
        }
        guard case .error(let notOwner) = foreign, case .error(let notFound) = why else {
            Issue.record("not ERRORs: \(foreign), \(why)")
            return
        }
        #expect(notOwner.code == WireErrorCode.notOwner.rawValue, "\(notOwner)")
        #expect(notFound.code == WireErrorCode.notFound.rawValue, "\(notFound)")
        #expect(notOwner.frameType == MessageType.registerPool.rawValue)
    }
}
