import Foundation
import Glibc
import MeshCore
import MeshCrypto
import MeshRuntime
import MeshTransport

/// The federation `mesh-bench e2e` measures: real node processes (this executable's `node`
/// command, which is meshd) with mutual TLS on loopback: cn-north with two regional nodes and an
/// industry node, cn-east with one regional node and an industry node. Every regional node owns one
/// large CPU pool that accepts the finance sector; the industry nodes serve finance.
final class E2EFederation {
    struct Member {
        var name: String
        var role: Role
        var region: String
        var process: ChildProcess
        var address: NetAddress
        var nodeID: NodeID
        var logPath: String
    }

    let directory: String
    private(set) var members: [Member] = []
    /// Operator console identities for the load generator: one per connection, since a node
    /// refuses a second session of the same NodeID (`duplicate-node`).
    private(set) var consoles: [(tls: TLSSetup, identity: LocalIdentity)] = []
    static let consoleCount = 4

    /// Compute units of each regional node's pool: far above what a run holds at once.
    static let poolUnits: UInt64 = 100_000_000

    /// Writes the PKI and the configurations, starts the nodes one by one (regional nodes first,
    /// each seeded with the ones before it) and waits for each readiness line.
    init(directory: String) throws {
        self.directory = directory
        let rootKey = try Ed25519PrivateKey.generate()
        let root = try CertificateAuthority.makeRoot(key: rootKey)
        let binding = OperatorBinding(operatorName: "Bench Compute Co", licenceNumber: "B1-20269999", publicInstitution: false)
        let operatorKey = try Ed25519PrivateKey.generate()
        let operatorCertificate = try CertificateAuthority.issueOperator(
            publicKey: operatorKey.publicKey, binding: binding, root: root, rootKey: rootKey)
        func issue(_ role: Role, _ region: String, sectors: [Sector]) throws -> (Ed25519PrivateKey, [Certificate]) {
            let key = try Ed25519PrivateKey.generate()
            let node = NodeBinding(
                nodeID: key.nodeID, role: role, region: try Region(region), sectors: sectors, operatorName: binding.operatorName,
                licenceNumber: binding.licenceNumber)
            let certificate = try CertificateAuthority.issueNode(
                publicKey: key.publicKey, binding: node, operatorCertificate: operatorCertificate, operatorKey: operatorKey)
            return (key, [certificate, operatorCertificate])
        }
        for _ in 0..<Self.consoleCount {
            let (key, chain) = try issue(.operatorConsole, "cn-north", sectors: [])
            consoles.append(
                (
                    try TLSSetup(identity: TLSIdentity(key: key, chain: chain), trust: FederationTrust(root: root)),
                    LocalIdentity(
                        nodeID: key.nodeID, role: .operatorConsole, region: try Region("cn-north"), software: "mesh-bench/e2e")
                ))
        }

        let plan: [(String, Role, String)] = [
            ("north-1", .regional, "cn-north"), ("north-2", .regional, "cn-north"), ("east-1", .regional, "cn-east"),
            ("north-finance", .industry, "cn-north"), ("east-finance", .industry, "cn-east"),
        ]
        for (name, role, region) in plan {
            let dir = directory + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let (key, chain) = try issue(role, region, sectors: role == .industry ? [.finance] : [])
            try key.save(to: dir + "/node.key")
            try saveCertificates(chain, to: dir + "/node.pem")
            try saveCertificates([root], to: dir + "/root.pem")
            let sameRegion = members.filter { $0.region == region && $0.role == .regional }.map { "\"\($0.address)\"" }
            let otherRegions = members.filter { $0.region != region && $0.role == .regional }.map { "\"\($0.address)\"" }
            var fields = [
                #""name": "\#(name)""#, #""role": "\#(role)""#, #""region": "\#(region)""#, #""listen": "127.0.0.1:0""#,
                #""dataDirectory": "\#(dir)/data""#, #""logLevel": "warning""#,
                #""credentials": {"key": "\#(dir)/node.key", "certificate": "\#(dir)/node.pem", "root": "\#(dir)/root.pem"}"#,
                #""seeds": [\#(sameRegion.joined(separator: ", "))]"#,
            ]
            if role == .regional {
                fields.append(#""backbone": [\#(otherRegions.joined(separator: ", "))]"#)
                fields.append(
                    #""pools": [{"name": "cpu", "architecture": "x86_64", "computeUnits": \#(Self.poolUnits), "memoryMiB": 1048576, "pricePerUnitHour": 1.0, "acceptsSectors": ["finance"]}]"#
                )
            } else {
                fields.append(#""sectors": ["finance"]"#)
            }
            let config = dir + "/config.json"
            try Data(("{" + fields.joined(separator: ", ") + "}").utf8).write(to: URL(fileURLWithPath: config))
            members.append(try Self.start(name: name, role: role, region: region, config: config, log: dir + "/node.log"))
        }
    }

    /// Starts one node and reads its readiness line (`meshd: NAME listening on HOST:PORT as ROLE
    /// node NODEID in REGION`) within 20 s.
    static func start(name: String, role: Role, region: String, config: String, log: String) throws -> Member {
        let readiness = log + ".out"
        let process = try ChildProcess.spawn(
            name: name, executable: ownExecutable(), arguments: ["node", "--config", config], stdoutPath: readiness,
            stderrPath: log)
        let deadline = Date().addingTimeInterval(20)
        var line = ""
        while !line.contains("\n") && Date() < deadline && !process.poll() {
            usleep(20_000)
            line = process.standardOutput
        }
        let words = line.split(separator: " ")
        guard let on = words.firstIndex(of: "on"), on + 1 < words.count, let at = words.firstIndex(of: "node"),
            at + 1 < words.count, let address = try? NetAddress(parsing: String(words[on + 1])),
            let nodeID = try? NodeID(hex: String(words[at + 1]))
        else {
            process.signal(SIGKILL)
            throw BenchFailure("node \(name) did not start (\(process.exitDescription)): see \(log)")
        }
        return Member(
            name: name, role: role, region: region, process: process, address: address, nodeID: nodeID, logPath: log)
    }

    /// SIGTERM to every node, then waits up to 10 s for each; what did not exit is killed.
    func stop() {
        for member in members { member.process.signal(SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        for member in members {
            while !member.process.poll() && Date() < deadline { usleep(20_000) }
            member.process.signal(SIGKILL)
            member.process.poll()
        }
    }

    /// Resident memory of a node process, in bytes (from /proc).
    static func residentBytes(_ process: ChildProcess) -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/\(process.pid)/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) })
        else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
