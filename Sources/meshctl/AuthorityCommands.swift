// meshctl authority init|admit|revoke and cert issue: the federation's PKI on the command line.
//
// Layout of an authority directory (created by `authority init`):
//   root.key          the root's Ed25519 private key (mode 0600)
//   root.pem          the self-signed root certificate
//   revocations.frame the current root-signed REVOCATION_LIST, as one wire frame
//   audit.log         one JSON line per admission decision and revocation, appended
// An operator directory (created by `authority admit`): operator.key, operator.pem, root.pem, and
// audit.log, one JSON line per node certificate `cert issue` signed with it.
// A node directory (created by `cert issue`): node.key, node.pem (node then operator), root.pem.
import Foundation
import MeshCommandLine
import MeshCore
import MeshCrypto
import MeshWire

// MARK: - Commands

struct AuthorityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority", abstract: "the federation's root: create it, admit operators, revoke nodes",
        subcommands: [AuthorityInit.self, AuthorityAdmit.self, AuthorityRevoke.self])
}

struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert", abstract: "node certificates, issued under an admitted operator", subcommands: [CertIssue.self])
}

struct AuthorityInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "create the federation root (Ed25519) in DIR; refuses to replace one")
    @Argument(help: "the authority's directory (created if absent)", valueName: "DIR") var directory: String
    @Option(help: "validity of the root certificate, in days", valueName: "N", range: 1...36_500) var days = 3650
    @OptionGroup var output: PKIOutput
    func run() throws -> Int32 { try pkiErrors { try authorityInit(self) } }
}

struct AuthorityAdmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admit",
        abstract: """
            apply the entry conditions to an operator's application: list every unmet one (exit 1) or \
            issue the operator's credential; audited in the authority's audit.log
            """)
    @Argument(help: "the operator's application (see deploy/examples/)", valueName: "APPLICATION.json")
    var application: String
    @Option(help: "the federation root's directory", valueName: "DIR") var authority: String
    @Option(help: "where the credential goes (default: DIR/operators/NAME)", valueName: "DIR") var out: String?
    @Option(help: "the day the conditions are judged on (default: today, UTC)", valueName: "YYYY-MM-DD") var today: String?
    @Option(help: "validity of the operator's certificate, in days", valueName: "N", range: 1...36_500) var days = 1095
    @Flag(help: "replace an existing operator key and certificate (the old identity is lost)") var force = false
    @OptionGroup var output: PKIOutput
    func run() throws -> Int32 { try pkiErrors { try authorityAdmit(self) } }
}

struct AuthorityRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "add a node to the root-signed revocation list; audited")
    @Option(help: "the federation root's directory", valueName: "DIR") var authority: String
    @Option(help: "the node to revoke (64 hex digits)", valueName: "NODEID", transform: { try NodeID(hex: $0) })
    var node: NodeID
    @Option(help: "the revoked certificate's serial (0: every certificate of the node)", valueName: "N") var serial: UInt64 = 0
    @Option(help: "why: unspecified, key-compromise, operator-deadmitted, superseded, ceased-operation", valueName: "REASON")
    var reason = RevocationReasonName.unspecified
    @OptionGroup var output: PKIOutput
    func run() throws -> Int32 { try pkiErrors { try authorityRevoke(self) } }
}

struct CertIssue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: """
            issue a node certificate under an admitted operator; refuses to replace a key without \
            --force; audited in the operator's audit.log
            """)
    @Option(help: "the admitted operator's directory (from authority admit)", valueName: "DIR") var `operator`: String
    @Option(help: "regional, industry or operator (a console)", valueName: "ROLE", transform: { try Role(name: $0) })
    var role: Role
    @Option(help: "the node's region, e.g. cn-north", valueName: "REGION", transform: { try Region($0) }) var region: Region
    @Option(help: "a sector an industry node serves", valueName: "SECTOR") var sector: [String]
    @Option(help: "the node's directory: node.key, node.pem, root.pem", valueName: "DIR") var out: String
    @Option(help: "an existing private key to certify instead of a new one", valueName: "FILE") var key: String?
    @Option(help: "validity, in days", valueName: "N", range: 1...36_500) var days = 365
    @Flag(help: "replace an existing key and certificate (the old identity is lost)") var force = false
    @OptionGroup var output: PKIOutput

    func validate() throws {
        if role == .industry && sector.isEmpty {
            throw ValidationError("an industry node serves at least one sector: add --sector")
        }
    }

    func run() throws -> Int32 { try pkiErrors { try certIssue(self) } }
}

/// `--reason`'s values.
enum RevocationReasonName: String, CaseIterable, ExpressibleByArgument {
    case unspecified
    case keyCompromise = "key-compromise"
    case operatorDeadmitted = "operator-deadmitted"
    case superseded
    case ceasedOperation = "ceased-operation"

    var reason: RevocationReason {
        switch self {
        case .unspecified: .unspecified
        case .keyCompromise: .keyCompromise
        case .operatorDeadmitted: .operatorDeadmitted
        case .superseded: .superseded
        case .ceasedOperation: .ceasedOperation
        }
    }
}

/// `--json`, shared by the authority and certificate commands.
struct PKIOutput: ParsableArguments {
    @Flag(help: "one JSON object on standard output (string enums and IDs, RFC 3339 times), for scripts")
    var json = false

    /// Prints the outcome: `text` for people, or with `--json` one JSON object (sorted keys,
    /// strings for enums and IDs, RFC 3339 UTC for times) for scripts.
    func report(_ text: String, json object: [String: Any]) throws {
        guard json else {
            print(text)
            return
        }
        var object = object
        object["time"] = ISO8601DateFormatter().string(from: Date())
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Refuses to replace `files` (a key and its certificate) unless `force`: a replaced key is an
/// identity lost, and a node's ledger is bound to its key.
func refuseToReplace(_ files: [String], force: Bool) throws {
    guard !force else { return }
    let existing = files.filter { FileManager.default.fileExists(atPath: $0) }
    guard !existing.isEmpty else { return }
    throw CLIError(
        "\(existing.joined(separator: " and ")) already exist\(existing.count == 1 ? "s" : ""): refusing to replace a key "
            + "and its certificate; choose another --out, or add --force to replace them (the old identity is then lost)")
}

/// Runs a PKI command, wording the cryptography's and admission's errors for the operator.
func pkiErrors(_ body: () throws -> Int32) throws -> Int32 {
    do { return try body() } catch let error as CryptoError {
        throw CLIError(error.description)
    } catch let error as AdmissionError {
        throw CLIError(error.description)
    }
}

// MARK: - authority init

func authorityInit(_ options: AuthorityInit) throws -> Int32 {
    let dir = options.directory
    if FileManager.default.fileExists(atPath: dir + "/root.key") {
        throw CLIError("\(dir)/root.key exists; refusing to replace a federation root")
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let key = try Ed25519PrivateKey.generate()
    let days = options.days
    let root = try CertificateAuthority.makeRoot(key: key, validity: .days(days))
    try key.save(to: dir + "/root.key")
    try saveCertificates([root], to: dir + "/root.pem")
    let list = try signedRevocationList(serial: 0, entries: [], root: root, rootKey: key)
    try Data(FrameEncoder.frame(.revocationList(list))).write(to: URL(fileURLWithPath: dir + "/revocations.frame"))
    FileManager.default.createFile(atPath: dir + "/audit.log", contents: nil)
    try appendAudit(dir, ["event": "init", "rootID": try root.publicKey.nodeID.hex])
    let rootID = try root.publicKey.nodeID.hex
    try options.output.report(
        "federation root created in \(dir)\nroot ID (SHA-256 of its key): \(rootID)",
        json: ["event": "init", "directory": dir, "rootID": rootID, "days": days])
    return 0
}

// MARK: - authority admit

func authorityAdmit(_ options: AuthorityAdmit) throws -> Int32 {
    let path = options.application
    let dir = options.authority
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    let application: AdmissionApplication
    do { application = try JSONDecoder().decode(AdmissionApplication.self, from: data) } catch {
        throw CLIError("\(path) is not a valid application: \(error)")
    }
    let today = try options.today.map { try CivilDate($0) } ?? CivilDate(todayUTC())
    switch AdmissionPolicy().evaluate(application, today: today) {
    case .refuse(let unmet):
        try appendAudit(
            dir,
            [
                "event": "admit", "application": path, "operator": application.operatorName, "decision": "refused",
                "today": today.description, "unmet": unmet.map(\.description),
            ])
        if options.output.json {
            try options.output.report(
                "",
                json: [
                    "event": "admit", "decision": "refused", "operator": application.operatorName,
                    "unmet": unmet.map(\.description),
                ])
        } else {
            FileHandle.standardError.write(
                Data("admission refused for '\(application.operatorName)': \(unmet.count) unmet condition(s)\n".utf8))
            for condition in unmet { FileHandle.standardError.write(Data("  - \(condition)\n".utf8)) }
        }
        return 1
    case .admit(let binding):
        let rootKey = try Ed25519PrivateKey(contentsOf: dir + "/root.key")
        let root = try Certificate.load(dir + "/root.pem")[0]
        let out = options.out ?? dir + "/operators/" + slug(binding.operatorName)
        let validity = options.days
        try refuseToReplace([out + "/operator.key", out + "/operator.pem"], force: options.force)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let key = try Ed25519PrivateKey.generate()
        let cert = try CertificateAuthority.issueOperator(
            publicKey: key.publicKey, binding: binding, root: root, rootKey: rootKey,
            validity: .days(validity))
        try key.save(to: out + "/operator.key")
        try saveCertificates([cert], to: out + "/operator.pem")
        try saveCertificates([root], to: out + "/root.pem")
        try appendAudit(
            dir,
            [
                "event": "admit", "application": path, "operator": binding.operatorName, "decision": "admitted",
                "today": today.description, "licence": binding.licenceNumber, "certificateSerial": String(cert.serial),
            ])
        try options.output.report(
            "admitted '\(binding.operatorName)'; operator credential in \(out) (serial \(cert.serial))",
            json: [
                "event": "admit", "decision": "admitted", "operator": binding.operatorName, "directory": out,
                "certificateSerial": String(cert.serial), "notAfter": ISO8601DateFormatter().string(from: cert.notAfter),
            ])
        return 0
    }
}

// MARK: - authority revoke

func authorityRevoke(_ options: AuthorityRevoke) throws -> Int32 {
    let dir = options.authority
    let node = options.node
    let serial = options.serial
    let reasonName = options.reason.rawValue
    let reason = options.reason.reason
    let rootKey = try Ed25519PrivateKey(contentsOf: dir + "/root.key")
    let root = try Certificate.load(dir + "/root.pem")[0]
    let current = try loadRevocationList(dir + "/revocations.frame", root: root)
    var entries = current.entries.filter { $0.node != node }
    let now = MeshInstant(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000))
    entries.append(Revocation(node: node, certificateSerial: serial, revokedAt: now, reason: reason))
    entries.sort { $0.node < $1.node }
    let list = try signedRevocationList(serial: current.serial + 1, entries: entries, root: root, rootKey: rootKey)
    try Data(FrameEncoder.frame(.revocationList(list))).write(to: URL(fileURLWithPath: dir + "/revocations.frame"))
    try appendAudit(dir, ["event": "revoke", "node": node.hex, "reason": reasonName, "listSerial": String(list.serial)])
    try options.output.report(
        "revoked \(node.hex) (\(reasonName)); revocation list serial \(list.serial), \(entries.count) entries",
        json: [
            "event": "revoke", "nodeID": node.hex, "reason": reasonName, "revocationSerial": String(list.serial),
            "entries": entries.count,
        ])
    return 0
}

func signedRevocationList(
    serial: UInt64, entries: [Revocation], root: Certificate, rootKey: Ed25519PrivateKey
) throws
    -> RevocationList
{
    let now = MeshInstant(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000))
    var list = RevocationList(
        issuer: try root.publicKey.nodeID, serial: serial, issuedAt: now, nextUpdate: now + .minutes(7 * 24 * 60),
        entries: entries, signature: [])
    var writer = WireWriter()
    list.encode(to: &writer)
    list.signature = RevocationSigning.sign(unsignedEncoding: writer.bytes, rootKey: rootKey)
    return list
}

func loadRevocationList(_ path: String, root: Certificate) throws -> RevocationList {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    guard case .message(.revocationList(let list), _, _) = try WireMessage.decode(frameBytes: [UInt8](data)) else {
        throw CLIError("\(path) does not hold a REVOCATION_LIST frame")
    }
    var unsigned = list
    unsigned.signature = []
    var writer = WireWriter()
    unsigned.encode(to: &writer)
    guard RevocationSigning.isValid(signature: list.signature, unsignedEncoding: writer.bytes, root: root) else {
        throw CLIError("\(path): the revocation list's signature is not the root's")
    }
    return list
}

// MARK: - cert issue

func certIssue(_ options: CertIssue) throws -> Int32 {
    let operatorDir = options.operator
    let out = options.out
    let role = options.role
    let region = options.region
    let sectors = try options.sector.map { sector in
        do { return try Sector(sector) } catch { throw CLIError("--sector: \(error)") }
    }
    let operatorKey = try Ed25519PrivateKey(contentsOf: operatorDir + "/operator.key")
    let operatorCert = try Certificate.load(operatorDir + "/operator.pem")[0]
    guard let operatorBinding = try operatorCert.operatorBinding else {
        throw CLIError("\(operatorDir)/operator.pem is not an admitted operator's certificate")
    }
    let validity = options.days
    try refuseToReplace(options.key == nil ? [out + "/node.key", out + "/node.pem"] : [out + "/node.pem"], force: options.force)
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let key: Ed25519PrivateKey
    if let keyPath = options.key {
        key = try Ed25519PrivateKey(contentsOf: keyPath)
    } else {
        key = try Ed25519PrivateKey.generate()
        try key.save(to: out + "/node.key")
    }
    let binding = NodeBinding(
        nodeID: key.nodeID, role: role, region: region, sectors: sectors, operatorName: operatorBinding.operatorName,
        licenceNumber: operatorBinding.licenceNumber)
    let cert = try CertificateAuthority.issueNode(
        publicKey: key.publicKey, binding: binding, operatorCertificate: operatorCert, operatorKey: operatorKey,
        validity: .days(validity))
    try saveCertificates([cert, operatorCert], to: out + "/node.pem")
    if FileManager.default.fileExists(atPath: operatorDir + "/root.pem") {
        try? FileManager.default.removeItem(atPath: out + "/root.pem")
        try FileManager.default.copyItem(atPath: operatorDir + "/root.pem", toPath: out + "/root.pem")
    }
    // The operator is the node certificates' authority: its directory keeps their audit log.
    let audit = operatorDir + "/audit.log"
    if !FileManager.default.fileExists(atPath: audit) { FileManager.default.createFile(atPath: audit, contents: nil) }
    try appendAudit(
        operatorDir,
        [
            "event": "issue", "nodeID": key.nodeID.hex, "role": role.description, "region": region.description,
            "sectors": sectors.map(\.description), "certificateSerial": String(cert.serial), "days": validity, "out": out,
            "replaced": options.force,
        ])
    try options.output.report(
        "issued \(role == .industry ? "an" : "a") \(role) certificate for node \(key.nodeID.hex) in \(out) (serial \(cert.serial))",
        json: [
            "event": "issue", "nodeID": key.nodeID.hex, "role": role.description, "region": region.description,
            "sectors": sectors.map(\.description), "directory": out, "certificateSerial": String(cert.serial),
            "notAfter": ISO8601DateFormatter().string(from: cert.notAfter), "replaced": options.force,
        ])
    return 0
}

// MARK: - helpers

func appendAudit(_ dir: String, _ fields: [String: Any]) throws {
    var record = fields
    record["time"] = ISO8601DateFormatter().string(from: Date())
    let line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) + Data("\n".utf8)
    let path = dir + "/audit.log"
    guard let handle = FileHandle(forWritingAtPath: path) else {
        throw CLIError("cannot open \(path); run `meshctl authority init` first")
    }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: line)
}

func slug(_ name: String) -> String {
    let mapped = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
    return String(mapped).split(separator: "-").joined(separator: "-")
}

func todayUTC() -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd"
    return formatter.string(from: Date())
}
