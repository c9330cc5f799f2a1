import Foundation
import MeshCore
import MeshCrypto
import MeshTransport
import Synchronization

/// A node's certified identity as its files hold it: the key, the chain it is certified by and
/// the federation root, checked against the configuration. Read at start and again at every
/// SIGHUP, so that a renewed certificate is taken up without a restart.
struct NodeCredentials {
    var key: Ed25519PrivateKey
    var tls: TLSSetup
    var root: Certificate
    /// The leaf certificate's end of validity and serial.
    var expiry: Date?
    var serial: UInt64?

    /// The credentials `c` names, or nil when it names none (a plaintext node).
    static func load(_ c: ResolvedConfiguration) throws(RuntimeError) -> NodeCredentials? {
        guard let keyPath = c.keyPath, let certificatePath = c.certificatePath, let rootPath = c.rootPath else { return nil }
        do {
            let key = try Ed25519PrivateKey(contentsOf: keyPath)
            let chain = try Certificate.load(certificatePath)
            guard let root = try Certificate.load(rootPath).first else { throw RuntimeError("\(rootPath) holds no certificate") }
            guard let binding = try chain.first?.nodeBinding else {
                throw RuntimeError(
                    "\(certificatePath) is not a node certificate (no node binding): issue one with `meshctl cert issue`")
            }
            guard binding.nodeID == key.nodeID else {
                throw RuntimeError("\(certificatePath) certifies node \(binding.nodeID.hex), not the key in \(keyPath)")
            }
            guard binding.role == c.role, binding.region == c.region else {
                throw RuntimeError(
                    "the configuration says \(c.role) in \(c.region) but \(certificatePath) certifies \(binding.role) in \(binding.region)"
                )
            }
            let tls = try TLSSetup(identity: TLSIdentity(key: key, chain: chain), trust: FederationTrust(root: root))
            return NodeCredentials(key: key, tls: tls, root: root, expiry: chain.first?.notAfter, serial: chain.first?.serial)
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("cannot load the node's credentials: \(error)")
        }
    }
}

/// When the node's certificate expires: written on the node's loop at a renewal, read by the
/// metrics thread.
final class CertificateExpiry: Sendable {
    private let date: Mutex<Date?>
    init(_ date: Date?) { self.date = Mutex(date) }
    var value: Date? {
        get { date.withLock { $0 } }
        set { date.withLock { $0 = newValue } }
    }
}
