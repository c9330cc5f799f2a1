public import MeshCore

// This file is the message registry. It is kept in step with `Protocols/SPEC.md` §6 ("Message
// types"); a test checks that every type listed here has a golden vector.

extension MessageType {
    /// HELLO
    public static let hello = MessageType(rawValue: 0x0001)
    /// WELCOME
    public static let welcome = MessageType(rawValue: 0x0002)
    /// REJECT
    public static let reject = MessageType(rawValue: 0x0003)
    /// GOAWAY
    public static let goAway = MessageType(rawValue: 0x0004)
    /// ERROR
    public static let error = MessageType(rawValue: 0x0005)
    /// PING
    public static let ping = MessageType(rawValue: 0x0006)
    /// PONG
    public static let pong = MessageType(rawValue: 0x0007)
    /// PROBE
    public static let probe = MessageType(rawValue: 0x0100)
    /// PROBE_ACK
    public static let probeAck = MessageType(rawValue: 0x0101)
    /// INDIRECT_PROBE
    public static let indirectProbe = MessageType(rawValue: 0x0102)
    /// NACK
    public static let nack = MessageType(rawValue: 0x0103)
    /// DIGEST
    public static let digest = MessageType(rawValue: 0x0200)
    /// DELTA
    public static let delta = MessageType(rawValue: 0x0201)
    /// REGION_SUMMARY
    public static let regionSummary = MessageType(rawValue: 0x0202)
    /// REVOCATION_LIST
    public static let revocationList = MessageType(rawValue: 0x0203)
    /// PLACE
    public static let place = MessageType(rawValue: 0x0300)
    /// QUOTE_REQUEST
    public static let quoteRequest = MessageType(rawValue: 0x0301)
    /// QUOTE
    public static let quote = MessageType(rawValue: 0x0302)
    /// REFUSE
    public static let refuse = MessageType(rawValue: 0x0303)
    /// CONFIRM
    public static let confirm = MessageType(rawValue: 0x0304)
    /// CONFIRMED
    public static let confirmed = MessageType(rawValue: 0x0305)
    /// RELEASE
    public static let release = MessageType(rawValue: 0x0306)
    /// RENEW
    public static let renew = MessageType(rawValue: 0x0307)
    /// LEASE_STATE
    public static let leaseState = MessageType(rawValue: 0x0308)
    /// FORWARD
    public static let forward = MessageType(rawValue: 0x0309)
    /// OUTCOME
    public static let outcome = MessageType(rawValue: 0x030A)
    /// STATUS_REQUEST
    public static let statusRequest = MessageType(rawValue: 0x0400)
    /// STATUS
    public static let status = MessageType(rawValue: 0x0401)
    /// MEMBERS_REQUEST
    public static let membersRequest = MessageType(rawValue: 0x0402)
    /// MEMBERS
    public static let members = MessageType(rawValue: 0x0403)
    /// INVENTORY_REQUEST
    public static let inventoryRequest = MessageType(rawValue: 0x0404)
    /// INVENTORY
    public static let inventory = MessageType(rawValue: 0x0405)
    /// PLACEMENTS_REQUEST
    public static let placementsRequest = MessageType(rawValue: 0x0406)
    /// PLACEMENTS
    public static let placements = MessageType(rawValue: 0x0407)
    /// WHY_REQUEST
    public static let whyRequest = MessageType(rawValue: 0x0408)
    /// WHY
    public static let why = MessageType(rawValue: 0x0409)
    /// SUBSCRIBE
    public static let subscribe = MessageType(rawValue: 0x040A)
    /// EVENT
    public static let event = MessageType(rawValue: 0x040B)
    /// UNSUBSCRIBE
    public static let unsubscribe = MessageType(rawValue: 0x040C)
    /// REGISTER_POOL
    public static let registerPool = MessageType(rawValue: 0x040D)
    /// POOL_REGISTERED
    public static let poolRegistered = MessageType(rawValue: 0x040E)

    /// The range a type belongs to.
    public var range: MessageRange {
        switch rawValue >> 8 {
        case 0x00: .control
        case 0x01: .liveness
        case 0x02: .gossip
        case 0x03: .placement
        case 0x04: .console
        default: .reserved
        }
    }

    /// The specification's name for the type, e.g. `PROBE_ACK`, or nil for an unknown type.
    public var name: String? { WireMessage.registry.first { $0.type == self }?.name }
}

/// The ranges of message types. A node authorises messages by range (``ConnectionGate``):
/// consoles may send control and console messages, plus PLACE; nodes may send anything but
/// console messages.
public enum MessageRange: Sendable, CaseIterable {
    case control, liveness, gossip, placement, console, reserved
}

/// Every message of wire version 1, decoded.
///
/// Cases whose payload is larger than 48 bytes are `indirect` (boxed once, when decoded): the
/// enum is as large as its largest inline payload and every move of it is a copy of that size, so
/// the frequent small messages (PING, PONG, PROBE_ACK, DIGEST, DELTA, RELEASE, ...) would
/// otherwise pay for a 256-byte FORWARD on every hand-over between decoder, gate and owner.
/// `WireMessageLayoutTests` keeps the enum at 64 bytes or less.
public enum WireMessage: Hashable, Sendable {
    indirect case hello(Hello)
    indirect case welcome(Welcome)
    indirect case reject(Reject)
    indirect case goAway(GoAway)
    indirect case error(ErrorMessage)
    case ping(Ping)
    case pong(Pong)
    indirect case probe(Probe)
    indirect case probeAck(ProbeAck)
    indirect case indirectProbe(IndirectProbe)
    indirect case nack(Nack)
    indirect case digest(Digest)
    case delta(Delta)
    case regionSummaries(RegionSummaries)
    indirect case revocationList(RevocationList)
    indirect case place(PlacementRequest)
    indirect case quoteRequest(QuoteRequest)
    indirect case quote(Quote)
    indirect case refuse(Refuse)
    indirect case confirm(Confirm)
    indirect case confirmed(Confirmed)
    indirect case release(Release)
    indirect case renew(Renew)
    indirect case leaseStatus(LeaseStatus)
    indirect case forward(Forward)
    indirect case outcome(Outcome)
    case statusRequest(StatusRequest)
    indirect case status(Status)
    indirect case membersRequest(MembersRequest)
    case members(Members)
    indirect case inventoryRequest(InventoryRequest)
    indirect case inventory(Inventory)
    indirect case placementsRequest(PlacementsRequest)
    case placements(Placements)
    indirect case whyRequest(WhyRequest)
    indirect case why(Why)
    case subscribe(Subscribe)
    indirect case event(Event)
    case unsubscribe(Unsubscribe)
    indirect case registerPool(RegisterPool)
    indirect case poolRegistered(PoolRegistered)

    /// Every registered message type with its specification name, in type order.
    public static let registry: [(type: MessageType, name: String)] = [
        (.hello, "HELLO"),
        (.welcome, "WELCOME"),
        (.reject, "REJECT"),
        (.goAway, "GOAWAY"),
        (.error, "ERROR"),
        (.ping, "PING"),
        (.pong, "PONG"),
        (.probe, "PROBE"),
        (.probeAck, "PROBE_ACK"),
        (.indirectProbe, "INDIRECT_PROBE"),
        (.nack, "NACK"),
        (.digest, "DIGEST"),
        (.delta, "DELTA"),
        (.regionSummary, "REGION_SUMMARY"),
        (.revocationList, "REVOCATION_LIST"),
        (.place, "PLACE"),
        (.quoteRequest, "QUOTE_REQUEST"),
        (.quote, "QUOTE"),
        (.refuse, "REFUSE"),
        (.confirm, "CONFIRM"),
        (.confirmed, "CONFIRMED"),
        (.release, "RELEASE"),
        (.renew, "RENEW"),
        (.leaseState, "LEASE_STATE"),
        (.forward, "FORWARD"),
        (.outcome, "OUTCOME"),
        (.statusRequest, "STATUS_REQUEST"),
        (.status, "STATUS"),
        (.membersRequest, "MEMBERS_REQUEST"),
        (.members, "MEMBERS"),
        (.inventoryRequest, "INVENTORY_REQUEST"),
        (.inventory, "INVENTORY"),
        (.placementsRequest, "PLACEMENTS_REQUEST"),
        (.placements, "PLACEMENTS"),
        (.whyRequest, "WHY_REQUEST"),
        (.why, "WHY"),
        (.subscribe, "SUBSCRIBE"),
        (.event, "EVENT"),
        (.unsubscribe, "UNSUBSCRIBE"),
        (.registerPool, "REGISTER_POOL"),
        (.poolRegistered, "POOL_REGISTERED"),
    ]

    /// The frame type this message travels in.
    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .reject: .reject
        case .goAway: .goAway
        case .error: .error
        case .ping: .ping
        case .pong: .pong
        case .probe: .probe
        case .probeAck: .probeAck
        case .indirectProbe: .indirectProbe
        case .nack: .nack
        case .digest: .digest
        case .delta: .delta
        case .regionSummaries: .regionSummary
        case .revocationList: .revocationList
        case .place: .place
        case .quoteRequest: .quoteRequest
        case .quote: .quote
        case .refuse: .refuse
        case .confirm: .confirm
        case .confirmed: .confirmed
        case .release: .release
        case .renew: .renew
        case .leaseStatus: .leaseState
        case .forward: .forward
        case .outcome: .outcome
        case .statusRequest: .statusRequest
        case .status: .status
        case .membersRequest: .membersRequest
        case .members: .members
        case .inventoryRequest: .inventoryRequest
        case .inventory: .inventory
        case .placementsRequest: .placementsRequest
        case .placements: .placements
        case .whyRequest: .whyRequest
        case .why: .why
        case .subscribe: .subscribe
        case .event: .event
        case .unsubscribe: .unsubscribe
        case .registerPool: .registerPool
        case .poolRegistered: .poolRegistered
        }
    }

    /// Appends the message body (no frame header).
    public func encodeBody(to writer: inout WireWriter) {
        switch self {
        case .hello(let body): body.encode(to: &writer)
        case .welcome(let body): body.encode(to: &writer)
        case .reject(let body): body.encode(to: &writer)
        case .goAway(let body): body.encode(to: &writer)
        case .error(let body): body.encode(to: &writer)
        case .ping(let body): body.encode(to: &writer)
        case .pong(let body): body.encode(to: &writer)
        case .probe(let body): body.encode(to: &writer)
        case .probeAck(let body): body.encode(to: &writer)
        case .indirectProbe(let body): body.encode(to: &writer)
        case .nack(let body): body.encode(to: &writer)
        case .digest(let body): body.encode(to: &writer)
        case .delta(let body): body.encode(to: &writer)
        case .regionSummaries(let body): body.encode(to: &writer)
        case .revocationList(let body): body.encode(to: &writer)
        case .place(let body): body.encode(to: &writer)
        case .quoteRequest(let body): body.encode(to: &writer)
        case .quote(let body): body.encode(to: &writer)
        case .refuse(let body): body.encode(to: &writer)
        case .confirm(let body): body.encode(to: &writer)
        case .confirmed(let body): body.encode(to: &writer)
        case .release(let body): body.encode(to: &writer)
        case .renew(let body): body.encode(to: &writer)
        case .leaseStatus(let body): body.encode(to: &writer)
        case .forward(let body): body.encode(to: &writer)
        case .outcome(let body): body.encode(to: &writer)
        case .statusRequest(let body): body.encode(to: &writer)
        case .status(let body): body.encode(to: &writer)
        case .membersRequest(let body): body.encode(to: &writer)
        case .members(let body): body.encode(to: &writer)
        case .inventoryRequest(let body): body.encode(to: &writer)
        case .inventory(let body): body.encode(to: &writer)
        case .placementsRequest(let body): body.encode(to: &writer)
        case .placements(let body): body.encode(to: &writer)
        case .whyRequest(let body): body.encode(to: &writer)
        case .why(let body): body.encode(to: &writer)
        case .subscribe(let body): body.encode(to: &writer)
        case .event(let body): body.encode(to: &writer)
        case .unsubscribe(let body): body.encode(to: &writer)
        case .registerPool(let body): body.encode(to: &writer)
        case .poolRegistered(let body): body.encode(to: &writer)
        }
    }

    /// Decodes a body of type `type` (type version 1); nil when the type is not registered.
    static func decodeBody(type: MessageType, from reader: inout WireReader) throws(WireError) -> WireMessage? {
        switch type {
        case .hello: return .hello(try Hello(from: &reader))
        case .welcome: return .welcome(try Welcome(from: &reader))
        case .reject: return .reject(try Reject(from: &reader))
        case .goAway: return .goAway(try GoAway(from: &reader))
        case .error: return .error(try ErrorMessage(from: &reader))
        case .ping: return .ping(try Ping(from: &reader))
        case .pong: return .pong(try Pong(from: &reader))
        case .probe: return .probe(try Probe(from: &reader))
        case .probeAck: return .probeAck(try ProbeAck(from: &reader))
        case .indirectProbe: return .indirectProbe(try IndirectProbe(from: &reader))
        case .nack: return .nack(try Nack(from: &reader))
        case .digest: return .digest(try Digest(from: &reader))
        case .delta: return .delta(try Delta(from: &reader))
        case .regionSummary: return .regionSummaries(try RegionSummaries(from: &reader))
        case .revocationList: return .revocationList(try RevocationList(from: &reader))
        case .place: return .place(try PlacementRequest(from: &reader))
        case .quoteRequest: return .quoteRequest(try QuoteRequest(from: &reader))
        case .quote: return .quote(try Quote(from: &reader))
        case .refuse: return .refuse(try Refuse(from: &reader))
        case .confirm: return .confirm(try Confirm(from: &reader))
        case .confirmed: return .confirmed(try Confirmed(from: &reader))
        case .release: return .release(try Release(from: &reader))
        case .renew: return .renew(try Renew(from: &reader))
        case .leaseState: return .leaseStatus(try LeaseStatus(from: &reader))
        case .forward: return .forward(try Forward(from: &reader))
        case .outcome: return .outcome(try Outcome(from: &reader))
        case .statusRequest: return .statusRequest(try StatusRequest(from: &reader))
        case .status: return .status(try Status(from: &reader))
        case .membersRequest: return .membersRequest(try MembersRequest(from: &reader))
        case .members: return .members(try Members(from: &reader))
        case .inventoryRequest: return .inventoryRequest(try InventoryRequest(from: &reader))
        case .inventory: return .inventory(try Inventory(from: &reader))
        case .placementsRequest: return .placementsRequest(try PlacementsRequest(from: &reader))
        case .placements: return .placements(try Placements(from: &reader))
        case .whyRequest: return .whyRequest(try WhyRequest(from: &reader))
        case .why: return .why(try Why(from: &reader))
        case .subscribe: return .subscribe(try Subscribe(from: &reader))
        case .event: return .event(try Event(from: &reader))
        case .unsubscribe: return .unsubscribe(try Unsubscribe(from: &reader))
        case .registerPool: return .registerPool(try RegisterPool(from: &reader))
        case .poolRegistered: return .poolRegistered(try PoolRegistered(from: &reader))
        default: return nil
        }
    }
}
