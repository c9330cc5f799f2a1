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

/// The ciphertext on either side of one TLS session, as OpenSSL sees it through ``CiphertextBIO``.
///
/// Inbound bytes are read by OpenSSL first from `inbound` (bytes the owner handed over and
/// OpenSSL has not consumed yet), then from `borrowed` (the owner's receive buffer, valid only
/// during one ``TLSEngine/readPlaintext(ciphertext:_:)`` call). Outbound records are appended to
/// `outbound` as OpenSSL writes them. Compared with a pair of memory BIOs this saves a copy each
/// way, the zero-fill of the destination and the BUF_MEM bookkeeping.
final class CiphertextBuffers {
    var inbound: [UInt8] = []
    var inboundOffset = 0
    var borrowed: UnsafeRawBufferPointer? = nil
    var borrowedOffset = 0
    var outbound: [UInt8] = []

    /// Ciphertext handed to the engine that OpenSSL has not read yet.
    var unreadCount: Int { inbound.count - inboundOffset + (borrowed.map { $0.count - borrowedOffset } ?? 0) }

    /// Copies up to `count` unread bytes to `destination`; 0 when there are none.
    func read(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        if inboundOffset < inbound.count {
            let n = min(count, inbound.count - inboundOffset)
            inbound.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + inboundOffset, byteCount: n) }
            inboundOffset += n
            if inboundOffset == inbound.count {
                inbound.removeAll(keepingCapacity: true)
                inboundOffset = 0
            }
            return n
        }
        if let borrowed, borrowedOffset < borrowed.count {
            let n = min(count, borrowed.count - borrowedOffset)
            destination.copyMemory(from: borrowed.baseAddress! + borrowedOffset, byteCount: n)
            borrowedOffset += n
            return n
        }
        return 0
    }

    /// Ends a borrow: what OpenSSL did not read is kept (copied) for the next call.
    func endBorrow() {
        if let borrowed, borrowedOffset < borrowed.count {
            if inboundOffset > 0 {
                inbound.removeSubrange(0..<inboundOffset)
                inboundOffset = 0
            }
            inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: borrowed[borrowedOffset...]))
        }
        borrowed = nil
        borrowedOffset = 0
    }
}

/// A source/sink BIO over ``CiphertextBuffers``: the engine's only I/O. Reads with nothing unread
/// say "retry" (like a non-blocking socket with no data), writes always succeed (the owner bounds
/// what it encrypts per call), flush succeeds.
enum CiphertextBIO {
    /// Created once per process; OpenSSL keeps BIO methods alive until exit.
    nonisolated(unsafe) static let method: OpaquePointer = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ComputeMesh ciphertext") else {
            fatalError("BIO_meth_new failed: out of memory")
        }
        _ = BIO_meth_set_write(method) { bio, data, length in
            guard let bio, let data, length > 0 else { return 0 }
            let buffers = CiphertextBIO.buffers(of: bio)
            buffers.outbound.append(
                contentsOf: UnsafeRawBufferPointer(start: data, count: Int(length)).assumingMemoryBound(to: UInt8.self))
            cmesh_bio_clear_retry_flags(bio)
            return length
        }
        _ = BIO_meth_set_read(method) { bio, data, length in
            guard let bio, let data, length > 0 else { return 0 }
            let n = CiphertextBIO.buffers(of: bio).read(into: data, count: Int(length))
            if n == 0 {
                cmesh_bio_set_retry_read(bio)
                return -1
            }
            cmesh_bio_clear_retry_flags(bio)
            return Int32(n)
        }
        _ = BIO_meth_set_ctrl(method) { bio, command, _, _ in
            guard let bio else { return 0 }
            switch command {
            case BIO_CTRL_FLUSH: return 1
            case BIO_CTRL_PENDING: return Int(CiphertextBIO.buffers(of: bio).unreadCount)
            case BIO_CTRL_WPENDING: return Int(CiphertextBIO.buffers(of: bio).outbound.count)
            default: return 0  // what a memory BIO answers for a control it does not implement
            }
        }
        _ = BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        return method
    }()

    static func buffers(of bio: OpaquePointer) -> CiphertextBuffers {
        Unmanaged<CiphertextBuffers>.fromOpaque(BIO_get_data(bio)!).takeUnretainedValue()
    }
}

/// One TLS session as a sans-I/O state machine: OpenSSL reads ciphertext from, and writes
/// records to, Swift buffers through ``CiphertextBIO``.
///
/// The owner feeds ciphertext from the network with ``receiveCiphertext(_:)`` (or lends it to
/// ``readPlaintext(ciphertext:_:)``), calls ``advance()`` until the handshake completes, then moves
/// application bytes with ``writePlaintext(_:)`` / ``readPlaintext(_:)``; whatever the engine wants
/// sent sits in ``takeCiphertext(into:)``. No sockets, so two engines can handshake through byte
/// arrays. Not thread-safe: one owner (the reactor thread) at a time.
public final class TLSEngine {
    let ssl: OpaquePointer
    /// Owned here; the BIO holds it unretained, and `SSL_free` (in deinit) frees the BIO first.
    private let buffers = CiphertextBuffers()
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
        let bio = BIO_new(CiphertextBIO.method)!
        BIO_set_data(bio, Unmanaged.passUnretained(buffers).toOpaque())
        // One BIO both ways: SSL_set_bio takes the one reference when rbio == wbio.
        SSL_set_bio(ssl, bio, bio)
        if context.isServer { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit { SSL_free(ssl) }

    /// Feeds bytes received from the network (copied; see ``readPlaintext(ciphertext:_:)`` for
    /// the path without a copy once the session is established).
    public func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        buffers.inbound.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Feeds bytes received from the network.
    public func receiveCiphertext(_ bytes: [UInt8]) { bytes.withUnsafeBytes { receiveCiphertext($0) } }

    /// Bytes the engine wants sent.
    public var pendingCiphertextCount: Int { buffers.outbound.count }

    /// Moves the bytes the engine wants sent to the end of `out` (into an empty `out` without a
    /// copy: the two arrays trade storage).
    public func takeCiphertext(into out: inout [UInt8]) {
        if buffers.outbound.isEmpty { return }
        if out.isEmpty {
            swap(&out, &buffers.outbound)
        } else {
            out.append(contentsOf: buffers.outbound)
            buffers.outbound.removeAll(keepingCapacity: true)
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
            clearErrorQueue()
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

    /// Decrypts `ciphertext` (the owner's receive buffer, read in place, after whatever was fed
    /// before) as far as whole records go, handing the plaintext to `sink` as in
    /// ``readPlaintext(_:)``. Bytes of a record not complete yet are kept for the next call, so
    /// the buffer may be reused as soon as this returns.
    @discardableResult
    public func readPlaintext(
        ciphertext: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) -> Void
    ) throws(TLSError) -> Int {
        precondition(buffers.borrowed == nil, "readPlaintext(ciphertext:) re-entered")
        buffers.borrowed = ciphertext
        defer { buffers.endBorrow() }
        return try readPlaintext(sink)
    }

    /// Decrypts whatever whole records have arrived and hands the plaintext to `sink` in pieces
    /// of up to 16 KiB (valid only during the call), so a caller can append it straight to its
    /// frame decoder. Returns the number of bytes handed over. Throws ``TLSError/closed`` on
    /// close_notify.
    @discardableResult
    public func readPlaintext(_ sink: (UnsafeRawBufferPointer) -> Void) throws(TLSError) -> Int {
        var total = 0
        // A successful SSL_read queues no error, so the queue is cleared once, not per call.
        clearErrorQueue()
        while true {
            let n = scratch.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n > 0 {
                scratch.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) }
                total += Int(n)
                // Nothing buffered in OpenSSL and no ciphertext left: the next SSL_read could only
                // report "want read", so skip it.
                if SSL_has_pending(ssl) == 0 && buffers.unreadCount == 0 { return total }
                continue
            }
            let code = SSL_get_error(ssl, n)
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return total }
            if code == SSL_ERROR_ZERO_RETURN { if total > 0 { return total } else { throw .closed } }
            throw .protocolError("SSL_read: \(drainOpenSSLErrors().joined(separator: "; "))")
        }
    }

    /// Empties this thread's OpenSSL error queue, which `SSL_get_error` needs before every I/O
    /// call. The queue is almost always empty already, and peeking is cheaper than clearing (which
    /// walks all 16 slots): it showed at half a percent of the TLS benchmark's CPU.
    @inline(__always)
    private func clearErrorQueue() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
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
