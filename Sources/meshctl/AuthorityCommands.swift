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
import MeshCore
import MeshCrypto
import MeshWire

/// Splits `--name value` options (repeatable) and `--flag`s from positional arguments.
struct Options {
    /// Options that take no value.
    static let flags: Set<String> = ["force", "json"]
    var positional: [String] = []
    var values: [String: [String]] = [:]
    var flags: Set<String> = []

    init(_ arguments: [String]) throws {
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            if arg.hasPrefix("--"), Options.flags.contains(String(arg.dropFirst(2))) {
                flags.insert(String(arg.dropFirst(2)))
                i += 1
            } else if arg.hasPrefix("--") {
                guard i + 1 < arguments.count else { throw CLIError("\(arg) needs a value") }
                values[String(arg.dropFirst(2)), default: []].append(arguments[i + 1])
                i += 2
            } else {
                positional.append(arg)
                i += 1
            }
        }
    }

    func one(_ name: String) -> String? { values[name]?.last }

    /// Prints the outcome: `text` for people, or with `--json` one JSON object (sorted keys,
    /// strings for enums and IDs, RFC 3339 UTC for times) for scripts.
    func report(_ text: String, json: [String: Any]) throws {
        guard flags.contains("json") else {
            print(text)
            return
        }
        var object = json
        object["time"] = ISO8601DateFormatter().string(from: Date())
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// `--days`: a whole number of days from 1 to 36,500 (100 years), or `fallback` when absent.
    func days(default fallback: Int) throws -> Int {
        guard let text = one("days") else { return fallback }
        guard let days = Int(text), (1...36_500).contains(days) else {
            throw CLIError("--days needs a whole number of days from 1 to 36500, not '\(text)'")
        }
        return days
    }

    /// Refuses to replace `files` (a key and its certificate) unless `--force` was given: a
    /// replaced key is an identity lost, and a node's ledger is bound to its key.
    func refuseToReplace(_ files: [String]) throws {
        guard !flags.contains("force") else { return }
        let existing = files.filter { FileManager.default.fileExists(atPath: $0) }
        guard !existing.isEmpty else { return }
        throw CLIError(
            "\(existing.joined(separator: " and ")) already exist\(existing.count == 1 ? "s" : ""): refusing to replace a key "
                + "and its certificate; choose another --out, or add --force to replace them (the old identity is then lost)")
    }
    func required(_ name: String) throws -> String {
        guard let value = one(name) else { throw CLIError("--\(name) is required") }
        return value
    }
}

func runPKICommand(_ arguments: [String]) throws -> Int32 {
    let options = try Options(Array(arguments.dropFirst(2)))
    do {
        switch (arguments[0], arguments[1]) {
        case ("authority", "init"): return try authorityInit(options)
        case ("authority", "admit"): return try authorityAdmit(options)
        case ("authority", "revoke"): return try authorityRevoke(options)
        default: return try certIssue(options)
        }
    } catch let error as CryptoError {
        throw CLIError(error.description)
    } catch let error as AdmissionError {
        throw CLIError(error.description)
    }
}

// MARK: - authority init

func authorityInit(_ options: Options) throws -> Int32 {
    guard options.positional.count == 1 else { throw CLIError("authority init takes one directory") }
    let dir = options.positional[0]
    if FileManager.default.fileExists(atPath: dir + "/root.key") {
        throw CLIError("\(dir)/root.key exists; refusing to replace a federation root")
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let key = try Ed25519PrivateKey.generate()
    let days = try options.days(default: 3650)
    let root = try CertificateAuthority.makeRoot(key: key, validity: .days(days))
    try key.save(to: dir + "/root.key")
    try saveCertificates([root], to: dir + "/root.pem")
    let list = try signedRevocationList(serial: 0, entries: [], root: root, rootKey: key)
    try Data(FrameEncoder.frame(.revocationList(list))).write(to: URL(fileURLWithPath: dir + "/revocations.frame"))
    FileManager.default.createFile(atPath: dir + "/audit.log", contents: nil)
    try appendAudit(dir, ["event": "init", "rootID": try root.publicKey.nodeID.hex])
    let rootID = try root.publicKey.nodeID.hex
    try options.report(
        "federation root created in \(dir)\nroot ID (SHA-256 of its key): \(rootID)",
        json: ["event": "init", "directory": dir, "rootID": rootID, "days": days])
    return 0
}

// MARK: - authority admit

func authorityAdmit(_ options: Options) throws -> Int32 {
    guard options.positional.count == 1 else { throw CLIError("authority admit takes one APPLICATION.json") }
    let path = options.positional[0]
    let dir = try options.required("authority")
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    let application: AdmissionApplication
    do { application = try JSONDecoder().decode(AdmissionApplication.self, from: data) } catch {
        throw CLIError("\(path) is not a valid application: \(error)")
    }
    let today = try options.one("today").map { try CivilDate($0) } ?? CivilDate(todayUTC())
    switch AdmissionPolicy().evaluate(application, today: today) {
    case .refuse(let unmet):
        try appendAudit(
            dir,
            [
                "event": "admit", "application": path, "operator": application.operatorName, "decision": "refused",
                "today": today.description, "unmet": unmet.map(\.description),
            ])
        if options.flags.contains("json") {
            try options.report(
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
        let out = options.one("out") ?? dir + "/operators/" + slug(binding.operatorName)
        let validity = try options.days(default: 1095)
        try options.refuseToReplace([out + "/operator.key", out + "/operator.pem"])
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
        try options.report(
            "admitted '\(binding.operatorName)'; operator credential in \(out) (serial \(cert.serial))",
            json: [
                "event": "admit", "decision": "admitted", "operator": binding.operatorName, "directory": out,
                "certificateSerial": String(cert.serial), "notAfter": ISO8601DateFormatter().string(from: cert.notAfter),
            ])
        return 0
    }
}

// MARK: - authority revoke

func authorityRevoke(_ options: Options) throws -> Int32 {
    let dir = try options.required("authority")
    let node = try NodeID(hex: try options.required("node"))
    let serial = UInt64(options.one("serial") ?? "0") ?? 0
    let reasonName = options.one("reason") ?? "unspecified"
    let reasons: [String: RevocationReason] = [
        "unspecified": .unspecified, "key-compromise": .keyCompromise, "operator-deadmitted": .operatorDeadmitted,
        "superseded": .superseded, "ceased-operation": .ceasedOperation,
    ]
    guard let reason = reasons[reasonName] else {
        throw CLIError("unknown reason '\(reasonName)'; use one of \(reasons.keys.sorted().joined(separator: ", "))")
    }
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
    try options.report(
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

func certIssue(_ options: Options) throws -> Int32 {
    let operatorDir = try options.required("operator")
    let out = try options.required("out")
    let role = try Role(name: try options.required("role"))
    let region = try Region(try options.required("region"))
    let sectors = try (options.values["sector"] ?? []).map { try Sector($0) }
    if role == .industry && sectors.isEmpty { throw CLIError("an industry node serves at least one sector: add --sector") }
    let operatorKey = try Ed25519PrivateKey(contentsOf: operatorDir + "/operator.key")
    let operatorCert = try Certificate.load(operatorDir + "/operator.pem")[0]
    guard let operatorBinding = try operatorCert.operatorBinding else {
        throw CLIError("\(operatorDir)/operator.pem is not an admitted operator's certificate")
    }
    let validity = try options.days(default: 365)
    try options.refuseToReplace(
        options.one("key") == nil ? [out + "/node.key", out + "/node.pem"] : [out + "/node.pem"])
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let key: Ed25519PrivateKey
    if let keyPath = options.one("key") {
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
            "replaced": options.flags.contains("force"),
        ])
    try options.report(
        "issued \(role == .industry ? "an" : "a") \(role) certificate for node \(key.nodeID.hex) in \(out) (serial \(cert.serial))",
        json: [
            "event": "issue", "nodeID": key.nodeID.hex, "role": role.description, "region": region.description,
            "sectors": sectors.map(\.description), "directory": out, "certificateSerial": String(cert.serial),
            "notAfter": ISO8601DateFormatter().string(from: cert.notAfter), "replaced": options.flags.contains("force"),
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
