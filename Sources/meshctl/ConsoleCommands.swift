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

    func inventory(region: Region?) async throws -> (pools: [PoolRow], summaries: [RegionSummary]) {
        var pools: [PoolRow] = []
        var summaries: [RegionSummary] = []
        var after: ComputeID?
        for _ in 0..<64 {
            guard case .inventory(let page) = try await request(.inventoryRequest(InventoryRequest(region: region, after: after)))
            else { throw unexpected("INVENTORY") }
            pools += page.pools
            if summaries.isEmpty { summaries = page.summaries }
            guard page.more, let last = page.pools.last else { break }
            after = last.descriptor.body.computeID
        }
        return (pools, summaries)
    }

    func placements() async throws -> [Lease] {
        guard case .placements(let p) = try await request(.placementsRequest(PlacementsRequest())) else {
            throw unexpected("PLACEMENTS")
        }
        return p.leases
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

// MARK: - Formatting

/// Names nodes for people: a demo knows their configured names; otherwise the short NodeID.
struct NodeNames: Sendable {
    var names: [NodeID: String] = [:]
    func callAll(_ id: NodeID) -> String { names[id] ?? id.short }
    func pool(_ id: ComputeID) -> String { "\(callAll(id.owner))/\(id.localName)" }
}

/// A plain text table: left-aligned columns separated by two spaces.
func table(_ header: [String], _ rows: [[String]], indent: String = "  ") -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        let padded = cells.enumerated().map { i, c in
            i == cells.count - 1 ? c : c + String(repeating: " ", count: max(0, widths[i] - c.count))
        }
        return indent + padded.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

func formatDuration(_ d: MeshDuration) -> String {
    let ms = d.milliseconds
    if ms < 1000 { return "\(ms) ms" }
    if ms < 60_000 { return String(format: "%.1f s", Double(ms) / 1000) }
    if ms < 3_600_000 { return "\(ms / 60_000) min \(ms % 60_000 / 1000) s" }
    if ms < 86_400_000 { return "\(ms / 3_600_000) h \(ms % 3_600_000 / 60_000) min" }
    return "\(ms / 86_400_000) d \(ms % 86_400_000 / 3_600_000) h"
}

func formatInstant(_ t: MeshInstant) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return formatter.string(from: Date(timeIntervalSince1970: Double(t.milliseconds) / 1000)) + " UTC"
}

func formatPrice(_ p: Price) -> String { String(format: "¥%.2f", Double(p.microYuan) / 1_000_000) }

func formatMemory(_ mib: UInt64) -> String {
    mib >= 1024 * 1024 ? String(format: "%.1f TiB", Double(mib) / 1_048_576) : mib >= 1024 ? "\(mib / 1024) GiB" : "\(mib) MiB"
}

func formatPolicy(_ p: PolicyExpr) -> String {
    switch p {
    case .acceptAll: return "any"
    case .refuseAll: return "none (drained)"
    case .sectorIn(let s): return "sectors " + s.map(\.name).joined(separator: ",")
    case .tenantIn(let t): return "tenants " + t.map(\.name).joined(separator: ",")
    case .regionIn(let r): return "regions " + r.map(\.code).joined(separator: ",")
    case .not(let inner): return "not (\(formatPolicy(inner)))"
    case .all(let terms): return terms.map(formatPolicy).joined(separator: " and ")
    case .any(let terms): return terms.map(formatPolicy).joined(separator: " or ")
    }
}

func formatScore(_ ppm: UInt32) -> String { String(format: "%.3f", Double(ppm) / 1_000_000) }

func filterReasonName(_ r: FilterReason) -> String {
    switch r {
    case .stale: "stale inventory"
    case .residency: "residency"
    case .certification: "certification"
    case .architecture: "architecture"
    case .price: "price"
    case .latency: "latency"
    case .capacity: "capacity"
    case .policy: "pool policy"
    case .acceleratorClass: "accelerator class"
    case .ownerRefused: "owner refused"
    case .unreachable: "owner unreachable"
    }
}

func describeDemand(_ d: Demand) -> String {
    var parts: [String] = []
    if let a = d.accelerator { parts.append("\(d.acceleratorCount) × \(a)") }
    parts.append("\(d.computeUnits) compute units")
    if d.memoryMiB > 0 { parts.append(formatMemory(d.memoryMiB)) }
    parts.append(d.mode == .gang ? "in one pool" : "over up to \(d.maxPools) pools")
    return parts.joined(separator: ", ")
}

func formatStatus(_ s: Status, names: NodeNames) -> String {
    """
      node       \(names.callAll(s.nodeID)) (\(s.nodeID.hex))
      role       \(s.role) node in \(s.region), \(s.software), incarnation \(s.incarnation)
      up         \(formatDuration(s.uptime)) (node clock \(formatInstant(s.now)))
      members    \(s.aliveMembers) alive, \(s.suspectMembers) suspect, \(s.deadMembers) dead
      ledger     \(s.pools) pools, \(s.activeHolds) holds, \(s.activeLeases) leases
    """
}

func formatMembers(_ rows: [MemberRow], names: NodeNames) -> String {
    table(
        ["node", "role", "region", "address", "status", "incarnation", "since change"],
        rows.map { r in
            let u = r.update
            return [
                names.callAll(u.node), u.role.description, u.region.code, u.address.description, u.status.description,
                String(u.incarnation), formatDuration(r.sinceChange),
            ]
        })
}

func formatInventory(pools: [PoolRow], summaries: [RegionSummary], names: NodeNames) -> String {
    var out: [String] = []
    var rows: [[String]] = []
    for row in pools {
        guard case .descriptor(let d) = row.descriptor.body else { continue }
        var free: PoolAvailability?
        if case .availability(let a)? = row.availability?.body { free = a }
        let accelerators =
            d.accelerators.enumerated().map { i, g in
                let freeCount = free.flatMap { i < $0.freeAccelerators.count ? $0.freeAccelerators[i] : nil }
                return "\(freeCount.map { "\($0)/" } ?? "")\(g.count) \(g.kind) \(g.vendor)/\(g.model)"
            }.joined(separator: "; ")
        rows.append([
            names.pool(d.id), d.residency.code, accelerators.isEmpty ? "cpu only (\(d.architecture))" : accelerators,
            "\(free.map { "\($0.freeComputeUnits)/" } ?? "")\(d.computeUnits)",
            formatPrice(free?.pricePerUnitHour ?? d.pricePerUnitHour),
            "\(d.greenEnergyPermille / 10)%", d.certifications.map(\.name).joined(separator: ",").ifEmpty("-"),
            formatPolicy(d.policy).replacingOccurrences(of: "sectors ", with: ""),
        ])
    }
    if rows.isEmpty {
        out.append("  (no pools in view)")
    } else {
        out.append(
            table(
                ["pool", "residency", "accelerators free/total", "units", "¥/unit·h", "green", "certified", "accepts"], rows))
    }
    if !summaries.isEmpty {
        out.append("  region summaries:")
        out.append(
            table(
                ["region", "nodes", "pools", "units free/total", "accelerators (free/total)", "from", "green", "certifications"],
                summaries.map { s in
                    [
                        s.region.code, String(s.nodeCount), String(s.poolCount), "\(s.freeComputeUnits)/\(s.totalComputeUnits)",
                        s.accelerators.map { "\($0.free)/\($0.total) \($0.kind) \($0.vendor)/\($0.model)" }.joined(
                            separator: "; "
                        )
                        .ifEmpty("-"),
                        formatPrice(s.minPricePerUnitHour), "\(s.greenEnergyPermille / 10)%",
                        s.certifications.map(\.name).joined(separator: ",").ifEmpty("-"),
                    ]
                }, indent: "    "))
    }
    return out.joined(separator: "\n")
}

func formatLeases(_ leases: [Lease], names: NodeNames) -> String {
    if leases.isEmpty { return "  (no leases)" }
    return table(
        ["lease", "pool", "tenant", "units", "accelerators", "memory", "price/unit·h", "expires"],
        leases.map { l in
            [
                String(l.leaseID.description.prefix(12)), names.pool(l.pool), l.tenant.name, String(l.computeUnits),
                String(l.acceleratorCount), formatMemory(l.memoryMiB), formatPrice(l.pricePerUnitHour),
                formatInstant(l.expiresAt),
            ]
        })
}

func formatExplanation(_ e: Explanation, focus: CandidateVerdict? = nil, names: NodeNames) -> String {
    var out: [String] = []
    out.append(
        "  decided by \(names.callAll(e.decidedBy)) at \(formatInstant(e.decidedAt)); path \(e.path.map(names.callAll).joined(separator: " → ").ifEmpty("-"))"
    )
    out.append(
        "  considered \(e.consideredCount) pool(s): \(e.scoredCount) scored, \(e.filteredCount) filtered; chosen: \(e.chosen.map(names.pool) ?? "none")"
    )
    let verdicts = e.verdicts.sorted { a, b in
        func rank(_ v: CandidateVerdict) -> (Int, UInt32) {
            if v.pool == e.chosen { return (0, 0) }
            if case .scored(let s) = v.outcome { return (1, UInt32.max - s.total) }
            return (2, 0)
        }
        return rank(a) < rank(b) || (rank(a) == rank(b) && a.pool < b.pool)
    }
    if !verdicts.isEmpty {
        out.append(
            table(
                ["pool", "verdict", "inventory (epoch.seq, age)"],
                verdicts.map { v in [names.pool(v.pool), describeVerdict(v, chosen: v.pool == e.chosen), inventoryVersion(v)] }))
    }
    if let focus {
        out.append("  why not \(names.pool(focus.pool))? \(describeVerdict(focus, chosen: focus.pool == e.chosen))")
    }
    return out.joined(separator: "\n")
}

func describeVerdict(_ v: CandidateVerdict, chosen: Bool) -> String {
    switch v.outcome {
    case .filtered(let reason, let detail):
        return "filtered: \(filterReasonName(reason))\(detail.isEmpty ? "" : " (\(detail))")"
    case .scored(let s):
        return
            "\(chosen ? "CHOSEN, " : "")score \(formatScore(s.total)) (price \(formatScore(s.price)), latency \(formatScore(s.latency)), green \(formatScore(s.green)))"
    }
}

func inventoryVersion(_ v: CandidateVerdict) -> String {
    "\(v.inventoryEpoch).\(v.inventorySequence), \(formatDuration(v.inventoryAge))"
}

func formatOutcome(_ o: Outcome, names: NodeNames) -> String {
    var out: [String] = []
    switch o.result {
    case .placed(let leases):
        out.append("PLACED request \(o.requestID) (key \(o.idempotencyKey)): \(leases.count) lease(s)")
        for l in leases {
            out.append("  lease \(l.leaseID) on \(names.pool(l.pool)) for tenant \(l.tenant):")
            out.append(
                "    \(l.computeUnits) units, \(l.acceleratorCount) accelerator(s), \(formatMemory(l.memoryMiB)) at "
                    + "\(formatPrice(l.pricePerUnitHour))/unit·h, until \(formatInstant(l.expiresAt))")
        }
    case .refused(let reason, let message):
        out.append("REFUSED request \(o.requestID) (key \(o.idempotencyKey)): \(reason): \(message)")
    }
    out.append(formatExplanation(o.explanation, names: names))
    return out.joined(separator: "\n")
}

func formatEvent(_ e: Event) -> String {
    "\(formatInstant(e.at))  #\(e.sequence)  \(e.kind)/\(e.severity)  \(e.subject)  \(e.detail)"
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

/// Prints a Codable value as JSON (for `--json`).
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
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
    @Flag(help: "JSON for scripts: string enums, RFC 3339 times, decimal prices") var json = false

    func validate() throws {
        switch (credentials, plaintext) {
        case (_?, true): throw ValidationError("use either --credentials DIR or --plaintext, not both")
        case (nil, false):
            throw ValidationError(
                "--credentials DIR is required (an operator certificate; or set MESH_CREDENTIALS), or --plaintext for a plaintext loopback node"
            )
        default: return
        }
    }

    /// Fetches one answer and prints it: as JSON with `--json`, else as `text` renders it.
    func show<Answer: Encodable & Sendable>(
        _ fetch: @escaping @Sendable (ConsoleClient) async throws -> Answer, text: @escaping @Sendable (Answer) -> String
    ) throws -> Int32 {
        let json = self.json
        return try run { client in
            let answer = try await fetch(client)
            if json { try printJSON(answer) } else { print(text(answer)) }
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
        try connection.show({ try await $0.status() }, text: { formatStatus($0, names: NodeNames()) })
    }
}

struct ConsoleMembers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "the node's membership list")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.members() }, text: { formatMembers($0, names: NodeNames()) })
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
            { client in
                let (pools, summaries) = try await client.inventory(region: region)
                return Inventory(pools: pools, summaries: summaries, more: false)
            },
            text: { formatInventory(pools: $0.pools, summaries: $0.summaries, names: NodeNames()) })
    }
}

struct ConsolePlacements: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "placements", abstract: "the leases the node owns")
    @OptionGroup var connection: ConsoleConnection
    func run() throws -> Int32 {
        try connection.show({ try await $0.placements() }, text: { formatLeases($0, names: NodeNames()) })
    }
}

struct ConsoleWhy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why", abstract: "why a request ended as it did (and why not a given pool)")
    @OptionGroup var connection: ConsoleConnection
    @Argument(help: "the request's ID, as place printed it", valueName: "REQUEST_ID", transform: { try RequestID(hex: $0) })
    var requestID: RequestID
    @Option(help: "why not this pool", valueName: "POOL", transform: { try ComputeID(parsing: $0) }) var pool: ComputeID?
    func run() throws -> Int32 {
        let (requestID, pool) = (requestID, pool)
        return try connection.show(
            { try await $0.why(requestID, pool: pool) },
            text: { formatExplanation($0.explanation, focus: $0.focus, names: NodeNames()) })
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
            if json {
                try printJSON(registered)
            } else {
                print("registered \(registered.id) (inventory record \(registered.epoch).\(registered.sequence)), stored durably")
            }
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
        let (json, path) = (connection.json, file)
        let requestFile = try PlacementRequestFile.load(path)
        do {
            _ = try requestFile.request(requestID: RequestID(value: 1), origin: placeholderNode, now: wallClockNow())
        } catch let error as ConsoleError {
            throw ConsoleError("\(path): \(error.description)")
        }
        return try connection.run { client in
            let status = try await client.status()
            let request = try requestFile.request(requestID: freshRequestID(), origin: status.nodeID, now: wallClockNow())
            if !json { print("placing request \(request.requestID): \(describeDemand(request.demand))") }
            let outcome = try await client.place(request)
            if json { try printJSON(outcome) } else { print(formatOutcome(outcome, names: NodeNames())) }
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
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(event), as: UTF8.self))
                } else {
                    print(formatEvent(event))
                }
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
