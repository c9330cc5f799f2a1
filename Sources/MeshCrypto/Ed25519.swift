internal import COpenSSL
import Foundation
public import MeshCore

/// An Ed25519 key pair held by OpenSSL (an `EVP_PKEY`).
///
/// Nodes, operators and the federation root all use Ed25519: small keys, fast signatures, no
/// parameters to get wrong. The NodeID of a node is the SHA-256 of its 32-byte public key.
/// Immutable after creation, so it may be shared between threads.
public final class Ed25519PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer

    private init(pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// Generates a fresh key from OpenSSL's CSPRNG.
    public static func generate() throws(CryptoError) -> Ed25519PrivateKey {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else { throw .openSSL("create Ed25519 key context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &pkey) == 1, let pkey else {
            throw .openSSL("generate Ed25519 key")
        }
        return Ed25519PrivateKey(pkey: pkey)
    }

    /// Parses a PKCS#8 PEM private key; refuses any key type other than Ed25519.
    public init(pem: [UInt8]) throws(CryptoError) {
        let parsed = withReadBIO(pem) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let parsed else { throw .openSSL("parse PEM private key") }
        guard EVP_PKEY_get_id(parsed) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(parsed)
            throw CryptoError("the private key is not Ed25519; the federation uses Ed25519 keys only")
        }
        pkey = parsed
    }

    /// Loads a PEM private key file.
    public convenience init(contentsOf path: String) throws(CryptoError) {
        let bytes = try readFile(path)
        do { try self.init(pem: bytes) } catch { throw CryptoError("load \(path): \(error)") }
    }

    /// The PKCS#8 PEM encoding (unencrypted: protect the file, see ``save(to:)``).
    public var pem: [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1, "PEM-encode an Ed25519 key")
        return memoryBIOContents(bio)
    }

    /// Writes the PEM to `path` with mode 0600.
    public func save(to path: String) throws(CryptoError) { try writeFile(pem, to: path, mode: 0o600) }

    /// The public half.
    public var publicKey: Ed25519PublicKey { try! Ed25519PublicKey(rawBytes: rawPublicKey(pkey)) }

    /// The NodeID this key would have as a node: SHA-256 of the raw public key.
    public var nodeID: NodeID { publicKey.nodeID }

    /// Signs `message` (pure Ed25519, no pre-hash); the signature is 64 bytes.
    public func sign(_ message: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(message)
        let ctx = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(ctx) }
        precondition(EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1, "Ed25519 sign init: \(drainOpenSSLErrors())")
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        let ok = bytes.withUnsafeBufferPointer { EVP_DigestSign(ctx, &signature, &length, $0.baseAddress, $0.count) }
        precondition(ok == 1 && length == 64, "Ed25519 sign: \(drainOpenSSLErrors())")
        return signature
    }
}

/// An Ed25519 public key.
public final class Ed25519PublicKey: @unchecked Sendable, Equatable {
    let pkey: OpaquePointer
    /// The 32 raw bytes.
    public let rawBytes: [UInt8]

    /// Wraps 32 raw bytes.
    public init(rawBytes: [UInt8]) throws(CryptoError) {
        guard rawBytes.count == 32 else { throw CryptoError("an Ed25519 public key is 32 bytes, got \(rawBytes.count)") }
        guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawBytes, 32) else {
            throw .openSSL("load Ed25519 public key")
        }
        self.pkey = pkey
        self.rawBytes = rawBytes
    }

    /// Takes ownership of an `EVP_PKEY` (one reference).
    init(owning pkey: OpaquePointer) throws(CryptoError) {
        guard EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(pkey)
            throw CryptoError("the key is not Ed25519")
        }
        self.pkey = pkey
        self.rawBytes = rawPublicKey(pkey)
    }

    deinit { EVP_PKEY_free(pkey) }

    /// SHA-256 of the raw key.
    public var nodeID: NodeID { NodeID(ed25519PublicKey: rawBytes) }

    /// Whether `signature` is a valid Ed25519 signature of `message` under this key.
    public func isValidSignature(_ signature: [UInt8], for message: some Collection<UInt8>) -> Bool {
        guard signature.count == 64 else { return false }
        let bytes = Array(message)
        let ctx = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else { return false }
        let ok = bytes.withUnsafeBufferPointer { EVP_DigestVerify(ctx, signature, 64, $0.baseAddress, $0.count) }
        _ = drainOpenSSLErrors()
        return ok == 1
    }

    public static func == (lhs: Ed25519PublicKey, rhs: Ed25519PublicKey) -> Bool { lhs.rawBytes == rhs.rawBytes }
}

func rawPublicKey(_ pkey: OpaquePointer) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length = 32
    precondition(EVP_PKEY_get_raw_public_key(pkey, &out, &length) == 1 && length == 32, "raw Ed25519 public key")
    return out
}

/// SHA-256 through OpenSSL, for cross-checking MeshCore's pure implementation.
public enum OpenSSLDigest {
    /// The SHA-256 digest of `message`.
    public static func sha256(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        precondition(EVP_Digest(message, message.count, &out, &length, EVP_sha256(), nil) == 1, "SHA-256")
        return out
    }
}
