import Foundation
public import MeshCore
public import MeshCrypto
public import MeshTransport

// MARK: - Credentials

/// How the console proves who it is: an operator certificate directory, or plaintext.
public enum ConsoleCredentials: Sendable {
    /// A directory with node.key, node.pem and root.pem from `meshctl cert issue --role operator`.
    case directory(String)
    /// Plaintext, loopback only (nodes configured with `"plaintext": true`).
    case plaintext

    /// The transport configuration of a console with these credentials.
    public func transportConfiguration() throws -> TransportConfiguration {
        switch self {
        case .plaintext:
            let key = try Ed25519PrivateKey.generate()
            let identity = LocalIdentity(
                nodeID: key.nodeID, role: .operatorConsole, region: try Region("local"), software: "meshctl/1")
            return TransportConfiguration(identity: identity, tls: nil, allowPlaintext: true)
        case .directory(let dir):
            for file in ["node.key", "node.pem", "root.pem"] where !FileManager.default.fileExists(atPath: dir + "/" + file) {
                throw ConsoleError(
                    "\(dir)/\(file) is missing: --credentials names a directory made by "
                        + "`meshctl cert issue --role operator --operator OPERATOR_DIR --region REGION --out \(dir)`")
            }
            let key: Ed25519PrivateKey
            let chain: [Certificate]
            let root: Certificate
            do {
                key = try Ed25519PrivateKey(contentsOf: dir + "/node.key")
                chain = try Certificate.load(dir + "/node.pem")
                guard let first = try Certificate.load(dir + "/root.pem").first else {
                    throw ConsoleError("\(dir)/root.pem holds no certificate")
                }
                root = first
            } catch let error as CryptoError {
                throw ConsoleError("cannot read the credentials in \(dir): \(error.description)")
            }
            guard let leaf = chain.first, let binding = try leaf.nodeBinding else {
                throw ConsoleError("\(dir)/node.pem is not a ComputeMesh node certificate")
            }
            guard binding.role == .operatorConsole else {
                throw ConsoleError(
                    "\(dir)/node.pem is a \(binding.role) node's certificate; a console needs one issued with --role operator")
            }
            guard binding.nodeID == key.nodeID else {
                throw ConsoleError("\(dir)/node.key does not belong to \(dir)/node.pem: issue the certificate again")
            }
            let tls: TLSSetup
            do {
                tls = try TLSSetup(identity: TLSIdentity(key: key, chain: chain), trust: try FederationTrust(root: root))
            } catch {
                throw ConsoleError("cannot set up TLS with the credentials in \(dir): \(error.description)")
            }
            let identity = LocalIdentity(
                nodeID: key.nodeID, role: .operatorConsole, region: binding.region, software: "meshctl/1")
            return TransportConfiguration(identity: identity, tls: tls)
        }
    }
}
