import Foundation
import MeshCore
import MeshCrypto
import MeshTestSupport
import Testing

/// `meshctl authority` and `meshctl cert` as a user runs them: the built executable, a temp dir.
@Suite(.serialized, .timeLimit(.minutes(1))) struct MeshctlAuthorityTests {
    /// The meshctl built next to the test bundle (`swift test` builds every product).
    static var meshctl: String { builtProduct("meshctl") }

    func run(_ arguments: [String]) async throws -> ProcessRun { try await runProcess(Self.meshctl, arguments) }

    func write(_ application: AdmissionApplication, to path: String) throws {
        let encoder = JSONEncoder()
        try encoder.encode(application).write(to: URL(fileURLWithPath: path))
    }

    @Test func admitIssuesTheCredentialOrListsEveryUnmetConditionAndAuditsBoth() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.meshctl), "meshctl not found at \(Self.meshctl)")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let authority = dir + "/authority"
        #expect(try await run(["authority", "init", authority]).status == 0)
        let rootKeyMode = try FileManager.default.attributesOfItem(atPath: authority + "/root.key")[.posixPermissions] as! Int
        #expect(rootKeyMode == 0o600)

        var bad = AdmissionPolicyTests.passing()
        bad.operatorName = "Shaky Co"
        bad.construction.registeredCapitalRMB = 10_000_000
        bad.construction.sustainedFundingEvidence = []
        bad.operating.telecomLicenceNumber = nil
        bad.operating.facilities = []
        bad.operating.equipment = []
        bad.operating.personnel = [:]
        bad.integrityBreaches = [.init(date: try CivilDate("2026-01-05"), major: true, description: "bid rigging")]
        try write(bad, to: dir + "/bad.json")
        let refused = try await run(["authority", "admit", dir + "/bad.json", "--authority", authority, "--today", "2026-11-29"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("7 unmet condition(s)"), "\(refused.output)")
        for text in [
            "registered capital", "sustained funding", "telecom business licence", "no facilities", "no equipment",
            "no personnel", "bid rigging",
        ] {
            #expect(refused.output.contains(text), "missing '\(text)' in \(refused.output)")
        }

        try write(AdmissionPolicyTests.passing(), to: dir + "/good.json")
        let operatorDir = dir + "/operator"
        let admitted = try await run([
            "authority", "admit", dir + "/good.json", "--authority", authority, "--out", operatorDir, "--today", "2026-11-29",
        ])
        #expect(admitted.status == 0, "\(admitted.output)")
        let audit = try String(contentsOfFile: authority + "/audit.log", encoding: .utf8)
        #expect(audit.contains("\"decision\":\"refused\""))
        #expect(audit.contains("\"decision\":\"admitted\""))

        let nodeDir = dir + "/node"
        let issued = try await run([
            "cert", "issue", "--operator", operatorDir, "--role", "industry", "--region", "cn-east", "--sector", "finance",
            "--out", nodeDir,
        ])
        #expect(issued.status == 0, "\(issued.output)")
        let chain = try Certificate.load(nodeDir + "/node.pem")
        let root = try Certificate.load(authority + "/root.pem")[0]
        let peer = try FederationTrust(root: root).verify(chain, at: Date(), allowedRoles: [.industry])
        #expect(peer.binding.operatorName == "East Compute Co")
        #expect(peer.binding.sectors == [.finance])
        #expect(try Ed25519PrivateKey(contentsOf: nodeDir + "/node.key").nodeID == peer.binding.nodeID)

        // The issuance is audited in the operator's directory (the node certificates' authority).
        let issuedAudit = try String(contentsOfFile: operatorDir + "/audit.log", encoding: .utf8)
        #expect(issuedAudit.contains("\"event\":\"issue\"") && issuedAudit.contains(peer.binding.nodeID.hex), "\(issuedAudit)")

        // Issuing again into the same directory would replace the node's key: refused without --force.
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: nodeDir + "/node.key"))
        let again = try await run([
            "cert", "issue", "--operator", operatorDir, "--role", "industry", "--region", "cn-east", "--sector", "finance",
            "--out", nodeDir,
        ])
        #expect(again.status != 0)
        #expect(again.output.contains("refusing to replace") && again.output.contains("--force"), "\(again.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: nodeDir + "/node.key")) == keyBefore, "the key was replaced")
        // A validity that is not a number is an error, not a silent default.
        let badDays = try await run([
            "cert", "issue", "--operator", operatorDir, "--role", "regional", "--region", "cn-east", "--out", dir + "/other",
            "--days", "abc",
        ])
        #expect(badDays.status != 0)
        #expect(badDays.output.contains("--days needs a whole number") && badDays.output.contains("'abc'"), "\(badDays.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/other/node.key"))

        // --json: one object for scripts, strings for enums and IDs, RFC 3339 for times.
        let scripted = try await run([
            "cert", "issue", "--operator", operatorDir, "--role", "regional", "--region", "cn-east", "--out", dir + "/scripted",
            "--json",
        ])
        #expect(scripted.status == 0, "\(scripted.output)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(scripted.output.utf8)) as? [String: Any], "\(scripted.output)")
        #expect(object["role"] as? String == "regional" && object["region"] as? String == "cn-east", "\(object)")
        #expect((object["nodeID"] as? String)?.count == 64, "\(object)")
        let notAfter = try #require(object["notAfter"] as? String)
        #expect(ISO8601DateFormatter().date(from: notAfter) != nil, "\(notAfter)")

        let revoked = try await run(["authority", "revoke", "--authority", authority, "--node", peer.binding.nodeID.hex])
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(revoked.output.contains("serial 1"))
    }
}
