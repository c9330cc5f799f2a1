public import MeshCrypto
public import MeshWire

extension RevocationList {
    /// The wire encoding of the body with an empty signature field: what the root signs.
    public var unsignedEncoding: [UInt8] {
        var copy = self
        copy.signature = []
        var writer = WireWriter()
        copy.encode(to: &writer)
        return writer.bytes
    }

    /// Signs the list with the federation root's key.
    public mutating func sign(with rootKey: Ed25519PrivateKey) {
        signature = RevocationSigning.sign(unsignedEncoding: unsignedEncoding, rootKey: rootKey)
    }

    /// Whether the signature is the root's over ``unsignedEncoding``.
    public func hasValidSignature(root: Certificate) -> Bool {
        RevocationSigning.isValid(signature: signature, unsignedEncoding: unsignedEncoding, root: root)
    }
}
