internal import COpenSSL
import Foundation
public import MeshCore

/// A node's TLS identity: its key and its chain (node certificate, then its operator's).
public struct TLSIdentity: Sendable {
    public var key: Ed25519PrivateKey
    /// Leaf first; the operator certificate follows so that peers can build the path to the root.
    public var chain: [Certificate]

    public init(key: Ed25519PrivateKey, chain: [Certificate]) {
        precondition(!chain.isEmpty, "a TLS identity needs at least its own certificate")
        self.key = key
        self.chain = chain
    }
}

/// Why a TLS session failed.
public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The handshake failed; `certificate` says why when the peer's chain was refused.
    case handshakeFailed(String, certificate: CertificateError?)
    /// The peer's chain verified but its ComputeMesh binding did not (see ``FederationTrust``).
    case peerRefused(CertificateError)
    /// A record-layer failure after the handshake.
    case protocolError(String)
    /// The peer sent close_notify.
    case closed

    public var description: String {
        switch self {
        case .handshakeFailed(let detail, let cert?): "TLS handshake failed: \(cert) (\(detail))"
        case .handshakeFailed(let detail, nil): "TLS handshake failed: \(detail)"
        case .peerRefused(let cert): "peer refused: \(cert)"
        case .protocolError(let detail): "TLS error: \(detail)"
        case .closed: "the peer closed the TLS session"
        }
    }
}

/// Shared TLS configuration for one side (server or client): TLS 1.3 only, no session tickets,
/// no resumption, no 0-RTT, a peer certificate required and verified against the federation root.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let isServer: Bool
    /// The trust used for the post-handshake binding check.
    public let trust: FederationTrust

    /// The TLS 1.3 cipher suites offered and accepted, in order of preference.
    public static let cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    public init(identity: TLSIdentity, trust: FederationTrust, isServer: Bool) throws(CryptoError) {
        guard let ctx = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else {
            throw .openSSL("create TLS context")
        }
        self.ctx = ctx
        self.isServer = isServer
        self.trust = trust
        guard cmesh_ssl_ctx_tls13_only(ctx) == 1 else { throw .openSSL("restrict to TLS 1.3") }
        SSL_CTX_set_options(ctx, cmesh_ssl_op_no_ticket() | cmesh_ssl_op_no_renegotiation())
        _ = SSL_CTX_set_num_tickets(ctx, 0)
        _ = SSL_CTX_set_max_early_data(ctx, 0)
        _ = cmesh_ssl_ctx_no_session_cache(ctx)
        // TLS_AES_128_GCM_SHA256 first: the suite every TLS 1.3 implementation must support
        // (RFC 8446 §9.1), and on AES-NI hardware a quarter faster than AES-256-GCM for the same
        // bytes (openssl speed, 8 KiB records, on this project's machines). AES-256-GCM and
        // ChaCha20-Poly1305 stay allowed for peers that offer only them.
        guard SSL_CTX_set_ciphersuites(ctx, TLSContext.cipherSuites) == 1 else { throw .openSSL("set the TLS 1.3 cipher suites") }
        guard SSL_CTX_use_certificate(ctx, identity.chain[0].x509) == 1,
            SSL_CTX_use_PrivateKey(ctx, identity.key.pkey) == 1, SSL_CTX_check_private_key(ctx) == 1
        else { throw .openSSL("load the TLS identity (does the key match the certificate?)") }
        for intermediate in identity.chain.dropFirst() {
            guard cmesh_ssl_ctx_add1_chain_cert(ctx, intermediate.x509) == 1 else { throw .openSSL("add chain certificate") }
        }
        let store = SSL_CTX_get_cert_store(ctx)
        guard X509_STORE_add_cert(store, trust.root.x509) == 1 else { throw .openSSL("trust the federation root") }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        SSL_CTX_set_verify_depth(ctx, 2)
    }

    deinit { SSL_CTX_free(ctx) }
}

/// One TLS session as a sans-I/O state machine over two memory BIOs.
///
/// The owner feeds ciphertext from the network with ``receiveCiphertext(_:)``, calls
/// ``advance()`` until the handshake completes, then moves application bytes with
/// ``writePlaintext(_:)`` / ``readPlaintext(into:)``; whatever the engine wants sent sits in
/// ``takeCiphertext(into:)``. No sockets, so two engines can handshake through byte arrays.
/// Not thread-safe: one owner (the reactor thread) at a time.
public final class TLSEngine {
    let ssl: OpaquePointer
    let readBIO: OpaquePointer
    let writeBIO: OpaquePointer
    public let context: TLSContext
    /// True once the handshake finished and the peer's binding was checked.
    public private(set) var isEstablished = false
    /// The verified peer, once established.
    public private(set) var peer: VerifiedPeer? = nil
    /// The binding check failed: the session is up, but the peer must be refused (REJECT).
    public private(set) var peerRefusal: CertificateError? = nil
    private var scratch = [UInt8](repeating: 0, count: 16 << 10)

    /// The roles this side accepts from the peer (checked after the handshake).
    public let allowedPeerRoles: [Role]

    public init(context: TLSContext, allowedPeerRoles: [Role] = Role.allCases) {
        self.context = context
        self.allowedPeerRoles = allowedPeerRoles
        ssl = SSL_new(context.ctx)!
        readBIO = BIO_new(BIO_s_mem())!
        writeBIO = BIO_new(BIO_s_mem())!
        _ = cmesh_bio_set_mem_eof_return(readBIO, -1)
        _ = cmesh_bio_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        if context.isServer { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit { SSL_free(ssl) }

    /// Feeds bytes received from the network.
    public func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let n = BIO_write(readBIO, bytes.baseAddress, Int32(bytes.count))
        precondition(n == Int32(bytes.count), "memory BIO write of \(bytes.count) bytes returned \(n)")
    }

    /// Feeds bytes received from the network.
    public func receiveCiphertext(_ bytes: [UInt8]) { bytes.withUnsafeBytes { receiveCiphertext($0) } }

    /// Bytes the engine wants sent.
    public var pendingCiphertextCount: Int { Int(cmesh_bio_pending(writeBIO)) }

    /// Moves the bytes the engine wants sent to the end of `out`.
    public func takeCiphertext(into out: inout [UInt8]) {
        while true {
            let pending = Int(cmesh_bio_pending(writeBIO))
            if pending == 0 { return }
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: pending))
            let n = out.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress! + start, Int32(pending)) }
            out.removeLast(pending - Int(max(n, 0)))
            if n <= 0 { return }
        }
    }

    /// Drives the handshake with the bytes fed so far. Returns true once established (then the
    /// caller checks ``peerRefusal``).
    @discardableResult
    public func advance() throws(TLSError) -> Bool {
        if isEstablished { return true }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isEstablished = true
            let chain = peerChain
            do {
                peer = try context.trust.checkBinding(chain: chain, allowedRoles: allowedPeerRoles)
            } catch {
                peerRefusal = error
            }
            return true
        }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return false }
        throw handshakeFailure()
    }

    private func handshakeFailure() -> TLSError {
        let errors = drainOpenSSLErrors()
        let detail = errors.isEmpty ? "the connection closed during the handshake" : errors.joined(separator: "; ")
        let verify = Int(SSL_get_verify_result(ssl))
        if verify != Int(X509_V_OK) {
            let cert = cmesh_ssl_peer_certificate(ssl).map { Certificate(owning: $0) }
            return .handshakeFailed(
                detail, certificate: .fromVerifyResult(verify, notBefore: cert?.notBefore, notAfter: cert?.notAfter))
        }
        if detail.contains("peer did not return a certificate") { return .handshakeFailed(detail, certificate: .noCertificate) }
        return .handshakeFailed(detail, certificate: nil)
    }

    /// The peer's chain as verified (leaf first, root last); empty before the handshake.
    public var peerChain: [Certificate] {
        guard let stack = SSL_get0_verified_chain(ssl) else { return [] }
        return (0..<cmesh_sk_x509_num(stack)).map { Certificate(retaining: cmesh_sk_x509_value(stack, $0)) }
    }

    /// Encrypts `bytes` (after the handshake); the records wait in ``takeCiphertext(into:)``.
    public func writePlaintext(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        precondition(isEstablished, "writePlaintext before the handshake completed")
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let n = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, 1 << 30)))
            if n <= 0 { throw .protocolError("SSL_write: \(drainOpenSSLErrors().joined(separator: "; "))") }
            offset += Int(n)
        }
    }

    /// Encrypts `bytes`.
    public func writePlaintext(_ bytes: [UInt8]) throws(TLSError) {
        var failure: TLSError? = nil
        bytes.withUnsafeBytes { b in
            do throws(TLSError) { try writePlaintext(b) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Decrypts whatever whole records have arrived, appending the plaintext to `out`. Returns
    /// the number of bytes appended. Throws ``TLSError/closed`` on close_notify.
    @discardableResult
    public func readPlaintext(into out: inout [UInt8]) throws(TLSError) -> Int {
        try readPlaintext { out.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }
    }

    /// Decrypts whatever whole records have arrived and hands the plaintext to `sink` in pieces
    /// of up to 16 KiB (valid only during the call), so a caller can append it straight to its
    /// frame decoder. Returns the number of bytes handed over. Throws ``TLSError/closed`` on
    /// close_notify.
    @discardableResult
    public func readPlaintext(_ sink: (UnsafeRawBufferPointer) -> Void) throws(TLSError) -> Int {
        var total = 0
        // A successful SSL_read queues no error, so the queue is cleared once, not per call.
        ERR_clear_error()
        while true {
            let n = scratch.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n > 0 {
                scratch.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) }
                total += Int(n)
                // Nothing buffered in OpenSSL and no ciphertext left: the next SSL_read could only
                // report "want read", so skip it.
                if SSL_has_pending(ssl) == 0 && cmesh_bio_pending(readBIO) == 0 { return total }
                continue
            }
            let code = SSL_get_error(ssl, n)
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return total }
            if code == SSL_ERROR_ZERO_RETURN { if total > 0 { return total } else { throw .closed } }
            throw .protocolError("SSL_read: \(drainOpenSSLErrors().joined(separator: "; "))")
        }
    }

    /// Queues close_notify.
    public func close() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        _ = drainOpenSSLErrors()
    }

    /// The negotiated cipher suite, e.g. "TLS_AES_128_GCM_SHA256" (empty before the handshake).
    public var cipherSuite: String {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "" }
        return String(cString: name)
    }

    /// The negotiated protocol version, e.g. "TLSv1.3".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }
}
