import Foundation
public import MeshCore
public import MeshPlacement
public import MeshTransport

/// A configuration file could not be used: names the file, the field and what to do.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A node's configuration file (JSON). Paths are relative to the file's directory.
///
/// ```json
/// {
///   "name": "north-1", "role": "regional", "region": "cn-north", "sectors": [],
///   "listen": "127.0.0.1:7401", "seeds": ["127.0.0.1:7402"], "backbone": ["127.0.0.1:7501"],
///   "dataDirectory": "north-1",
///   "credentials": { "key": "north-1/node.key", "certificate": "north-1/node.pem",
///                    "root": "root.pem", "revocations": "revocations.frame" },
///   "plaintext": false,
///   "pools": [ { "name": "a100", "architecture": "x86_64", "computeUnits": 1000, ... } ]
/// }
/// ```
///
/// `seeds` are members of this node's region to join through; `backbone` (regional nodes only)
/// are regional nodes of other regions, for region summaries and spillover; an industry node
/// lists its region's regional nodes in `seeds` (it peers upward through them). `plaintext`
/// turns TLS off and is refused unless every address is loopback.
public struct NodeConfiguration: Codable, Sendable {
    public var name: String
    public var role: String
    public var region: String
    public var sectors: [String]?
    public var listen: String
    public var seeds: [String]?
    public var backbone: [String]?
    public var dataDirectory: String
    public var credentials: Credentials?
    public var plaintext: Bool?
    /// The seed of the node's random generator (default: drawn once from the system).
    public var randomSeed: UInt64?
    /// `host:port` on loopback where `GET /metrics` answers in the Prometheus text format.
    public var metrics: String?
    /// trace, debug, info (default), warning or error; `meshd --log-level` overrides it.
    public var logLevel: String?
    /// text (logfmt, default) or json; `meshd --log-format` overrides it.
    public var logFormat: String?
    public var pools: [PoolConfiguration]?

    /// Where the node's key, certificate chain, the federation root and the revocation list are.
    public struct Credentials: Codable, Sendable {
        public var key: String
        public var certificate: String
        public var root: String
        public var revocations: String?
        public init(key: String, certificate: String, root: String, revocations: String? = nil) {
            self.key = key
            self.certificate = certificate
            self.root = root
            self.revocations = revocations
        }
    }

    public init(
        name: String, role: String, region: String, sectors: [String]? = nil, listen: String, seeds: [String]? = nil,
        backbone: [String]? = nil, dataDirectory: String, credentials: Credentials? = nil, plaintext: Bool? = nil,
        randomSeed: UInt64? = nil, metrics: String? = nil, pools: [PoolConfiguration]? = nil
    ) {
        self.name = name
        self.role = role
        self.region = region
        self.sectors = sectors
        self.listen = listen
        self.seeds = seeds
        self.backbone = backbone
        self.dataDirectory = dataDirectory
        self.credentials = credentials
        self.plaintext = plaintext
        self.randomSeed = randomSeed
        self.metrics = metrics
        self.pools = pools
    }

    /// The fields a configuration file may have, and their types.
    public static let shape = JSONShape.object([
        ("name", .string), ("role", .string), ("region", .string), ("sectors", .array(.string)), ("listen", .string),
        ("seeds", .array(.string)), ("backbone", .array(.string)), ("dataDirectory", .string),
        (
            "credentials",
            .object([("key", .string), ("certificate", .string), ("root", .string), ("revocations", .string)])
        ),
        ("plaintext", .bool), ("randomSeed", .whole(max: UInt64.max)), ("metrics", .string), ("logLevel", .string),
        ("logFormat", .string),
        ("pools", .array(PoolConfiguration.shape)),
    ])

    /// Environment variables that override the file's fields (for containers and unit files),
    /// with the field each one sets. Lists are comma-separated.
    public static let environmentOverrides: [(variable: String, field: String)] = [
        ("MESH_NAME", "name"), ("MESH_LISTEN", "listen"), ("MESH_SEEDS", "seeds"), ("MESH_BACKBONE", "backbone"),
        ("MESH_DATA_DIRECTORY", "dataDirectory"), ("MESH_METRICS", "metrics"), ("MESH_RANDOM_SEED", "randomSeed"),
    ]

    /// Reads and checks a configuration file, then applies the `MESH_…` overrides found in
    /// `environment` (default: the process's); every error names the file (or the variable) and the field.
    public static func load(
        _ path: String, environment: [String: String]? = nil
    ) throws(ConfigurationError) -> (NodeConfiguration, ResolvedConfiguration) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the configuration file \(path): check the path and its permissions")
        }
        try StrictJSON.check(data, shape: shape, file: path)
        var config: NodeConfiguration
        do { config = try JSONDecoder().decode(NodeConfiguration.self, from: data) } catch {
            throw ConfigurationError("\(path) is not a valid node configuration: \(Self.explain(error))")
        }
        try config.override(from: environment ?? ProcessInfo.processInfo.environment)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do { return (config, try config.resolve(relativeTo: base)) } catch {
            throw ConfigurationError("\(path): \(error.description)")
        }
    }

    /// Applies the `MESH_…` variables of ``environmentOverrides`` present in `environment`.
    mutating func override(from environment: [String: String]) throws(ConfigurationError) {
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        for (variable, _) in Self.environmentOverrides {
            guard let value = environment[variable] else { continue }
            switch variable {
            case "MESH_NAME": name = value
            case "MESH_LISTEN": listen = value
            case "MESH_SEEDS": seeds = list(value)
            case "MESH_BACKBONE": backbone = list(value)
            case "MESH_DATA_DIRECTORY": dataDirectory = value
            case "MESH_METRICS": metrics = value.isEmpty ? nil : value
            case "MESH_RANDOM_SEED":
                guard let seed = UInt64(value) else {
                    throw ConfigurationError("environment variable MESH_RANDOM_SEED: '\(value)' is not a whole number")
                }
                randomSeed = seed
            default: preconditionFailure("\(variable) is listed in environmentOverrides but not applied")
            }
        }
    }

    static func explain(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            let at = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return "the field '\(at)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "the field '\(at)' has the wrong type: \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            return at.isEmpty ? "not JSON: \(context.debugDescription)" : "'\(at)': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    /// Checks every field and turns names into vocabulary.
    public func resolve(relativeTo base: String) throws(ConfigurationError) -> ResolvedConfiguration {
        func field<T>(_ name: String, _ body: () throws(VocabularyError) -> T) throws(ConfigurationError) -> T {
            do { return try body() } catch { throw ConfigurationError("field '\(name)': \(error)") }
        }
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : base + "/" + p }
        // One rule for names, here and on the wire: peers refuse a name that breaks it.
        let name = try field("name") { () throws(VocabularyError) in try NodeName(self.name) }
        let role = try field("role") { () throws(VocabularyError) in try Role(name: self.role) }
        if role == .operatorConsole {
            throw ConfigurationError("field 'role': a node is regional or industry; consoles are `meshctl console`")
        }
        let region = try field("region") { () throws(VocabularyError) in try Region(self.region) }
        var sectors: [Sector] = []
        for s in self.sectors ?? [] { sectors.append(try field("sectors") { () throws(VocabularyError) in try Sector(s) }) }
        if role == .industry && sectors.isEmpty {
            throw ConfigurationError("field 'sectors': an industry node serves at least one sector")
        }
        let listen = try field("listen") { () throws(VocabularyError) in try NetAddress(parsing: self.listen) }
        var seeds: [NetAddress] = []
        for s in self.seeds ?? [] {
            seeds.append(try field("seeds") { () throws(VocabularyError) in try NetAddress(parsing: s) })
        }
        var backbone: [NetAddress] = []
        for s in self.backbone ?? [] {
            backbone.append(try field("backbone") { () throws(VocabularyError) in try NetAddress(parsing: s) })
        }
        if role == .industry && seeds.isEmpty {
            throw ConfigurationError("field 'seeds': an industry node peers upward: list its region's regional nodes")
        }
        if seeds.count > 64 || backbone.count > 64 {
            throw ConfigurationError("fields 'seeds' and 'backbone' list at most 64 addresses each")
        }
        let metrics = try self.metrics.map { m throws(ConfigurationError) in
            try field("metrics") { () throws(VocabularyError) in try NetAddress(parsing: m) }
        }
        if let metrics, !["127.0.0.1", "::1", "localhost"].contains(metrics.host) {
            throw ConfigurationError("field 'metrics': \(metrics) is not loopback; the metrics endpoint has no authentication")
        }
        let plaintext = self.plaintext ?? false
        if plaintext && credentials != nil {
            throw ConfigurationError(
                "fields 'plaintext' and 'credentials' contradict each other: a node speaks TLS with its credentials or "
                    + "plaintext (loopback tests only); remove 'plaintext' to use TLS, or 'credentials' to run plaintext")
        }
        if plaintext {
            let loopback = ["127.0.0.1", "::1", "localhost"]
            for a in [listen] + seeds + backbone where !loopback.contains(a.host) {
                throw ConfigurationError(
                    "field 'plaintext': plaintext is allowed on loopback only, but \(a) is not loopback; remove 'plaintext'")
            }
        } else if credentials == nil {
            throw ConfigurationError("field 'credentials': TLS needs the node's key, certificate and the federation root")
        }
        let levels: [TransportLogger.Level] = [.trace, .debug, .info, .warning, .error]
        let logLevel = try self.logLevel.map { name throws(ConfigurationError) in
            guard let level = levels.first(where: { $0.description == name }) else {
                throw ConfigurationError("field 'logLevel': '\(name)' is not one of trace, debug, info, warning, error")
            }
            return level
        }
        let logFormat = try self.logFormat.map { name throws(ConfigurationError) in
            guard let format = LogFormat(rawValue: name) else {
                throw ConfigurationError("field 'logFormat': '\(name)' is not one of text, json")
            }
            return format
        }
        var specs: [PoolSpec] = []
        // The registry's own rules and limits, checked now so that a file is refused before a node
        // starts with it (the node ID only names the pools here).
        var registry = PoolRegistry(node: NodeID(w0: 0, w1: 0, w2: 0, w3: 1))
        for (i, p) in (pools ?? []).enumerated() {
            do throws(ConfigurationError) {
                let spec = try p.spec(defaultResidency: region)
                do { _ = try registry.register(spec) } catch { throw ConfigurationError(error.description) }
                specs.append(spec)
            } catch {
                throw ConfigurationError("pools[\(i)] ('\(p.name)'): \(error.description)")
            }
        }
        return ResolvedConfiguration(
            name: name, role: role, region: region, sectors: sectors.sorted(), listen: listen, seeds: seeds,
            backbone: backbone, dataDirectory: path(dataDirectory),
            keyPath: credentials.map { path($0.key) }, certificatePath: credentials.map { path($0.certificate) },
            rootPath: credentials.map { path($0.root) }, revocationsPath: credentials?.revocations.map { path($0) },
            plaintext: plaintext, randomSeed: randomSeed, metrics: metrics, logLevel: logLevel, logFormat: logFormat,
            pools: specs)
    }
}

/// A configuration with every field checked and every path absolute.
public struct ResolvedConfiguration: Sendable {
    /// The node's name: a label carried to peers and consoles (SPEC §5.1.7), not an identity.
    public var name: NodeName
    public var role: Role
    public var region: Region
    public var sectors: [Sector]
    public var listen: NetAddress
    public var seeds: [NetAddress]
    public var backbone: [NetAddress]
    public var dataDirectory: String
    public var keyPath: String?
    public var certificatePath: String?
    public var rootPath: String?
    public var revocationsPath: String?
    public var plaintext: Bool
    public var randomSeed: UInt64?
    public var metrics: NetAddress?
    public var logLevel: TransportLogger.Level?
    public var logFormat: LogFormat?
    public var pools: [PoolSpec]
}

/// A pool as written in a configuration file or a `meshctl console register` file.
///
/// ```json
/// { "name": "a100-east", "architecture": "x86_64",
///   "accelerators": [ { "kind": "gpu", "vendor": "nvidia", "model": "a100", "count": 64, "memoryMiB": 81920 } ],
///   "computeUnits": 4000, "memoryMiB": 2097152, "interconnect": "infiniband",
///   "pricePerUnitHour": 2.5, "residency": "cn-north", "certifications": ["finance-grade"],
///   "greenEnergyPercent": 60, "acceptsSectors": ["finance", "manufacturing"] }
/// ```
///
/// `name` becomes the last segment of the pool's ComputeID (under the owning node's namespace);
/// `residency` defaults to the node's region; no `acceptsSectors` / `acceptsTenants` accepts all.
public struct PoolConfiguration: Codable, Sendable, Equatable {
    /// The fields a pool may have, and their types.
    public static let shape = JSONShape.object([
        ("name", .string), ("architecture", .string),
        (
            "accelerators",
            .array(
                .object([
                    ("kind", .string), ("vendor", .string), ("model", .string), ("count", .whole(max: UInt64(UInt32.max))),
                    ("memoryMiB", .whole(max: UInt64(UInt32.max))),
                ]))
        ),
        ("computeUnits", .whole(max: UInt64.max)), ("memoryMiB", .whole(max: UInt64.max)), ("interconnect", .string),
        ("pricePerUnitHour", .number), ("residency", .string), ("certifications", .array(.string)),
        ("greenEnergyPercent", .number), ("acceptsSectors", .array(.string)), ("acceptsTenants", .array(.string)),
    ])

    public var name: String
    public var architecture: String
    public var accelerators: [Accelerator]?
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var interconnect: String?
    /// RMB per compute unit per hour.
    public var pricePerUnitHour: Double
    public var residency: String?
    public var certifications: [String]?
    public var greenEnergyPercent: Double?
    public var acceptsSectors: [String]?
    public var acceptsTenants: [String]?

    /// A group of identical accelerators.
    public struct Accelerator: Codable, Sendable, Equatable {
        public var kind: String
        public var vendor: String
        public var model: String
        public var count: UInt32
        public var memoryMiB: UInt32
        public init(kind: String, vendor: String, model: String, count: UInt32, memoryMiB: UInt32) {
            self.kind = kind
            self.vendor = vendor
            self.model = model
            self.count = count
            self.memoryMiB = memoryMiB
        }
    }

    public init(
        name: String, architecture: String, accelerators: [Accelerator]? = nil, computeUnits: UInt64, memoryMiB: UInt64,
        interconnect: String? = nil, pricePerUnitHour: Double, residency: String? = nil, certifications: [String]? = nil,
        greenEnergyPercent: Double? = nil, acceptsSectors: [String]? = nil, acceptsTenants: [String]? = nil
    ) {
        self.name = name
        self.architecture = architecture
        self.accelerators = accelerators
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.interconnect = interconnect
        self.pricePerUnitHour = pricePerUnitHour
        self.residency = residency
        self.certifications = certifications
        self.greenEnergyPercent = greenEnergyPercent
        self.acceptsSectors = acceptsSectors
        self.acceptsTenants = acceptsTenants
    }

    /// The registry's form; every field checked, each error naming the field.
    public func spec(defaultResidency: Region) throws(ConfigurationError) -> PoolSpec {
        func field<T>(_ name: String, _ body: () throws(VocabularyError) -> T) throws(ConfigurationError) -> T {
            do { return try body() } catch { throw ConfigurationError("field '\(name)': \(error)") }
        }
        let architecture = try field("architecture") { () throws(VocabularyError) in try CPUArchitecture(name: self.architecture)
        }
        var groups: [AcceleratorGroup] = []
        for a in accelerators ?? [] {
            let kinds: [AcceleratorKind] = [.gpu, .npu, .fpga, .asic]
            guard let kind = kinds.first(where: { $0.description == a.kind }) else {
                throw ConfigurationError("field 'accelerators.kind': '\(a.kind)' is not one of gpu, npu, fpga, asic")
            }
            groups.append(
                try field("accelerators") { () throws(VocabularyError) in
                    try AcceleratorGroup(
                        kind: kind, vendor: a.vendor, model: a.model, count: a.count, memoryMiBPerDevice: a.memoryMiB)
                })
        }
        let interconnects: [Interconnect] = [.ethernet, .roce, .infiniband, .nvlink, .hccs]
        let interconnectName = interconnect ?? "ethernet"
        guard let interconnect = interconnects.first(where: { $0.description == interconnectName }) else {
            throw ConfigurationError(
                "field 'interconnect': '\(interconnectName)' is not one of ethernet, roce, infiniband, nvlink, hccs")
        }
        guard pricePerUnitHour.isFinite, pricePerUnitHour >= 0, pricePerUnitHour <= 1_000_000 else {
            throw ConfigurationError("field 'pricePerUnitHour': \(pricePerUnitHour) is not a price from 0 to 1,000,000 RMB")
        }
        let green = greenEnergyPercent ?? 0
        guard green.isFinite, green >= 0, green <= 100 else {
            throw ConfigurationError("field 'greenEnergyPercent': \(green) is not a percentage from 0 to 100")
        }
        guard computeUnits > 0 else { throw ConfigurationError("field 'computeUnits': a pool offers at least 1 compute unit") }
        let residency =
            try residency.map { r throws(ConfigurationError) in
                try field("residency") { () throws(VocabularyError) in try Region(r) }
            } ?? defaultResidency
        var certifications: [Certification] = []
        for c in self.certifications ?? [] {
            certifications.append(try field("certifications") { () throws(VocabularyError) in try Certification(c) })
        }
        var terms: [PolicyExpr] = []
        if let sectors = acceptsSectors {
            var list: [Sector] = []
            for s in sectors { list.append(try field("acceptsSectors") { () throws(VocabularyError) in try Sector(s) }) }
            terms.append(.sectorIn(list.sorted()))
        }
        if let tenants = acceptsTenants {
            var list: [TenantID] = []
            for t in tenants { list.append(try field("acceptsTenants") { () throws(VocabularyError) in try TenantID(t) }) }
            terms.append(.tenantIn(list.sorted()))
        }
        let policy: PolicyExpr = terms.isEmpty ? .acceptAll : terms.count == 1 ? terms[0] : .all(terms)
        return PoolSpec(
            path: [name], architecture: architecture, accelerators: groups, computeUnits: computeUnits, memoryMiB: memoryMiB,
            interconnect: interconnect, pricePerUnitHour: Price(microYuan: UInt64((pricePerUnitHour * 1_000_000).rounded())),
            residency: residency, certifications: certifications.sorted(),
            greenEnergyPermille: UInt16((green * 10).rounded()), policy: policy, services: [], displayName: name)
    }
}
