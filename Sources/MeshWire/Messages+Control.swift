public import MeshCore

// MARK: - Shared structures

extension NetAddress: WireCodable {
    public func encode(to writer: inout WireWriter) {
        precondition(!host.isEmpty, "a NetAddress host must not be empty")
        writer.writeString(host, maxBytes: NetAddress.maxHostBytes)
        writer.writeU16(port)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let start = reader.offset
        let host = try reader.readString(maxBytes: NetAddress.maxHostBytes, "host")
        if host.isEmpty { throw WireError(.invalidValue, at: start, "host must not be empty") }
        self.init(host: host, port: try reader.readU16("port"))
    }
}

/// Optional protocol features, as a bit set negotiated in HELLO/WELCOME (the intersection of both
/// sides' sets is in force).
public struct FeatureSet: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Region summaries over the backbone (regional nodes).
    public static let regionSummaries = FeatureSet(rawValue: 1 << 0)
    /// Spillover forwarding of placement requests between regional nodes.
    public static let spillover = FeatureSet(rawValue: 1 << 1)
    /// The console event stream.
    public static let eventStream = FeatureSet(rawValue: 1 << 2)

    /// Every feature of this release.
    public static let all: FeatureSet = [.regionSummaries, .spillover, .eventStream]
}

// MARK: - HELLO

/// The first frame on every connection, from the connecting side: who I am, what I speak.
///
/// The receiver MUST NOT process any other frame before it has answered HELLO with WELCOME.
public struct Hello: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.hello

    public var nodeID: NodeID
    public var role: Role
    public var region: Region
    /// Sectors served (industry nodes); sorted, at most ``FieldLimits/maxSectorsPerNode``.
    public var sectors: [Sector]
    /// Where the sender accepts connections; absent for consoles.
    public var listenAddress: NetAddress?
    /// The largest frame the sender accepts.
    public var maxFrameBytes: UInt32
    public var features: FeatureSet
    /// The sender's current membership incarnation.
    public var incarnation: UInt64
    /// Implementation name and version, for logs (tagged field 0; empty when absent).
    public var software: String
    /// The sender's declared name (tagged field 1; nil when absent): a label, not an identity.
    public var name: NodeName?

    public init(
        nodeID: NodeID, role: Role, region: Region, sectors: [Sector] = [], listenAddress: NetAddress?,
        maxFrameBytes: UInt32 = UInt32(WireLimits.defaultMaxFrameBytes), features: FeatureSet = .all,
        incarnation: UInt64, software: String = "", name: NodeName? = nil
    ) {
        self.nodeID = nodeID
        self.role = role
        self.region = region
        self.sectors = sectors
        self.listenAddress = listenAddress
        self.maxFrameBytes = maxFrameBytes
        self.features = features
        self.incarnation = incarnation
        self.software = software
        self.name = name
    }

    public func encode(to writer: inout WireWriter) {
        nodeID.encode(to: &writer)
        role.encode(to: &writer)
        region.encode(to: &writer)
        writer.writeArray(sectors, maxCount: FieldLimits.maxSectorsPerNode) { w, v in v.encode(to: &w) }
        writer.writeOptional(listenAddress) { w, v in v.encode(to: &w) }
        precondition(
            (WireLimits.minMaxFrameBytes...WireLimits.hardMaxFrameBytes).contains(Int(maxFrameBytes)),
            "max frame bytes \(maxFrameBytes) outside the negotiable range")
        writer.writeUVarint(UInt64(maxFrameBytes))
        writer.writeUVarint(features.rawValue)
        writer.writeUVarint(incarnation)
        writer.writeIdentityTags(software: software, name: name)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        nodeID = try NodeID(from: &reader)
        role = try Role(from: &reader)
        region = try Region(from: &reader)
        sectors = try reader.readArray(maxCount: FieldLimits.maxSectorsPerNode, minElementBytes: 2, "sectors") {
            (r: inout WireReader) throws(WireError) in try Sector(from: &r)
        }
        listenAddress = try reader.readOptional("listen address") { (r: inout WireReader) throws(WireError) in
            try NetAddress(from: &r)
        }
        maxFrameBytes = try reader.readFrameLimit()
        features = FeatureSet(rawValue: try reader.readUVarint("features"))
        incarnation = try reader.readUVarint("incarnation")
        (software, name) = try reader.readIdentityTags("hello")
    }
}

// MARK: - WELCOME

/// The acceptor's answer to an admitted HELLO: the connection is open, with these terms.
public struct Welcome: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.welcome

    public var nodeID: NodeID
    public var role: Role
    public var region: Region
    /// The frame limit in force from now on: the minimum of both sides' limits.
    public var maxFrameBytes: UInt32
    /// The features in force: the intersection of both sides' sets.
    public var features: FeatureSet
    /// The acceptor's clock, so the connector can estimate skew.
    public var serverTime: MeshInstant
    public var incarnation: UInt64
    /// Tagged field 0; empty when absent.
    public var software: String
    /// The acceptor's declared name (tagged field 1; nil when absent): a label, not an identity.
    public var name: NodeName?

    public init(
        nodeID: NodeID, role: Role, region: Region, maxFrameBytes: UInt32, features: FeatureSet, serverTime: MeshInstant,
        incarnation: UInt64, software: String = "", name: NodeName? = nil
    ) {
        self.nodeID = nodeID
        self.role = role
        self.region = region
        self.maxFrameBytes = maxFrameBytes
        self.features = features
        self.serverTime = serverTime
        self.incarnation = incarnation
        self.software = software
        self.name = name
    }

    public func encode(to writer: inout WireWriter) {
        nodeID.encode(to: &writer)
        role.encode(to: &writer)
        region.encode(to: &writer)
        precondition(
            (WireLimits.minMaxFrameBytes...WireLimits.hardMaxFrameBytes).contains(Int(maxFrameBytes)),
            "max frame bytes \(maxFrameBytes) outside the negotiable range")
        writer.writeUVarint(UInt64(maxFrameBytes))
        writer.writeUVarint(features.rawValue)
        serverTime.encode(to: &writer)
        writer.writeUVarint(incarnation)
        writer.writeIdentityTags(software: software, name: name)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        nodeID = try NodeID(from: &reader)
        role = try Role(from: &reader)
        region = try Region(from: &reader)
        maxFrameBytes = try reader.readFrameLimit()
        features = FeatureSet(rawValue: try reader.readUVarint("features"))
        serverTime = try MeshInstant(from: &reader)
        incarnation = try reader.readUVarint("incarnation")
        (software, name) = try reader.readIdentityTags("welcome")
    }
}

extension WireWriter {
    /// HELLO's and WELCOME's tagged section: tag 0 `software`, tag 1 `name`, each omitted at its
    /// default (empty, absent).
    fileprivate mutating func writeIdentityTags(software: String, name: NodeName?) {
        var fields: [(tag: UInt64, body: (inout WireWriter) -> Void)] = []
        if !software.isEmpty { fields.append((0, { $0.writeString(software, maxBytes: FieldLimits.maxShortTextBytes) })) }
        if let name { fields.append((1, { name.encode(to: &$0) })) }
        if fields.isEmpty {
            writeNoTaggedFields()
        } else {
            writeTaggedFields(fields)
        }
    }
}

extension WireReader {
    fileprivate mutating func readIdentityTags(_ what: StaticString) throws(WireError) -> (String, NodeName?) {
        var software = ""
        var name: NodeName? = nil
        try readTaggedFields(what) { (tag, r: inout WireReader) throws(WireError) in
            switch tag {
            case 0: software = try r.readString(maxBytes: FieldLimits.maxShortTextBytes, "software")
            case 1: name = try NodeName(from: &r)
            default: return false
            }
            return true
        }
        return (software, name)
    }

    fileprivate mutating func readFrameLimit() throws(WireError) -> UInt32 {
        let start = offset
        let value = try readUVarint("max frame bytes")
        guard (UInt64(WireLimits.minMaxFrameBytes)...UInt64(WireLimits.hardMaxFrameBytes)).contains(value) else {
            throw WireError(
                .invalidValue, at: start,
                "max frame bytes \(value) outside \(WireLimits.minMaxFrameBytes)...\(WireLimits.hardMaxFrameBytes)")
        }
        return UInt32(value)
    }
}

// MARK: - REJECT

/// Why a HELLO was refused.
public enum RejectReason: UInt8, Sendable, Codable, CaseIterable {
    case versionUnsupported = 1
    /// The operator is not admitted to the federation, or the certificate is not under its root.
    case notAdmitted = 2
    case certificateExpired = 3
    case revoked = 4
    /// The NodeID in HELLO is not the hash of the key the TLS handshake proved.
    case nodeIDMismatch = 5
    /// The role in HELLO is not the certificate's, or may not connect here.
    case roleNotAllowed = 6
    case regionMismatch = 7
    case overloaded = 8
    /// A connection from the same NodeID is already open.
    case duplicateNode = 9
    case protocolViolation = 10
}

/// The acceptor's refusal of a HELLO. The acceptor closes the connection after sending it.
public struct Reject: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.reject

    public var reason: RejectReason
    /// What was wrong and what to do about it.
    public var message: String
    /// When the connector may try again; zero means not without a change on its side.
    public var retryAfter: MeshDuration

    public init(reason: RejectReason, message: String, retryAfter: MeshDuration = .zero) {
        self.reason = reason
        self.message = message
        self.retryAfter = retryAfter
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeU8(reason.rawValue)
        writer.writeString(message, maxBytes: FieldLimits.maxTextBytes)
        retryAfter.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        reason = try reader.readEnum("reject reason")
        message = try reader.readString(maxBytes: FieldLimits.maxTextBytes, "message")
        retryAfter = try MeshDuration(from: &reader)
        try reader.skipTaggedFields("reject")
    }
}

extension WireReader {
    /// Reads a one-byte closed enumeration, refusing undefined codes.
    public mutating func readEnum<T: RawRepresentable>(_ what: StaticString) throws(WireError) -> T where T.RawValue == UInt8 {
        let start = offset
        let code = try readU8(what)
        guard let value = T(rawValue: code) else { throw WireError(.invalidValue, at: start, "\(what) \(code) is not defined") }
        return value
    }
}

// MARK: - GOAWAY

/// Why a side is closing the connection.
public enum GoAwayReason: UInt8, Sendable, Codable, CaseIterable {
    case shutdown = 1
    case restart = 2
    case overload = 3
    case protocolError = 4
    case revoked = 5
}

/// Graceful close: the sender will process no request with a correlation ID above
/// `lastCorrelationID`, finishes the ones at or below it within `drain`, then closes.
public struct GoAway: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.goAway

    public var reason: GoAwayReason
    public var lastCorrelationID: UInt64
    public var drain: MeshDuration
    public var message: String

    public init(reason: GoAwayReason, lastCorrelationID: UInt64, drain: MeshDuration, message: String = "") {
        self.reason = reason
        self.lastCorrelationID = lastCorrelationID
        self.drain = drain
        self.message = message
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeU8(reason.rawValue)
        writer.writeU64(lastCorrelationID)
        drain.encode(to: &writer)
        writer.writeString(message, maxBytes: FieldLimits.maxTextBytes)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        reason = try reader.readEnum("goaway reason")
        lastCorrelationID = try reader.readU64("last correlation ID")
        drain = try MeshDuration(from: &reader)
        message = try reader.readString(maxBytes: FieldLimits.maxTextBytes, "message")
        try reader.skipTaggedFields("goaway")
    }
}

// MARK: - ERROR

/// Reports a refused frame to its sender. Its correlation ID is that of the refused frame (zero
/// if it could not be read).
public struct ErrorMessage: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.error

    /// The numeric ``WireErrorCode``; an unknown code is kept as is (newer peers may add codes).
    public var code: UInt16
    /// The offset in the refused frame where the problem was found.
    public var offset: UInt32
    /// The type of the refused frame (zero if unknown).
    public var frameType: UInt16
    public var message: String

    public init(code: UInt16, offset: UInt32, frameType: UInt16, message: String) {
        self.code = code
        self.offset = offset
        self.frameType = frameType
        self.message = message
    }

    /// Describes `error`, found in a frame of type `frameType`.
    public init(_ error: WireError, frameType: MessageType?) {
        self.init(
            code: error.code.rawValue, offset: UInt32(clamping: error.offset), frameType: frameType?.rawValue ?? 0,
            message: error.description.truncated(toUTF8Bytes: FieldLimits.maxTextBytes))
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeU16(code)
        writer.writeUVarint(UInt64(offset))
        writer.writeU16(frameType)
        writer.writeString(message, maxBytes: FieldLimits.maxTextBytes)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        code = try reader.readU16("error code")
        offset = try reader.readUVarint32("offset")
        frameType = try reader.readU16("frame type")
        message = try reader.readString(maxBytes: FieldLimits.maxTextBytes, "message")
        try reader.skipTaggedFields("error")
    }
}

// MARK: - PING / PONG

/// Link-level keepalive and round-trip measurement (not a membership probe).
public struct Ping: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.ping
    public var nonce: UInt64
    public var sentAt: MeshInstant

    public init(nonce: UInt64, sentAt: MeshInstant) {
        self.nonce = nonce
        self.sentAt = sentAt
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeU64(nonce)
        sentAt.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        nonce = try reader.readU64("nonce")
        sentAt = try MeshInstant(from: &reader)
        try reader.skipTaggedFields("ping")
    }
}

/// The answer to PING, echoing its nonce and send time.
public struct Pong: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.pong
    public var nonce: UInt64
    public var sentAt: MeshInstant

    public init(nonce: UInt64, sentAt: MeshInstant) {
        self.nonce = nonce
        self.sentAt = sentAt
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeU64(nonce)
        sentAt.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        nonce = try reader.readU64("nonce")
        sentAt = try MeshInstant(from: &reader)
        try reader.skipTaggedFields("pong")
    }
}

extension String {
    /// The longest prefix of whole characters that fits `maxBytes` of UTF-8: for putting text of
    /// our own (error descriptions, details) into bounded fields without splitting a character.
    public func truncated(toUTF8Bytes maxBytes: Int) -> String {
        if utf8.count <= maxBytes { return self }
        var result = ""
        var used = 0
        for character in self {
            let size = character.utf8.count
            if used + size > maxBytes { break }
            result.append(character)
            used += size
        }
        return result
    }
}
