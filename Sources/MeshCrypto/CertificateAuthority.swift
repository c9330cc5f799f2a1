internal import COpenSSL
public import Foundation
public import MeshCore

/// Issues the federation's certificates: the self-signed root, admitted operators' intermediate
/// certificates, and node certificates under an operator.
///
/// Every certificate is X.509 v3, Ed25519-signed, with a random 63-bit serial. Validity is given
/// explicitly so that tests can make expired and not-yet-valid certificates.
public enum CertificateAuthority {
    /// The validity of a certificate.
    public struct Validity: Sendable, Equatable {
        public var notBefore: Date
        public var notAfter: Date

        public init(notBefore: Date, notAfter: Date) {
            precondition(notBefore < notAfter, "validity must start before it ends: \(notBefore) ..< \(notAfter)")
            self.notBefore = notBefore
            self.notAfter = notAfter
        }

        /// From `start` (default: now, less five minutes for clock skew) for `days`.
        public static func days(_ days: Int, from start: Date = Date().addingTimeInterval(-300)) -> Validity {
            Validity(notBefore: start, notAfter: start.addingTimeInterval(TimeInterval(days) * 86_400))
        }
    }

    /// A self-signed federation root: CA, may sign operator certificates only (pathlen 1).
    public static func makeRoot(
        key: Ed25519PrivateKey, name: String = "ComputeMesh Federation Root", validity: Validity = .days(3650)
    ) throws(CryptoError) -> Certificate {
        try build(
            subjectName: name, subjectKey: key.pkey, issuer: nil, issuerKey: key, validity: validity,
            constraints: "critical,CA:TRUE,pathlen:1", keyUsage: "critical,keyCertSign,cRLSign", binding: nil)
    }

    /// An admitted operator's certificate: CA under the root, may sign node certificates only.
    public static func issueOperator(
        publicKey: Ed25519PublicKey, binding: OperatorBinding, root: Certificate, rootKey: Ed25519PrivateKey,
        validity: Validity = .days(1095)
    ) throws(CryptoError) -> Certificate {
        try build(
            subjectName: binding.operatorName, subjectKey: publicKey.pkey, issuer: root, issuerKey: rootKey,
            validity: validity, constraints: "critical,CA:TRUE,pathlen:0", keyUsage: "critical,keyCertSign,cRLSign",
            binding: (MeshOID.operatorBinding, binding.der))
    }

    /// A node certificate under an operator. The binding's NodeID must be the hash of
    /// `publicKey` unless `allowMismatchedNodeID` (tests only: it makes a certificate the
    /// verifier must refuse).
    public static func issueNode(
        publicKey: Ed25519PublicKey, binding: NodeBinding, operatorCertificate: Certificate, operatorKey: Ed25519PrivateKey,
        validity: Validity = .days(365), allowMismatchedNodeID: Bool = false
    ) throws(CryptoError) -> Certificate {
        if !allowMismatchedNodeID && binding.nodeID != publicKey.nodeID {
            throw CryptoError(
                "the binding names NodeID \(binding.nodeID.short), but the key's NodeID is \(publicKey.nodeID.short)")
        }
        return try build(
            subjectName: binding.nodeID.hex, subjectKey: publicKey.pkey, issuer: operatorCertificate, issuerKey: operatorKey,
            validity: validity, constraints: "critical,CA:FALSE", keyUsage: "critical,digitalSignature",
            binding: (MeshOID.nodeBinding, binding.der), extendedKeyUsage: "serverAuth,clientAuth")
    }

    /// A self-signed certificate that is not a CA (tests: the "self-signed client" case).
    public static func selfSignedLeaf(
        key: Ed25519PrivateKey, binding: NodeBinding, validity: Validity = .days(30)
    )
        throws(CryptoError) -> Certificate
    {
        try build(
            subjectName: binding.nodeID.hex, subjectKey: key.pkey, issuer: nil, issuerKey: key, validity: validity,
            constraints: "critical,CA:FALSE", keyUsage: "critical,digitalSignature", binding: (MeshOID.nodeBinding, binding.der),
            extendedKeyUsage: "serverAuth,clientAuth")
    }

    private static func build(
        subjectName: String, subjectKey: OpaquePointer, issuer: Certificate?, issuerKey: Ed25519PrivateKey,
        validity: Validity, constraints: String, keyUsage: String, binding: (oid: String, der: [UInt8])?,
        extendedKeyUsage: String? = nil
    ) throws(CryptoError) -> Certificate {
        guard let x = X509_new() else { throw .openSSL("allocate a certificate") }
        let cert = Certificate(owning: x)
        guard X509_set_version(x, 2) == 1 else { throw .openSSL("set version") }
        var serialBytes = [UInt8](repeating: 0, count: 8)
        guard RAND_bytes(&serialBytes, 8) == 1 else { throw .openSSL("draw a serial") }
        let serial = serialBytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & 0x7FFF_FFFF_FFFF_FFFF | 1
        guard ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1 else { throw .openSSL("set serial") }
        guard let name = X509_NAME_new() else { throw .openSSL("allocate a name") }
        defer { X509_NAME_free(name) }
        guard X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, subjectName, -1, -1, 0) == 1 else {
            throw .openSSL("set the subject name '\(subjectName)'")
        }
        guard X509_set_subject_name(x, name) == 1 else { throw .openSSL("set subject") }
        guard X509_set_issuer_name(x, issuer.map { X509_get_subject_name($0.x509) } ?? name) == 1 else {
            throw .openSSL("set issuer")
        }
        for (date, setter) in [(validity.notBefore, X509_set1_notBefore), (validity.notAfter, X509_set1_notAfter)] {
            guard let t = ASN1_TIME_set(nil, time_t(date.timeIntervalSince1970.rounded(.down))) else {
                throw .openSSL("encode time \(date)")
            }
            defer { ASN1_STRING_free(t) }
            guard setter(x, t) == 1 else { throw .openSSL("set validity") }
        }
        guard X509_set_pubkey(x, subjectKey) == 1 else { throw .openSSL("set public key") }

        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuer?.x509 ?? x, x, nil, nil, 0)
        var standard: [(Int32, String)] = [
            (NID_basic_constraints, constraints), (NID_key_usage, keyUsage), (NID_subject_key_identifier, "hash"),
        ]
        if issuer != nil { standard.append((NID_authority_key_identifier, "keyid:always")) }
        if let extendedKeyUsage { standard.append((NID_ext_key_usage, extendedKeyUsage)) }
        for (nid, value) in standard {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else { throw .openSSL("make extension \(value)") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x, ext, -1) == 1 else { throw .openSSL("add extension \(value)") }
        }
        if let binding {
            guard let object = OBJ_txt2obj(binding.oid, 1), let octets = ASN1_OCTET_STRING_new() else {
                throw .openSSL("make the binding extension")
            }
            defer {
                ASN1_OBJECT_free(object)
                ASN1_OCTET_STRING_free(octets)
            }
            guard ASN1_OCTET_STRING_set(octets, binding.der, Int32(binding.der.count)) == 1,
                let ext = X509_EXTENSION_create_by_OBJ(nil, object, 0, octets)
            else { throw .openSSL("make the binding extension") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x, ext, -1) == 1 else { throw .openSSL("add the binding extension") }
        }
        guard X509_sign(x, issuerKey.pkey, nil) > 0 else { throw .openSSL("sign the certificate") }
        return cert
    }
}
