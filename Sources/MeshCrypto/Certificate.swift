internal import COpenSSL
public import Foundation
public import MeshCore

/// An X.509 certificate held by OpenSSL (an `X509`), immutable once made.
///
/// The federation's chain is root → admitted operator → node; every key is Ed25519. This type
/// reads the fields the mesh cares about; ``CertificateAuthority`` issues certificates and
/// ``FederationTrust`` verifies chains.
public final class Certificate: @unchecked Sendable, Equatable {
    let x509: OpaquePointer

    /// Takes ownership of one reference to `x509`.
    init(owning x509: OpaquePointer) { self.x509 = x509 }

    /// Adds a reference to `x509` and wraps it.
    init(retaining x509: OpaquePointer) {
        X509_up_ref(x509)
        self.x509 = x509
    }

    deinit { X509_free(x509) }

    /// Parses one PEM certificate (the first in `pem`).
    public convenience init(pem: [UInt8]) throws(CryptoError) {
        guard let parsed = withReadBIO(pem, { PEM_read_bio_X509($0, nil, nil, nil) }) else {
            throw .openSSL("parse PEM certificate")
        }
        self.init(owning: parsed)
    }

    /// Parses every certificate in a PEM bundle, in order.
    public static func all(pem: [UInt8]) throws(CryptoError) -> [Certificate] {
        var out: [Certificate] = []
        withReadBIO(pem) { bio in
            while let x = PEM_read_bio_X509(bio, nil, nil, nil) { out.append(Certificate(owning: x)) }
        }
        _ = drainOpenSSLErrors()  // the final read fails with "no start line" by design
        if out.isEmpty { throw CryptoError("the PEM holds no certificate") }
        return out
    }

    /// Loads the certificates of a PEM file.
    public static func load(_ path: String) throws(CryptoError) -> [Certificate] {
        do { return try all(pem: try readFile(path)) } catch { throw CryptoError("load \(path): \(error)") }
    }

    /// The PEM encoding.
    public var pem: [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_X509(bio, x509) == 1, "PEM-encode a certificate")
        return memoryBIOContents(bio)
    }

    /// The DER encoding.
    public var der: [UInt8] {
        var pointer: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509(x509, &pointer)
        precondition(length > 0, "DER-encode a certificate")
        defer { CRYPTO_free(pointer, #file, #line) }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.der == rhs.der }

    /// The serial number (we issue 63-bit serials).
    public var serial: UInt64 {
        var value: UInt64 = 0
        _ = ASN1_INTEGER_get_uint64(&value, X509_get0_serialNumber(x509))
        return value
    }

    /// The subject's common name.
    public var commonName: String { Certificate.commonName(X509_get_subject_name(x509)) }
    /// The issuer's common name.
    public var issuerCommonName: String { Certificate.commonName(X509_get_issuer_name(x509)) }

    static func commonName(_ name: OpaquePointer?) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        return n > 0 ? String(cString: buffer) : ""
    }

    /// Start of validity.
    public var notBefore: Date { Certificate.date(X509_get0_notBefore(x509)) }
    /// End of validity.
    public var notAfter: Date { Certificate.date(X509_get0_notAfter(x509)) }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var tm = tm()
        guard ASN1_TIME_to_tm(time, &tm) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }

    /// Whether the certificate may sign others (basicConstraints CA:TRUE).
    public var isAuthority: Bool { X509_check_ca(x509) != 0 }

    /// Whether the subject and issuer names match and the certificate verifies under its own key.
    public var isSelfSigned: Bool { X509_check_issued(x509, x509) == X509_V_OK }

    /// The subject's Ed25519 public key.
    public var publicKey: Ed25519PublicKey {
        get throws(CryptoError) {
            guard let key = X509_get_pubkey(x509) else { throw .openSSL("read the certificate's public key") }
            return try Ed25519PublicKey(owning: key)
        }
    }

    /// The raw `extnValue` of the extension `oid`, or nil if absent.
    func extensionValue(_ oid: String) -> [UInt8]? {
        guard let object = OBJ_txt2obj(oid, 1) else { return nil }
        defer { ASN1_OBJECT_free(object) }
        let index = X509_get_ext_by_OBJ(x509, object, -1)
        guard index >= 0, let ext = X509_get_ext(x509, index), let data = X509_EXTENSION_get_data(ext) else { return nil }
        let length = Int(ASN1_STRING_length(data))
        guard let base = ASN1_STRING_get0_data(data) else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: length))
    }

    /// The node binding, if this is a node certificate.
    public var nodeBinding: NodeBinding? {
        get throws(CryptoError) {
            guard let value = extensionValue(MeshOID.nodeBinding) else { return nil }
            return try NodeBinding(der: value)
        }
    }

    /// The operator binding, if this is an operator certificate.
    public var operatorBinding: OperatorBinding? {
        get throws(CryptoError) {
            guard let value = extensionValue(MeshOID.operatorBinding) else { return nil }
            return try OperatorBinding(der: value)
        }
    }
}

/// Writes certificates as one PEM bundle (leaf first) with mode 0644.
public func saveCertificates(_ certificates: [Certificate], to path: String) throws(CryptoError) {
    try writeFile(certificates.flatMap(\.pem), to: path, mode: 0o644)
}
