// meshctl console: an operator's debug console on one node, over mutual TLS 1.3 with an
// operator certificate (or plaintext on loopback, for nodes started with "plaintext": true).
//
// Every request carries a fresh non-zero correlation ID and waits for the answer with the same
// ID: the node's response, or an ERROR frame naming what it refused. Waits are bounded: connect
// 5 s, answers 10 s, PLACE until the request's deadline plus 5 s.
import Dispatch
import Foundation
import Glibc
import MeshCommandLine
import MeshConsole
import MeshCore
import MeshCrypto
import MeshRuntime
import MeshTransport
import MeshWire
import Synchronization

// MARK: - Errors

/// A console failure, worded for the operator: what went wrong and what to do.
struct ConsoleError: ExitStatusError {
    var description: String
    /// The exit status: 1 when the node refused the request, 2 for everything else.
    var status: Int32
    var exitStatus: Int32 { status }
    init(_ text: String, status: Int32 = 2) {
        description = text
        self.status = status
    }
}

// MARK: - Blocking bridge

/// Runs `body` on the cooperative pool and waits for it on the calling (main) thread; meshctl's
/// command functions are synchronous.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

/// Milliseconds since the Unix epoch: the clock nodes use for instants that travel in frames.
func wallClockNow() -> MeshInstant { MeshInstant(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000)) }

// MARK: - Credentials

/// How the console proves who it is: an operator certificate directory, or plaintext.
enum ConsoleCredentials: Sendable {
    /// A directory with node.key, node.pem and root.pem from `meshctl cert issue --role operator`.
    case directory(String)
    /// Plaintext, loopback only (nodes configured with `"plaintext": true`).
    case plaintext

    /// The transport configuration of a console with these credentials.
    func transportConfiguration() throws -> TransportConfiguration {
        switch self {
        case .plaintext:
            let key = try Ed25519PrivateKey.generate()
            let identity = LocalIdentity(
                nodeID: key.nodeID, role: .operatorConsole, region: try Region("local"), software: "meshctl/1")
            return TransportConfiguration(identity: identity, tls: nil, allowPlaintext: true)
        case .directory(let dir):
            for file in ["node.key", "node.pem", "root.pem"] where !FileManager.default.fileExists(atPath: dir + "/" + file) {
                throw ConsoleError(
                    "\(dir)/\(file) is missing: --credentials names a directory made by "
                        + "`meshctl cert issue --role operator --operator OPERATOR_DIR --region REGION --out \(dir)`")
            }
            let key: Ed25519PrivateKey
            let chain: [Certificate]
            let root: Certificate
            do {
                key = try Ed25519PrivateKey(contentsOf: dir + "/node.key")
                chain = try Certificate.load(dir + "/node.pem")
                guard let first = try Certificate.load(dir + "/root.pem").first else {
                    throw ConsoleError("\(dir)/root.pem holds no certificate")
                }
                root = first
            } catch let error as CryptoError {
                throw ConsoleError("cannot read the credentials in \(dir): \(error.description)")
            }
            guard let leaf = chain.first, let binding = try leaf.nodeBinding else {
                throw ConsoleError("\(dir)/node.pem is not a ComputeMesh node certificate")
            }
            guard binding.role == .operatorConsole else {
                throw ConsoleError(
                    "\(dir)/node.pem is a \(binding.role) node's certificate; a console needs one issued with --role operator")
            }
            guard binding.nodeID == key.nodeID else {
                throw ConsoleError("\(dir)/node.key does not belong to \(dir)/node.pem: issue the certificate again")
            }
            let tls: TLSSetup
            do {
                tls = try TLSSetup(identity: TLSIdentity(key: key, chain: chain), trust: try FederationTrust(root: root))
            } catch {
                throw ConsoleError("cannot set up TLS with the credentials in \(dir): \(error.description)")
            }
            let identity = LocalIdentity(
                nodeID: key.nodeID, role: .operatorConsole, region: binding.region, software: "meshctl/1")
            return TransportConfiguration(identity: identity, tls: tls)
        }
    }
}

// MARK: - Client

/// Routes a console connection's frames to the requests waiting for them, and events to `watch`.
final class ConsoleRouter: Sendable {
    struct State {
        var pending: [UInt64: CheckedContinuation<WireMessage, any Error>] = [:]
        var closedReason: String?
        var events: AsyncStream<Event>.Continuation?
    }
    let state = Mutex(State())

    /// Called on the transport's loop thread: never blocks.
    func handle(_ event: TransportEvent) {
        switch event {
        case .opened:
            return
        case .frame(_, let message, let correlationID, _):
            if case .event(let e) = message {
                _ = state.withLock { $0.events?.yield(e) }
                return
            }
            guard correlationID != 0 else { return }
            let waiter = state.withLock { $0.pending.removeValue(forKey: correlationID) }
            waiter?.resume(returning: message)
        case .closed(_, let reason):
            let (waiters, events) = state.withLock {
                s -> ([CheckedContinuation<WireMessage, any Error>], AsyncStream<Event>.Continuation?) in
                s.closedReason = s.closedReason ?? reason
                let w = Array(s.pending.values)
                s.pending = [:]
                let e = s.events
                s.events = nil
                return (w, e)
            }
            for waiter in waiters {
                waiter.resume(throwing: ConsoleError("the node closed the connection: \(reason)"))
            }
            events?.finish()
        }
    }

    func fail(_ correlationID: UInt64, _ error: ConsoleError) {
        let waiter = state.withLock { $0.pending.removeValue(forKey: correlationID) }
        waiter?.resume(throwing: error)
    }
}

/// One console connection to one node.
final class ConsoleClient: Sendable {
    let address: SocketAddress
    let transport: Transport
    let router: ConsoleRouter
    let connection: ConnectionID
    let peer: PeerInfo
    private let nextCorrelationID = Atomic<UInt64>(1)

    /// The longest wait for an answer.
    static let answerTimeoutSeconds: Double = 10
    /// The longest wait for TCP, TLS and HELLO/WELCOME.
    static let connectTimeoutSeconds: Double = 5

    private init(address: SocketAddress, transport: Transport, router: ConsoleRouter, connection: ConnectionID, peer: PeerInfo) {
        self.address = address
        self.transport = transport
        self.router = router
        self.connection = connection
        self.peer = peer
    }

    /// Connects and completes the handshake within ``connectTimeoutSeconds``.
    static func connect(to text: String, credentials: ConsoleCredentials) async throws -> ConsoleClient {
        let parsed: NetAddress
        do { parsed = try NetAddress(parsing: text) } catch {
            throw ConsoleError("--node \(text): \(error.description); write it as HOST:PORT, e.g. 127.0.0.1:7401")
        }
        let address = SocketAddress(host: parsed.host, port: parsed.port)
        if case .plaintext = credentials, !address.isLoopback {
            throw ConsoleError("--plaintext works on loopback only; \(text) is not loopback: use --credentials DIR")
        }
        var configuration = try credentials.transportConfiguration()
        configuration.connectTimeoutMilliseconds = UInt64(connectTimeoutSeconds * 1000)
        configuration.handshakeTimeoutMilliseconds = UInt64(connectTimeoutSeconds * 1000)
        let router = ConsoleRouter()
        let transport: Transport
        do {
            transport = try Transport(
                configuration: configuration, logger: .silent, onEvent: { [router] in router.handle($0) })
        } catch {
            throw ConsoleError("cannot start the console's transport: \(error)")
        }
        do {
            // The transport bounds the wait: TCP within the connect timeout, TLS and WELCOME within
            // the handshake timeout, both counted from the start.
            let (id, peer) = try await transport.connect(to: address)
            return ConsoleClient(address: address, transport: transport, router: router, connection: id, peer: peer)
        } catch {
            transport.shutdown()
            throw ConsoleError(explain(error, address: text, credentials: credentials))
        }
    }

    static func explain(_ error: TransportError, address: String, credentials: ConsoleCredentials) -> String {
        switch error {
        case .connectFailed(_, let text):
            return "cannot reach a node at \(address) (\(text)): is meshd running and listening there? "
                + "Its first line of output says `meshd: NAME listening on HOST:PORT ...`"
        case .connectTimedOut:
            return "no answer from \(address) within \(Int(connectTimeoutSeconds)) s: check the address, and that nothing "
                + "between here and there drops the connection"
        case .handshakeFailed(let text) where text.contains("did not complete within"):
            return "\(address) accepted the connection but did not finish the handshake within "
                + "\(Int(connectTimeoutSeconds)) s (\(text)): is it a meshd node, and is it overloaded? Check its log"
        case .handshakeFailed(let text):
            switch credentials {
            case .plaintext:
                return "the handshake with \(address) failed (\(text)): the node probably speaks TLS; "
                    + "drop --plaintext and pass --credentials DIR with an operator certificate"
            case .directory(let dir):
                return "TLS with \(address) failed (\(text)): check that \(dir) holds an operator certificate issued under "
                    + "the same federation root as the node's, that it is not expired or revoked, and that the node "
                    + "is not running in plaintext mode (then use --plaintext)"
            }
        case .rejected(let reason, let text):
            return "the node at \(address) refused the console (\(reason)): \(text)"
        case .invalidAddress, .plaintextNotAllowed, .system, .shutDown, .tooManyConnections:
            return "cannot connect to \(address): \(error.description)"
        }
    }

    /// Sends `message` with a fresh correlation ID and returns the answer (the node's ERROR frame
    /// is thrown as a ``ConsoleError`` naming what was refused).
    func request(_ message: WireMessage, timeoutSeconds: Double = answerTimeoutSeconds) async throws -> WireMessage {
        let correlationID = nextCorrelationID.add(1, ordering: .relaxed).oldValue
        let name = message.type.name ?? "request"
        let timeout = Task { [router] in
            try await Task.sleep(for: .milliseconds(Int(timeoutSeconds * 1000)))
            router.fail(
                correlationID,
                ConsoleError(
                    "no answer to \(name) from \(self.address) within \(Self.seconds(timeoutSeconds)): the node is overloaded or stuck; check its log"
                ))
        }
        defer { timeout.cancel() }
        let answer: WireMessage = try await withCheckedThrowingContinuation { continuation in
            let closed = router.state.withLock { s -> String? in
                if let reason = s.closedReason { return reason }
                s.pending[correlationID] = continuation
                return nil
            }
            if let closed {
                continuation.resume(throwing: ConsoleError("the node closed the connection: \(closed)"))
                return
            }
            transport.send(message, correlationID: correlationID, on: connection)
        }
        if case .error(let error) = answer {
            let code = WireErrorCode(rawValue: error.code).map { "\($0)" } ?? "code \(error.code)"
            throw ConsoleError("the node refused \(name) (\(code)): \(error.message)", status: 1)
        }
        return answer
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    /// Starts the event subscription; events arrive on the returned stream until the node closes.
    func subscribe(kinds: UInt32) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        router.state.withLock { $0.events = continuation }
        transport.send(.subscribe(Subscribe(kinds: kinds)), correlationID: 0, on: connection)
        return stream
    }

    /// Closes the connection and stops the transport's thread.
    func close() {
        transport.close(connection, reason: "console done")
        transport.shutdown()
    }

    // MARK: Typed requests

    func status() async throws -> Status {
        guard case .status(let s) = try await request(.statusRequest(StatusRequest())) else { throw unexpected("STATUS") }
        return s
    }

    func members() async throws -> [MemberRow] {
        var rows: [MemberRow] = []
        var after: NodeID?
        for _ in 0..<64 {
            guard case .members(let page) = try await request(.membersRequest(MembersRequest(after: after))) else {
                throw unexpected("MEMBERS")
            }
            rows += page.members
            guard page.more, let last = page.members.last else { return rows }
            after = last.update.node
        }
        return rows
    }

    /// Every page of INVENTORY, as one answer (at most 64 pages); the name directories merged.
    func inventory(region: Region?) async throws -> Inventory {
        var whole = Inventory(pools: [], summaries: [], more: false)
        var names = NodeDirectory()
        var after: ComputeID?
        for _ in 0..<64 {
            guard case .inventory(let page) = try await request(.inventoryRequest(InventoryRequest(region: region, after: after)))
            else { throw unexpected("INVENTORY") }
            whole.pools += page.pools
            names.merge(page.names)
            if whole.summaries.isEmpty { whole.summaries = page.summaries }
            whole.more = page.more
            guard page.more, let last = page.pools.last else { break }
            after = last.descriptor.body.computeID
        }
        whole.names = names.entries
        return whole
    }

    func placements() async throws -> Placements {
        guard case .placements(let p) = try await request(.placementsRequest(PlacementsRequest())) else {
            throw unexpected("PLACEMENTS")
        }
        return p
    }

    func why(_ requestID: RequestID, pool: ComputeID?) async throws -> Why {
        guard case .why(let w) = try await request(.whyRequest(WhyRequest(requestID: requestID, pool: pool))) else {
            throw unexpected("WHY")
        }
        return w
    }

    func register(_ descriptor: PoolDescriptor) async throws -> PoolRegistered {
        guard case .poolRegistered(let r) = try await request(.registerPool(RegisterPool(descriptor: descriptor))) else {
            throw unexpected("POOL_REGISTERED")
        }
        return r
    }

    /// Sends PLACE and waits until the deadline plus 5 s for the OUTCOME.
    func place(_ placement: PlacementRequest) async throws -> Outcome {
        let remaining = Double(placement.deadline.milliseconds) / 1000 - Date().timeIntervalSince1970
        guard case .outcome(let o) = try await request(.place(placement), timeoutSeconds: max(remaining, 0) + 5) else {
            throw unexpected("OUTCOME")
        }
        return o
    }

    private func unexpected(_ expected: String) -> ConsoleError {
        ConsoleError("the node answered with something other than \(expected): is it running a different protocol version?")
    }
}

// MARK: - Request files

/// The friendly JSON form of a placement request that `meshctl console place` reads.
///
/// ```json
/// { "tenant": "shanghai-securities", "sector": "finance", "idempotencyKey": "risk-model-run-42",
///   "accelerator": { "kind": "gpu", "vendor": "nvidia", "model": "h800", "count": 16 },
///   "computeUnits": 400, "memoryMiB": 524288, "mode": "gang",
///   "constraints": { "residency": ["cn-north"], "certifications": ["finance-grade"], "architectures": ["x86_64"],
///                    "maxPricePerUnitHour": 4.0, "maxLatencyMilliseconds": 50 },
///   "weights": { "price": 500, "latency": 300, "green": 200 },
///   "leaseSeconds": 3600, "deadlineSeconds": 10 }
/// ```
///
/// Only `tenant`, `sector` and `computeUnits` are required. The RequestID is generated; the
/// origin is the node the request is sent to.
struct PlacementRequestFile: Codable, Sendable, Equatable {
    var tenant: String
    var sector: String
    var idempotencyKey: String?
    var accelerator: Accelerator?
    var computeUnits: UInt64
    var memoryMiB: UInt64?
    /// "gang" (default: all in one pool) or "spread".
    var mode: String?
    /// For spread: the most pools to use.
    var maxPools: UInt16?
    var constraints: ConstraintsFile?
    var weights: WeightsFile?
    var leaseSeconds: UInt64?
    var deadlineSeconds: UInt64?

    struct Accelerator: Codable, Sendable, Equatable {
        var kind: String
        var vendor: String?
        var model: String?
        var count: UInt32
    }

    struct ConstraintsFile: Codable, Sendable, Equatable {
        var residency: [String]?
        var certifications: [String]?
        var architectures: [String]?
        /// RMB per compute unit per hour.
        var maxPricePerUnitHour: Double?
        var maxLatencyMilliseconds: UInt64?
    }

    struct WeightsFile: Codable, Sendable, Equatable {
        var price: UInt16?
        var latency: UInt16?
        var green: UInt16?
    }

    /// The fields a request file may have, and their types.
    static let shape = JSONShape.object([
        ("tenant", .string), ("sector", .string), ("idempotencyKey", .string),
        (
            "accelerator",
            .object([("kind", .string), ("vendor", .string), ("model", .string), ("count", .whole(max: UInt64(UInt32.max)))])
        ),
        ("computeUnits", .whole(max: UInt64.max)), ("memoryMiB", .whole(max: UInt64.max)), ("mode", .string),
        ("maxPools", .whole(max: UInt64(UInt16.max))),
        (
            "constraints",
            .object([
                ("residency", .array(.string)), ("certifications", .array(.string)), ("architectures", .array(.string)),
                ("maxPricePerUnitHour", .number), ("maxLatencyMilliseconds", .whole(max: UInt64.max)),
            ])
        ),
        (
            "weights",
            .object([
                ("price", .whole(max: UInt64(UInt16.max))), ("latency", .whole(max: UInt64(UInt16.max))),
                ("green", .whole(max: UInt64(UInt16.max))),
            ])
        ),
        ("leaseSeconds", .whole(max: UInt64.max)), ("deadlineSeconds", .whole(max: UInt64.max)),
    ])

    /// The longest lease a console may ask for (a year).
    static let maxLeaseSeconds: UInt64 = 366 * 24 * 3600
    /// The longest deadline a console may set.
    static let maxDeadlineSeconds: UInt64 = 300

    /// Reads a request file; every error names the file and the field.
    static func load(_ path: String) throws -> PlacementRequestFile {
        let data = try readJSONFile(path, what: "placement request")
        try checkShape(data, PlacementRequestFile.shape, path: path)
        do { return try JSONDecoder().decode(PlacementRequestFile.self, from: data) } catch {
            throw ConsoleError("\(path) is not a valid placement request: \(explainDecoding(error))")
        }
    }

    /// The wire request, every field checked; errors name the field.
    func request(requestID: RequestID, origin: NodeID, now: MeshInstant) throws -> PlacementRequest {
        func field<T>(_ name: String, _ body: () throws(VocabularyError) -> T) throws -> T {
            do { return try body() } catch { throw ConsoleError("field '\(name)': \(error.description)") }
        }
        let tenant = try field("tenant") { () throws(VocabularyError) in try TenantID(self.tenant) }
        let sector = try field("sector") { () throws(VocabularyError) in try Sector(self.sector) }
        if !sector.isKnown {
            throw ConsoleError(
                "field 'sector': '\(self.sector)' is not a known sector; use one of \(Sector.known.map(\.name).joined(separator: ", "))"
            )
        }
        let key = idempotencyKey ?? "meshctl-\(requestID)"
        if key.isEmpty || key.utf8.count > PlacementRequest.maxIdempotencyKeyBytes {
            throw ConsoleError(
                "field 'idempotencyKey': must be 1 to \(PlacementRequest.maxIdempotencyKeyBytes) bytes (leave it out to generate one)"
            )
        }
        var accelerator: AcceleratorClass?
        var acceleratorCount: UInt32 = 0
        if let a = self.accelerator {
            let kinds: [AcceleratorKind] = [.gpu, .npu, .fpga, .asic]
            guard let kind = kinds.first(where: { $0.description == a.kind }) else {
                throw ConsoleError("field 'accelerator.kind': '\(a.kind)' is not one of gpu, npu, fpga, asic")
            }
            accelerator = try field("accelerator") { () throws(VocabularyError) in
                try AcceleratorClass(kind: kind, vendor: a.vendor, model: a.model)
            }
            guard a.count > 0 else {
                throw ConsoleError("field 'accelerator.count': ask for at least 1 device, or leave out 'accelerator'")
            }
            acceleratorCount = a.count
        }
        guard computeUnits > 0 else { throw ConsoleError("field 'computeUnits': ask for at least 1 compute unit") }
        let mode: PlacementMode
        switch self.mode ?? "gang" {
        case "gang": mode = .gang
        case "spread": mode = .spread
        case let other: throw ConsoleError("field 'mode': '\(other)' is not gang or spread")
        }
        let maxPools = maxPools ?? 1
        if mode == .gang && maxPools != 1 {
            throw ConsoleError("field 'maxPools': a gang demand uses exactly 1 pool; use \"mode\": \"spread\" for more")
        }
        if maxPools == 0 || Int(maxPools) > 64 { throw ConsoleError("field 'maxPools': \(maxPools) is not from 1 to 64") }
        let demand = Demand(
            accelerator: accelerator, acceleratorCount: acceleratorCount, computeUnits: computeUnits, memoryMiB: memoryMiB ?? 0,
            mode: mode, maxPools: maxPools)

        var constraints = Constraints()
        if let c = self.constraints {
            for r in c.residency ?? [] {
                constraints.residency.append(try field("constraints.residency") { () throws(VocabularyError) in try Region(r) })
            }
            for name in c.certifications ?? [] {
                constraints.certifications.append(
                    try field("constraints.certifications") { () throws(VocabularyError) in try Certification(name) })
            }
            for name in c.architectures ?? [] {
                constraints.architectures.append(
                    try field("constraints.architectures") { () throws(VocabularyError) in try CPUArchitecture(name: name) })
            }
            if let price = c.maxPricePerUnitHour {
                guard price.isFinite, price >= 0, price <= 1_000_000 else {
                    throw ConsoleError("field 'constraints.maxPricePerUnitHour': \(price) is not a price from 0 to 1,000,000 RMB")
                }
                constraints.maxPricePerUnitHour = Price(microYuan: UInt64((price * 1_000_000).rounded()))
            }
            if let latency = c.maxLatencyMilliseconds {
                guard latency > 0, latency <= 60_000 else {
                    throw ConsoleError("field 'constraints.maxLatencyMilliseconds': \(latency) is not from 1 to 60000")
                }
                constraints.maxLatency = .milliseconds(latency)
            }
            if constraints.residency.count > Constraints.maxResidencyRegions {
                throw ConsoleError("field 'constraints.residency': at most \(Constraints.maxResidencyRegions) regions")
            }
            if constraints.certifications.count > PoolDescriptor.maxCertifications {
                throw ConsoleError(
                    "field 'constraints.certifications': at most \(PoolDescriptor.maxCertifications) certifications")
            }
            if constraints.architectures.count > Constraints.maxArchitectures {
                throw ConsoleError("field 'constraints.architectures': at most \(Constraints.maxArchitectures) architectures")
            }
            constraints.certifications = Array(Set(constraints.certifications)).sorted()
        }
        var weights = Weights()
        if let w = self.weights {
            for (name, value) in [("price", w.price), ("latency", w.latency), ("green", w.green)] {
                if let value, value > 1000 {
                    throw ConsoleError("field 'weights.\(name)': \(value) is above 1000 (weights are permille)")
                }
            }
            weights = Weights(price: w.price ?? 0, latency: w.latency ?? 0, green: w.green ?? 0)
            if weights.price == 0 && weights.latency == 0 && weights.green == 0 {
                throw ConsoleError("field 'weights': at least one weight must be above 0")
            }
        }
        let lease = leaseSeconds ?? 3600
        guard lease > 0, lease <= Self.maxLeaseSeconds else {
            throw ConsoleError("field 'leaseSeconds': \(lease) is not from 1 to \(Self.maxLeaseSeconds)")
        }
        let deadline = deadlineSeconds ?? 10
        guard deadline > 0, deadline <= Self.maxDeadlineSeconds else {
            throw ConsoleError("field 'deadlineSeconds': \(deadline) is not from 1 to \(Self.maxDeadlineSeconds)")
        }
        let request = PlacementRequest(
            requestID: requestID, tenant: tenant, sector: sector, idempotencyKey: key, demand: demand,
            constraints: constraints, weights: weights, leaseDuration: .seconds(lease), deadline: now + .seconds(deadline),
            origin: origin)
        do { try request.validate() } catch { throw ConsoleError("\(error.description)") }
        return request
    }
}

/// A fresh, non-zero request ID from the system's generator (meshctl is a shell, not a core).
func freshRequestID() -> RequestID {
    while true {
        let value = UInt128(UInt64.random(in: .min ... .max)) << 64 | UInt128(UInt64.random(in: .min ... .max))
        if value != 0 { return RequestID(value: value) }
    }
}

/// Reads a file that should hold one JSON object.
func readJSONFile(_ path: String, what: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ConsoleError("cannot read the \(what) file \(path): check the path and its permissions")
    }
    return data
}

/// Refuses what Foundation's decoder would forgive: unknown (misspelt) fields, numbers out of
/// range, syntax errors without a line and column.
func checkShape(_ data: Data, _ shape: JSONShape, path: String) throws {
    do { try StrictJSON.check(data, shape: shape, file: path) } catch { throw ConsoleError(error.description) }
}

/// Names the field of a decoding error.
func explainDecoding(_ error: any Error) -> String {
    func at(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text
    }
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "the field '\(at(context.codingPath + [key]))' is missing"
    case DecodingError.typeMismatch(let type, let context):
        return "the field '\(at(context.codingPath))' has the wrong type (expected \(type))"
    case DecodingError.valueNotFound(_, let context):
        return "the field '\(at(context.codingPath))' is null"
    case DecodingError.dataCorrupted(let context):
        let path = at(context.codingPath)
        return path.isEmpty ? "not JSON: \(context.debugDescription)" : "the field '\(path)': \(context.debugDescription)"
    default:
        return "\(error)"
    }
}

/// Reads a pool file (the `pools` entries of a node configuration) and checks every field.
func loadPoolFile(_ path: String) throws -> PoolConfiguration {
    let data = try readJSONFile(path, what: "pool")
    try checkShape(data, PoolConfiguration.shape, path: path)
    do { return try JSONDecoder().decode(PoolConfiguration.self, from: data) } catch {
        throw ConsoleError("\(path) is not a valid pool: \(explainDecoding(error))")
    }
}

/// The descriptor a node registers for `pool`: its ComputeID is issued under `node`'s namespace.
func poolDescriptor(_ pool: PoolConfiguration, node: NodeID, region: Region, path: String) throws -> PoolDescriptor {
    let descriptor: PoolDescriptor
    do {
        let spec = try pool.spec(defaultResidency: region)
        let id: ComputeID
        do { id = try ComputeID(owner: node, path: spec.path) } catch {
            throw ConsoleError("\(path): field 'name': \(error.description)")
        }
        descriptor = spec.descriptor(id: id)
    } catch let error as ConfigurationError {
        throw ConsoleError("\(path): \(error.description)")
    }
    do { try descriptor.validate() } catch { throw ConsoleError("\(path): \(error.description)") }
    return descriptor
}

// MARK: - Commands

/// `meshctl console`: one-shot commands against a running node.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "inspect and drive a running node over its console",
        discussion: """
            DIR holds node.key, node.pem and root.pem from `meshctl cert issue --role operator`.

            exit status: 0 done; 1 the node refused the request (or the placement was refused); 2 bad \
            usage, a bad file, or no connection. Waits: connect 5 s, answers 10 s, place until the \
            request's deadline + 5 s. Examples: deploy/examples/pool.json, deploy/examples/request.json.
            """,
        subcommands: [
            ConsoleStatus.self, ConsoleMembers.self, ConsoleInventory.self, ConsolePlacements.self, ConsoleWhy.self,
            ConsoleRegister.self, ConsolePlace.self, ConsoleWatch.self,
        ])
}

/// How every console command reaches its node, and how it prints.
struct ConsoleConnection: ParsableArguments {
    @Option(help: "the node's address", valueName: "HOST:PORT", environment: "MESH_NODE") var node: String
    @Option(
        help: "an operator certificate directory (from cert issue --role operator)", valueName: "DIR",
        environment: "MESH_CREDENTIALS")
    var credentials: String?
    @Flag(help: "no TLS: only for a loopback node configured with \"plaintext\": true") var plaintext = false
    @Flag(help: "JSON for scripts: string enums, RFC 3339 times, decimal prices (README: Console JSON)") var json = false
    @Flag(help: "tables with every column, in full (default: fit 80 columns)") var wide = false

    func validate() throws {
        if json && wide { throw ValidationError("--wide shapes tables; --json prints no table: give one") }
        switch (credentials, plaintext) {
        case (_?, true): throw ValidationError("use either --credentials DIR or --plaintext, not both")
        case (nil, false):
            throw ValidationError(
                "--credentials DIR is required (an operator certificate; or set MESH_CREDENTIALS), or --plaintext for a plaintext loopback node"
            )
        default: return
        }
    }

    /// The width tables fit: none with `--wide`.
    var width: Int? { wide ? nil : ConsoleText.defaultWidth }

    /// Fetches one answer and prints it: as JSON with `--json` (`json` shapes it), else as `text`
    /// renders it at ``width``.
    func show<Answer: Sendable>(
        _ fetch: @escaping @Sendable (ConsoleClient) async throws -> Answer,
        json shape: @escaping @Sendable (Answer) -> any Encodable,
        text: @escaping @Sendable (Answer, Int?) -> String
    ) throws -> Int32 {
        let (json, width) = (self.json, self.width)
        return try run { client in
            let answer = try await fetch(client)
            print(json ? try ConsoleJSON.encode(shape(answer)) : text(answer, width))
            return 0
        }
    }

    /// Connects, runs `body` against the node and closes; the exit status is `body`'s.
    func run(_ body: @escaping @Sendable (ConsoleClient) async throws -> Int32) throws -> Int32 {
        let credentials: ConsoleCredentials = self.credentials.map { .directory($0) } ?? .plaintext
        let node = self.node
        return try runBlocking {
            let client = try await ConsoleClient.connect(to: node, credentials: credentials)
            defer { client.close() }
            return try await body(client)
        }
    }
}

struct ConsoleStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "the node's identity, uptime, members and ledger counts")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.status() }, json: { StatusJSON($0) }, text: ConsoleText.status)
    }
}

struct ConsoleMembers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "the node's membership list")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.members() }, json: { MembersJSON($0) }, text: ConsoleText.members)
    }
}

struct ConsoleInventory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory", abstract: "pools in view (the node's region in full) and other regions' summaries")
    @OptionGroup var connection: ConsoleConnection
    @Option(help: "only this region", valueName: "REGION", transform: { try Region($0) }) var region: Region?
    func run() throws -> Int32 {
        let region = region
        return try connection.show(
            { try await $0.inventory(region: region) }, json: { InventoryJSON($0) }, text: ConsoleText.inventory)
    }
}

struct ConsolePlacements: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "placements", abstract: "the leases the node owns")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.placements() }, json: { PlacementsJSON($0) }, text: ConsoleText.placements)
    }
}

struct ConsoleWhy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why", abstract: "why a request ended as it did (and why not a given pool)")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the request's ID, as place printed it", valueName: "REQUEST_ID", transform: { try RequestID(hex: $0) })
    var requestID: RequestID
    @Option(
        help: "why not this pool: as the tables print it (north-1/a100, 3f2a9c1d4e5f/a100, a100) or its compute ID",
        valueName: "POOL")
    var pool: String?
    func run() throws -> Int32 {
        let (requestID, reference) = (requestID, pool.map(PoolReference.init))
        return try connection.show(
            { client in
                let why = try await client.why(requestID, pool: nil)
                guard let reference else { return why }
                // The reference is resolved among this request's candidates, named as the tables
                // name them; the node then explains that one.
                let pool: ComputeID
                do {
                    pool = try reference.resolve(
                        among: why.explanation.verdicts.map(\.pool), names: NodeDirectory(why.names))
                } catch let error as PoolReferenceError {
                    throw ConsoleError("--pool \(error.description)")
                }
                return try await client.why(requestID, pool: pool)
            }, json: { WhyJSON($0) }, text: ConsoleText.why)
    }
}

struct ConsoleRegister: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register", abstract: "register a pool (a PoolConfiguration file) on the node, durably")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the pool, as in a node's configuration (deploy/examples/pool.json)", valueName: "POOL.json")
    var file: String
    func run() throws -> Int32 {
        // The file is checked before connecting: a bad file is reported without a node.
        let (json, path) = (connection.json, file)
        let pool = try loadPoolFile(path)
        _ = try poolDescriptor(pool, node: placeholderNode, region: try Region("local"), path: path)
        return try connection.run { client in
            let status = try await client.status()
            let descriptor = try poolDescriptor(pool, node: status.nodeID, region: status.region, path: path)
            let registered = try await client.register(descriptor)
            let names = status.directory
            print(
                json
                    ? try ConsoleJSON.encode(RegisteredJSON(registered, names: names))
                    : ConsoleText.registered(registered, names: names))
            return 0
        }
    }
}

struct ConsolePlace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place", abstract: "place a request entering at the node and print its outcome (exit 1 if refused)")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the request (deploy/examples/request.json)", valueName: "REQUEST.json") var file: String
    func run() throws -> Int32 {
        let (json, width, path) = (connection.json, connection.width, file)
        let requestFile = try PlacementRequestFile.load(path)
        do {
            _ = try requestFile.request(requestID: RequestID(value: 1), origin: placeholderNode, now: wallClockNow())
        } catch let error as ConsoleError {
            throw ConsoleError("\(path): \(error.description)")
        }
        return try connection.run { client in
            let status = try await client.status()
            let request = try requestFile.request(requestID: freshRequestID(), origin: status.nodeID, now: wallClockNow())
            if !json { print("placing request \(request.requestID): \(TextFormat.demand(request.demand))") }
            let outcome = try await client.place(request)
            // The entry node keeps the explanation, with the names of every node it mentions.
            var names = status.directory
            if let why = try? await client.why(outcome.requestID, pool: nil) { names.merge(why.names) }
            print(
                json
                    ? try ConsoleJSON.encode(OutcomeJSON(outcome, names: names))
                    : ConsoleText.outcome(outcome, names: names, width: width))
            if case .refused = outcome.result { return 1 }
            return 0
        }
    }
}

struct ConsoleWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "print the node's events as they happen, until Ctrl-C or SIGTERM (exit 0)")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        let (json, node) = (connection.json, connection.node)
        return try connection.run { client in
            let mask = EventKind.allCases.reduce(UInt32(0)) { $0 | $1.mask }
            let stream = client.subscribe(kinds: mask)
            installInterruptExit()
            if !json { print("watching \(node) (Ctrl-C to stop)") }
            fflush(nil)
            for await event in stream {
                print(json ? try ConsoleJSON.encode(EventJSON(event), compact: true) : ConsoleText.event(event))
                fflush(nil)
            }
            let reason = client.router.state.withLock { $0.closedReason } ?? "closed"
            throw ConsoleError("the node ended the event stream: \(reason)")
        }
    }
}

/// Stands in for the node's ID while a file is checked before connecting.
let placeholderNode = NodeID(w0: 0, w1: 0, w2: 0, w3: 1)

/// Ctrl-C or SIGTERM ends `watch` with status 0, after every event printed so far has been
/// written out (each is also flushed as it is printed, for output redirected to a file or pipe).
func installInterruptExit() {
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            fflush(nil)
            exit(0)
        }
        source.resume()
        interruptSources.append(source)
    }
}

/// Keeps signal sources alive for the life of the process (touched from the main task only).
nonisolated(unsafe) var interruptSources: [any DispatchSourceSignal] = []
