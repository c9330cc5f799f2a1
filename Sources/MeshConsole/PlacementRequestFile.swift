public import Foundation
public import MeshCore
public import MeshRuntime
public import MeshWire

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
public struct PlacementRequestFile: Codable, Sendable, Equatable {
    public var tenant: String
    public var sector: String
    public var idempotencyKey: String?
    public var accelerator: Accelerator?
    public var computeUnits: UInt64
    public var memoryMiB: UInt64?
    /// "gang" (default: all in one pool) or "spread".
    public var mode: String?
    /// For spread: the most pools to use.
    public var maxPools: UInt16?
    public var constraints: ConstraintsFile?
    public var weights: WeightsFile?
    public var leaseSeconds: UInt64?
    public var deadlineSeconds: UInt64?

    public init(
        tenant: String, sector: String, idempotencyKey: String? = nil, accelerator: Accelerator? = nil, computeUnits: UInt64,
        memoryMiB: UInt64? = nil, mode: String? = nil, maxPools: UInt16? = nil, constraints: ConstraintsFile? = nil,
        weights: WeightsFile? = nil, leaseSeconds: UInt64? = nil, deadlineSeconds: UInt64? = nil
    ) {
        self.tenant = tenant
        self.sector = sector
        self.idempotencyKey = idempotencyKey
        self.accelerator = accelerator
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.mode = mode
        self.maxPools = maxPools
        self.constraints = constraints
        self.weights = weights
        self.leaseSeconds = leaseSeconds
        self.deadlineSeconds = deadlineSeconds
    }

    public struct Accelerator: Codable, Sendable, Equatable {
        public var kind: String
        public var vendor: String?
        public var model: String?
        public var count: UInt32

        public init(kind: String, vendor: String?, model: String?, count: UInt32) {
            self.kind = kind
            self.vendor = vendor
            self.model = model
            self.count = count
        }
    }

    public struct ConstraintsFile: Codable, Sendable, Equatable {
        public var residency: [String]?
        public var certifications: [String]?
        public var architectures: [String]?
        /// RMB per compute unit per hour.
        public var maxPricePerUnitHour: Double?
        public var maxLatencyMilliseconds: UInt64?

        public init(
            residency: [String]?, certifications: [String]?, architectures: [String]?, maxPricePerUnitHour: Double?,
            maxLatencyMilliseconds: UInt64?
        ) {
            self.residency = residency
            self.certifications = certifications
            self.architectures = architectures
            self.maxPricePerUnitHour = maxPricePerUnitHour
            self.maxLatencyMilliseconds = maxLatencyMilliseconds
        }
    }

    public struct WeightsFile: Codable, Sendable, Equatable {
        public var price: UInt16?
        public var latency: UInt16?
        public var green: UInt16?

        public init(price: UInt16?, latency: UInt16?, green: UInt16?) {
            self.price = price
            self.latency = latency
            self.green = green
        }
    }

    /// The fields a request file may have, and their types.
    public static let shape = JSONShape.object([
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
    public static let maxLeaseSeconds: UInt64 = 366 * 24 * 3600
    /// The longest deadline a console may set.
    public static let maxDeadlineSeconds: UInt64 = 300

    /// Reads a request file; every error names the file and the field.
    public static func load(_ path: String) throws -> PlacementRequestFile {
        let data = try readJSONFile(path, what: "placement request")
        try checkShape(data, PlacementRequestFile.shape, path: path)
        do { return try JSONDecoder().decode(PlacementRequestFile.self, from: data) } catch {
            throw ConsoleError("\(path) is not a valid placement request: \(explainDecoding(error))")
        }
    }

    /// The wire request, every field checked; errors name the field.
    public func request(requestID: RequestID, origin: NodeID, now: MeshInstant) throws -> PlacementRequest {
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
public func freshRequestID() -> RequestID {
    while true {
        let value = UInt128(UInt64.random(in: .min ... .max)) << 64 | UInt128(UInt64.random(in: .min ... .max))
        if value != 0 { return RequestID(value: value) }
    }
}

/// Reads a file that should hold one JSON object.
public func readJSONFile(_ path: String, what: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ConsoleError("cannot read the \(what) file \(path): check the path and its permissions")
    }
    return data
}

/// Refuses what Foundation's decoder would forgive: unknown (misspelt) fields, numbers out of
/// range, syntax errors without a line and column.
public func checkShape(_ data: Data, _ shape: JSONShape, path: String) throws {
    do { try StrictJSON.check(data, shape: shape, file: path) } catch { throw ConsoleError(error.description) }
}

/// Names the field of a decoding error.
public func explainDecoding(_ error: any Error) -> String {
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
