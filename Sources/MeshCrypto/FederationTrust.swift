internal import COpenSSL
public import Foundation
public import MeshCore

/// Why a peer's certificate chain was refused. Each case says what to fix.
public enum CertificateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer presented no certificate.
    case noCertificate
    case expired(notAfter: Date)
    case notYetValid(notBefore: Date)
    /// The chain does not lead to the federation root (another root, or a broken signature).
    case foreignRoot(detail: String)
    /// A lone self-signed certificate.
    case selfSigned
    /// The NodeID bound in the certificate is not the hash of the certificate's key.
    case nodeIDMismatch(certified: NodeID, ofKey: NodeID)
    /// The certified role may not connect here.
    case wrongRole(certified: Role, allowed: [Role])
    /// The NodeID (or the certificate's serial) is on the root-signed revocation list.
    case revoked(NodeID, reason: RevocationReason)
    /// The leaf carries no node binding, or it names another operator than its issuer.
    case badBinding(String)
    /// Any other verification failure, with OpenSSL's reason.
    case invalid(String)

    public var description: String {
        switch self {
        case .noCertificate: "the peer presented no certificate; nodes must present their node certificate"
        case .expired(let date): "the certificate expired at \(date); issue a new one with `meshctl cert issue`"
        case .notYetValid(let date): "the certificate is not valid before \(date); check the clocks"
        case .foreignRoot(let detail): "the certificate is not under the federation root (\(detail))"
        case .selfSigned: "the certificate is self-signed; it must be issued by an admitted operator"
        case .nodeIDMismatch(let certified, let key):
            "the certificate binds NodeID \(certified.short) but its key hashes to \(key.short)"
        case .wrongRole(let role, let allowed):
            "a \(role) certificate may not connect here (allowed: \(allowed.map(\.description).joined(separator: ", ")))"
        case .revoked(let node, let reason): "node \(node.short) is revoked (\(reason))"
        case .badBinding(let detail): "the certificate's ComputeMesh binding is unusable: \(detail)"
        case .invalid(let detail): "the certificate chain is invalid: \(detail)"
        }
    }

    /// Maps an OpenSSL `X509_V_ERR_*` code (from a failed chain verification) to a case.
    public static func fromVerifyResult(_ code: Int, notBefore: Date?, notAfter: Date?) -> CertificateError {
        switch Int32(code) {
        case X509_V_ERR_CERT_HAS_EXPIRED: .expired(notAfter: notAfter ?? .distantPast)
        case X509_V_ERR_CERT_NOT_YET_VALID: .notYetValid(notBefore: notBefore ?? .distantFuture)
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: .selfSigned
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            .foreignRoot(detail: String(cString: X509_verify_cert_error_string(code)))
        default: .invalid(String(cString: X509_verify_cert_error_string(code)))
        }
    }
}

/// A peer whose chain verified: who it is and what it may do.
public struct VerifiedPeer: Sendable, Equatable {
    public var binding: NodeBinding
    public var certificateSerial: UInt64
    public var notAfter: Date
}

/// What a node trusts: the federation root, and the revocations it has accepted.
///
/// Verification has two halves, so that the TLS engine can run the first inside the handshake:
/// ``verifyChain(_:at:)`` checks signatures up to the root and validity (OpenSSL), then
/// ``checkBinding(chain:allowedRoles:)`` checks what OpenSSL cannot know: the NodeID is the hash
/// of the certified key, the operator named in the leaf is its issuer, the role may connect
/// here, and the node is not revoked.
public struct FederationTrust: Sendable {
    public let root: Certificate
    /// Revoked NodeIDs with their reasons (sorted by NodeID for deterministic output).
    public private(set) var revoked: [NodeID: RevocationReason] = [:]
    /// Revoked certificate serials.
    public private(set) var revokedSerials: Set<UInt64> = []

    /// - Throws: if `root` is not a self-signed CA certificate.
    public init(root: Certificate) throws(CryptoError) {
        guard root.isAuthority, root.isSelfSigned else { throw CryptoError("the federation root must be a self-signed CA") }
        self.root = root
    }

    /// The issuer hash used in revocation lists: SHA-256 of the root's raw public key.
    public var rootID: NodeID { get throws(CryptoError) { try root.publicKey.nodeID } }

    /// Replaces the revocations in force (after the caller has verified the list's signature).
    public mutating func setRevocations(_ entries: [Revocation]) {
        revoked = [:]
        revokedSerials = []
        for entry in entries {
            revoked[entry.node] = entry.reason
            revokedSerials.insert(entry.certificateSerial)
        }
    }

    /// Checks `chain` (leaf first, then the operator certificate) up to the root at `time`.
    public func verifyChain(_ chain: [Certificate], at time: Date) throws(CertificateError) {
        guard let leaf = chain.first else { throw .noCertificate }
        let store = X509_STORE_new()!
        defer { X509_STORE_free(store) }
        X509_STORE_add_cert(store, root.x509)
        let untrusted = cmesh_sk_x509_new()!
        defer { cmesh_sk_x509_free(untrusted) }
        for c in chain.dropFirst() { _ = cmesh_sk_x509_push(untrusted, c.x509) }
        let ctx = X509_STORE_CTX_new()!
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leaf.x509, untrusted) == 1 else {
            throw .invalid("cannot set up verification: \(drainOpenSSLErrors())")
        }
        X509_STORE_CTX_set_time(ctx, 0, time_t(time.timeIntervalSince1970))
        X509_STORE_CTX_set_depth(ctx, 2)
        if X509_verify_cert(ctx) != 1 {
            let code = Int(X509_STORE_CTX_get_error(ctx))
            let failing = X509_STORE_CTX_get_current_cert(ctx).map { Certificate(retaining: $0) } ?? leaf
            _ = drainOpenSSLErrors()
            throw .fromVerifyResult(code, notBefore: failing.notBefore, notAfter: failing.notAfter)
        }
    }

    /// Checks the ComputeMesh facts of a chain that OpenSSL already verified.
    public func checkBinding(chain: [Certificate], allowedRoles: [Role]) throws(CertificateError) -> VerifiedPeer {
        guard let leaf = chain.first else { throw .noCertificate }
        let binding: NodeBinding
        do {
            guard let b = try leaf.nodeBinding else { throw CertificateError.badBinding("no node binding extension") }
            binding = b
        } catch let error as CertificateError {
            throw error
        } catch {
            throw .badBinding("\(error)")
        }
        let keyID: NodeID
        do { keyID = try leaf.publicKey.nodeID } catch { throw .badBinding("\(error)") }
        guard keyID == binding.nodeID else { throw .nodeIDMismatch(certified: binding.nodeID, ofKey: keyID) }
        if chain.count > 1 {
            let issuer = chain[1]
            let operatorBinding: OperatorBinding?
            do { operatorBinding = try issuer.operatorBinding } catch { throw .badBinding("\(error)") }
            guard let operatorBinding, operatorBinding.operatorName == binding.operatorName,
                operatorBinding.licenceNumber == binding.licenceNumber
            else {
                throw .badBinding("the leaf names operator '\(binding.operatorName)', its issuer is '\(issuer.commonName)'")
            }
        }
        if let reason = revoked[binding.nodeID] { throw .revoked(binding.nodeID, reason: reason) }
        if revokedSerials.contains(leaf.serial) { throw .revoked(binding.nodeID, reason: .unspecified) }
        guard allowedRoles.contains(binding.role) else { throw .wrongRole(certified: binding.role, allowed: allowedRoles) }
        return VerifiedPeer(binding: binding, certificateSerial: leaf.serial, notAfter: leaf.notAfter)
    }

    /// Both halves.
    public func verify(_ chain: [Certificate], at time: Date, allowedRoles: [Role]) throws(CertificateError) -> VerifiedPeer {
        try verifyChain(chain, at: time)
        return try checkBinding(chain: chain, allowedRoles: allowedRoles)
    }
}

/// Signing and checking the root-signed revocation list.
///
/// The signed message is the domain tag `"computemesh revocation list v1\0"` followed by the
/// wire encoding of the REVOCATION_LIST body with an empty signature field. The caller (who has
/// MeshWire) produces that encoding; see `RevocationList.unsignedEncoding` in MeshTransport.
public enum RevocationSigning {
    /// Separates these signatures from any other use of the root key.
    public static let domainTag: [UInt8] = Array("computemesh revocation list v1".utf8) + [0]

    /// Signs the unsigned encoding with the root key.
    public static func sign(unsignedEncoding: [UInt8], rootKey: Ed25519PrivateKey) -> [UInt8] {
        rootKey.sign(domainTag + unsignedEncoding)
    }

    /// Whether `signature` is the root's over the unsigned encoding.
    public static func isValid(signature: [UInt8], unsignedEncoding: [UInt8], root: Certificate) -> Bool {
        guard let key = try? root.publicKey else { return false }
        return key.isValidSignature(signature, for: domainTag + unsignedEncoding)
    }
}
