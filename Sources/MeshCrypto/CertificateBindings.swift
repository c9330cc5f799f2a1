public import MeshCore

// MARK: - Extension OIDs

/// Where ComputeMesh's facts live in its X.509 certificates.
///
/// Two private, non-critical extensions under a UUID-derived arc (ITU-T X.667: `2.25.<UUID>` may
/// be used by anyone without registration). Their `extnValue` holds our own DER, decoded by
/// ``DER``; see ``NodeBinding`` and ``OperatorBinding`` for the ASN.1.
public enum MeshOID {
    /// The arc: `2.25.49391889898838961505650342806771198039`.
    public static let arc = "2.25.49391889898838961505650342806771198039"
    /// The operator binding in an admitted operator's certificate.
    public static let operatorBinding = arc + ".1"
    /// The node binding in a node certificate.
    public static let nodeBinding = arc + ".2"
}

// MARK: - Operator binding

/// What the authority's admission established about an operator, carried in its certificate.
///
/// ```
/// OperatorBinding ::= SEQUENCE {
///     version            INTEGER (1),
///     operatorName       UTF8String (SIZE (1..128)),
///     licenceNumber      UTF8String (SIZE (0..64)),   -- empty for a public institution
///     publicInstitution  BOOLEAN }
/// ```
public struct OperatorBinding: Hashable, Sendable, Codable {
    public var operatorName: String
    /// The telecom business licence number; empty for a public institution.
    public var licenceNumber: String
    public var publicInstitution: Bool

    public init(operatorName: String, licenceNumber: String, publicInstitution: Bool) {
        self.operatorName = operatorName
        self.licenceNumber = licenceNumber
        self.publicInstitution = publicInstitution
    }

    /// The DER encoding.
    public var der: [UInt8] {
        DER.tlv(
            DER.sequence,
            DER.unsigned(DER.integer, 1) + DER.utf8(operatorName) + DER.utf8(licenceNumber) + DER.bool(publicInstitution))
    }

    /// Parses and validates the DER encoding.
    public init(der: [UInt8]) throws(CryptoError) {
        var outer = DER.Reader(der)
        var r = try outer.nested(DER.sequence, "OperatorBinding")
        try outer.finish("the operator binding")
        guard try r.unsigned(DER.integer, "version") == 1 else { throw CryptoError("OperatorBinding version is not 1") }
        operatorName = try r.utf8("operatorName", maxBytes: 128)
        licenceNumber = try r.utf8("licenceNumber", maxBytes: 64)
        publicInstitution = try r.bool("publicInstitution")
        try r.finish("OperatorBinding")
        if operatorName.isEmpty { throw CryptoError("OperatorBinding has an empty operator name") }
    }
}

// MARK: - Node binding

/// What a node certificate asserts about its holder.
///
/// ```
/// NodeBinding ::= SEQUENCE {
///     version        INTEGER (1),
///     nodeID         OCTET STRING (SIZE (32)),   -- SHA-256 of the subject's raw Ed25519 key
///     role           ENUMERATED { regional (1), industry (2), operatorConsole (3) },
///     region         UTF8String,
///     sectors        SEQUENCE (SIZE (0..16)) OF UTF8String,   -- sorted
///     operatorName   UTF8String,
///     licenceNumber  UTF8String }
/// ```
/// The subject CN is the NodeID in hex too, for humans; the verifier trusts only this extension.
public struct NodeBinding: Hashable, Sendable, Codable {
    public var nodeID: NodeID
    public var role: Role
    public var region: Region
    /// Sorted; at most ``maxSectors``.
    public var sectors: [Sector]
    public var operatorName: String
    public var licenceNumber: String

    /// The most sectors one node certificate may name.
    public static let maxSectors = 16

    public init(
        nodeID: NodeID, role: Role, region: Region, sectors: [Sector], operatorName: String, licenceNumber: String
    ) {
        precondition(sectors.count <= NodeBinding.maxSectors, "at most \(NodeBinding.maxSectors) sectors, got \(sectors.count)")
        self.nodeID = nodeID
        self.role = role
        self.region = region
        self.sectors = sectors.sorted()
        self.operatorName = operatorName
        self.licenceNumber = licenceNumber
    }

    /// The DER encoding.
    public var der: [UInt8] {
        let sectorList = DER.tlv(DER.sequence, sectors.flatMap { DER.utf8($0.name) })
        return DER.tlv(
            DER.sequence,
            DER.unsigned(DER.integer, 1) + DER.tlv(DER.octetString, nodeID.bytes)
                + DER.unsigned(DER.enumerated, UInt64(role.rawValue))
                + DER.utf8(region.code) + sectorList + DER.utf8(operatorName) + DER.utf8(licenceNumber))
    }

    /// Parses and validates the DER encoding.
    public init(der: [UInt8]) throws(CryptoError) {
        var outer = DER.Reader(der)
        var r = try outer.nested(DER.sequence, "NodeBinding")
        try outer.finish("the node binding")
        guard try r.unsigned(DER.integer, "version") == 1 else { throw CryptoError("NodeBinding version is not 1") }
        let idBytes = try r.octets("nodeID", maxBytes: 32)
        guard let id = NodeID(bytes: idBytes) else { throw CryptoError("NodeBinding nodeID is not 32 bytes") }
        nodeID = id
        let roleCode = try r.unsigned(DER.enumerated, "role")
        guard roleCode <= 255, let role = Role(rawValue: UInt8(roleCode)) else {
            throw CryptoError("NodeBinding role \(roleCode) is not defined")
        }
        self.role = role
        do {
            region = try Region(try r.utf8("region", maxBytes: Region.maxBytes))
            var list = try r.nested(DER.sequence, "sectors")
            var sectors: [Sector] = []
            while !list.isAtEnd {
                guard sectors.count < NodeBinding.maxSectors else { throw CryptoError("NodeBinding names too many sectors") }
                sectors.append(try Sector(try list.utf8("sector", maxBytes: Sector.maxBytes)))
            }
            guard sectors == sectors.sorted() else { throw CryptoError("NodeBinding sectors are not sorted") }
            self.sectors = sectors
        } catch let error as VocabularyError {
            throw CryptoError("NodeBinding: \(error.description)")
        } catch let error as CryptoError {
            throw error
        } catch {
            throw CryptoError("NodeBinding: \(error)")
        }
        operatorName = try r.utf8("operatorName", maxBytes: 128)
        licenceNumber = try r.utf8("licenceNumber", maxBytes: 64)
        try r.finish("NodeBinding")
    }
}
