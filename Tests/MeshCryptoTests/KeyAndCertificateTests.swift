import Foundation
import MeshCore
import MeshTestSupport
import Testing

@testable import MeshCrypto

@Suite struct KeyAndCertificateTests {
    @Test func pureSHA256MatchesOpenSSL() {
        var inputs: [[UInt8]] = [[], Array("abc".utf8), [UInt8](repeating: 0x61, count: 1_000)]
        for length in [55, 56, 63, 64, 65, 119, 120, 128] {
            inputs.append((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        }
        for input in inputs { #expect(SHA256.hash(input) == OpenSSLDigest.sha256(input), "length \(input.count)") }
    }

    @Test func keySurvivesPEMFileWithOwnerOnlyPermissions() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = try Ed25519PrivateKey.generate()
        let path = dir + "/node.key"
        try key.save(to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
        #expect(mode == 0o600)
        let loaded = try Ed25519PrivateKey(contentsOf: path)
        #expect(loaded.nodeID == key.nodeID)
        let signature = key.sign(Array("hello".utf8))
        #expect(loaded.publicKey.isValidSignature(signature, for: Array("hello".utf8)))
        #expect(!loaded.publicKey.isValidSignature(signature, for: Array("hellO".utf8)))
    }

    @Test func nodeIDIsTheHashOfTheRawPublicKey() throws {
        let key = try Ed25519PrivateKey.generate()
        #expect(key.nodeID.bytes == OpenSSLDigest.sha256(key.publicKey.rawBytes))
    }

    @Test func nodeCertificateCarriesItsBindingThroughPEM() throws {
        let pki = try TestPKI()
        let identity = try pki.node(role: .industry)
        let parsed = try Certificate.all(pem: identity.chain.flatMap(\.pem))
        #expect(parsed.count == 2)
        let binding = try #require(try parsed[0].nodeBinding)
        #expect(binding.nodeID == identity.key.nodeID)
        #expect(binding.role == .industry)
        #expect(binding.sectors == [.finance])
        #expect(binding.licenceNumber == "B1-20260001")
        #expect(try parsed[1].operatorBinding == pki.operatorBinding)
        #expect(parsed[1].isAuthority)
        #expect(!parsed[0].isAuthority)
    }

    @Test func bindingDERRoundTripsAndRejectsTrailingBytes() throws {
        let key = try Ed25519PrivateKey.generate()
        let binding = NodeBinding(
            nodeID: key.nodeID, role: .industry, region: try Region("cn-gd-shenzhen"), sectors: [.manufacturing, .energy],
            operatorName: "Op", licenceNumber: "L-1")
        #expect(try NodeBinding(der: binding.der) == binding)
        #expect(throws: CryptoError.self) { try NodeBinding(der: binding.der + [0]) }
        #expect(throws: CryptoError.self) { try NodeBinding(der: Array(binding.der.dropLast())) }
    }

    @Test func revocationSignatureCoversTheUnsignedEncoding() throws {
        let pki = try TestPKI()
        let message: [UInt8] = Array("list body".utf8)
        let signature = RevocationSigning.sign(unsignedEncoding: message, rootKey: pki.rootKey)
        #expect(RevocationSigning.isValid(signature: signature, unsignedEncoding: message, root: pki.root))
        #expect(!RevocationSigning.isValid(signature: signature, unsignedEncoding: message + [1], root: pki.root))
        let other = try TestPKI()
        #expect(!RevocationSigning.isValid(signature: signature, unsignedEncoding: message, root: other.root))
    }
}

@Suite struct ChainVerificationTests {
    let now = Date()

    @Test func validChainVerifies() throws {
        let pki = try TestPKI()
        let identity = try pki.node()
        let peer = try pki.trust.verify(identity.chain, at: now, allowedRoles: [.regional])
        #expect(peer.binding.nodeID == identity.key.nodeID)
    }

    @Test func expiredCertificateIsRefused() throws {
        let pki = try TestPKI()
        let identity = try pki.node(validity: .days(10, from: now.addingTimeInterval(-20 * 86_400)))
        #expect {
            try pki.trust.verify(identity.chain, at: now, allowedRoles: Role.allCases)
        } throws: { ($0 as? CertificateError).map { if case .expired = $0 { true } else { false } } ?? false }
    }

    @Test func notYetValidCertificateIsRefused() throws {
        let pki = try TestPKI()
        let identity = try pki.node(validity: .days(10, from: now.addingTimeInterval(5 * 86_400)))
        #expect {
            try pki.trust.verify(identity.chain, at: now, allowedRoles: Role.allCases)
        } throws: { ($0 as? CertificateError).map { if case .notYetValid = $0 { true } else { false } } ?? false }
    }

    @Test func certificateFromForeignRootIsRefused() throws {
        let pki = try TestPKI()
        let foreign = try TestPKI()
        let identity = try foreign.node()
        #expect {
            try pki.trust.verify(identity.chain, at: now, allowedRoles: Role.allCases)
        } throws: { ($0 as? CertificateError).map { if case .foreignRoot = $0 { true } else { false } } ?? false }
    }

    @Test func selfSignedCertificateIsRefused() throws {
        let pki = try TestPKI()
        let key = try Ed25519PrivateKey.generate()
        let cert = try CertificateAuthority.selfSignedLeaf(key: key, binding: try pki.binding(for: key))
        #expect(throws: CertificateError.selfSigned) { try pki.trust.verify([cert], at: now, allowedRoles: Role.allCases) }
    }

    @Test func nodeIDThatIsNotTheKeyHashIsRefused() throws {
        let pki = try TestPKI()
        let other = try Ed25519PrivateKey.generate()
        let identity = try pki.node(mismatchedNodeID: other.nodeID)
        #expect(
            throws: CertificateError.nodeIDMismatch(certified: other.nodeID, ofKey: identity.key.nodeID)
        ) { try pki.trust.verify(identity.chain, at: now, allowedRoles: Role.allCases) }
    }

    @Test func roleThatMayNotConnectIsRefused() throws {
        let pki = try TestPKI()
        let identity = try pki.node(role: .operatorConsole)
        #expect(throws: CertificateError.wrongRole(certified: .operatorConsole, allowed: [.regional, .industry])) {
            try pki.trust.verify(identity.chain, at: now, allowedRoles: [.regional, .industry])
        }
    }

    @Test func revokedNodeIsRefused() throws {
        let pki = try TestPKI()
        let identity = try pki.node()
        var trust = try pki.trust
        trust.setRevocations([
            Revocation(node: identity.key.nodeID, certificateSerial: 0, revokedAt: .zero, reason: .keyCompromise)
        ])
        #expect(throws: CertificateError.revoked(identity.key.nodeID, reason: .keyCompromise)) {
            try trust.verify(identity.chain, at: now, allowedRoles: Role.allCases)
        }
    }

    @Test func operatorCannotIssueForAnotherOperatorName() throws {
        let pki = try TestPKI()
        let key = try Ed25519PrivateKey.generate()
        var binding = try pki.binding(for: key)
        binding.operatorName = "Someone Else"
        let cert = try CertificateAuthority.issueNode(
            publicKey: key.publicKey, binding: binding, operatorCertificate: pki.operatorCertificate, operatorKey: pki.operatorKey
        )
        #expect {
            try pki.trust.verify([cert, pki.operatorCertificate], at: now, allowedRoles: Role.allCases)
        } throws: { ($0 as? CertificateError).map { if case .badBinding = $0 { true } else { false } } ?? false }
    }
}
