import MeshCore
import Testing

@testable import MeshWire

/// Node names on the wire (SPEC §5.1.7, §5.4.6 tag 1, §5.4.22): optional tagged fields that older
/// readers skip, with the identifier rule and a 63-byte limit.
@Suite("Node names on the wire")
struct NodeNameWireTests {
    func roundTrip(_ message: WireMessage) throws -> WireMessage {
        let frame = try FrameEncoder.frame(message, correlationID: 7)
        guard case .message(let decoded, _, _) = try WireMessage.decode(frameBytes: frame) else {
            throw WireError(.internalError, at: 0, "skipped")
        }
        return decoded
    }

    /// A HELLO frame whose tagged section holds `tags` (already encoded) after the fixed fields.
    func hello(withTags tags: [UInt8]) -> [UInt8] {
        var w = WireWriter()
        Fixtures.nodeA.encode(to: &w)
        Role.regional.encode(to: &w)
        Fixtures.east.encode(to: &w)
        w.writeUVarint(0)  // sectors
        w.writeU8(0)  // no listen address
        w.writeUVarint(1 << 20)
        w.writeUVarint(0)  // features
        w.writeUVarint(1)  // incarnation
        return InvalidVectors.rawFrame(type: 0x0001, correlationID: 1, body: w.bytes + tags)
    }

    /// The offset of the tagged section in ``hello(withTags:)``'s frame.
    var helloTagsOffset: Int { hello(withTags: []).count }

    @Test func aNameFollowsTheIdentifierRuleUpToSixtyThreeBytes() throws {
        #expect(try NodeName("north-1").name == "north-1")
        #expect(try NodeName(String(repeating: "a", count: 63)).name.utf8.count == 63)
        for bad in ["", "North-1", "-north", "north 1", "nörth", String(repeating: "a", count: 64)] {
            #expect(throws: VocabularyError.self, "'\(bad)'") { try NodeName(bad) }
        }
    }

    @Test func helloAndWelcomeCarryTheNameBesideTheSoftware() throws {
        let hello = Hello(
            nodeID: Fixtures.nodeA, role: .regional, region: Fixtures.east, listenAddress: nil, incarnation: 2,
            software: "meshd/1", name: Fixtures.nameA)
        #expect(try roundTrip(.hello(hello)) == .hello(hello))
        var nameOnly = hello
        nameOnly.software = ""
        #expect(try roundTrip(.hello(nameOnly)) == .hello(nameOnly))
        let welcome = Welcome(
            nodeID: Fixtures.nodeB, role: .regional, region: Fixtures.east, maxFrameBytes: 4096, features: [],
            serverTime: Fixtures.t0, incarnation: 3, name: Fixtures.nameB)
        #expect(try roundTrip(.welcome(welcome)) == .welcome(welcome))
    }

    @Test func aHelloWithoutANameStillDecodesWithNoName() throws {
        guard case .message(.hello(let hello), _, _) = try WireMessage.decode(frameBytes: Fixtures.frame(named: "hello"))
        else {
            Issue.record("vector hello is not a HELLO")
            return
        }
        #expect(hello.name == nil)
        #expect(hello.software == "computemesh/0.1")
    }

    @Test func aMemberUpdateCarriesItsNameOnEveryStatus() throws {
        for status in MemberStatus.allCases {
            let update = MemberUpdate(
                node: Fixtures.nodeB, address: NetAddress(host: "10.0.0.2", port: 7400), role: .regional,
                region: Fixtures.east, incarnation: 4, status: status,
                suspectedBy: status == .suspect ? Fixtures.nodeA : nil, name: Fixtures.nameB)
            let probe = Probe(from: Fixtures.nodeA, fromIncarnation: 1, target: Fixtures.nodeB, updates: [update])
            #expect(try roundTrip(.probe(probe)) == .probe(probe), "\(status)")
        }
    }

    @Test func statusCarriesTheNodesOwnName() throws {
        guard case .status(var status) = Fixtures.cases.first(where: { $0.name == "status" })!.message else {
            Issue.record("no status fixture")
            return
        }
        #expect(status.name == nil)
        status.name = Fixtures.nameB
        #expect(try roundTrip(.status(status)) == .status(status))
    }

    @Test func aNameOverSixtyThreeBytesIsRefusedAtItsLengthPrefix() {
        let name = Array(String(repeating: "a", count: 64).utf8)
        // count 1, tag 1, field length 65, then the name: length 64 and its bytes.
        let frame = hello(withTags: [0x01, 0x01, 0x41, 0x40] + name)
        #expect(throws: WireError(.stringTooLong, at: helloTagsOffset + 3, "")) {
            try WireMessage.decode(frameBytes: frame)
        }
    }

    @Test func anEmptyNameIsRefusedAsAnInvalidValue() {
        let frame = hello(withTags: [0x01, 0x01, 0x01, 0x00])
        #expect(throws: WireError(.invalidValue, at: helloTagsOffset + 3, "")) {
            try WireMessage.decode(frameBytes: frame)
        }
    }

    @Test func aNameDirectoryRoundTripsInNodeOrder() throws {
        let inventory = Inventory(pools: [], summaries: [], more: false, names: Fixtures.names)
        #expect(try roundTrip(.inventory(inventory)) == .inventory(inventory))
        let placements = Placements(leases: [], more: true, names: Fixtures.names)
        #expect(try roundTrip(.placements(placements)) == .placements(placements))
    }

    @Test func aNodeNamedTwiceInADirectoryIsRefused() {
        var w = WireWriter()
        w.writeUVarint(0)
        w.writeBool(false)
        let entry = Fixtures.names[0]
        w.writeTaggedFields([
            (
                0,
                { w in
                    w.writeUVarint(2)
                    entry.encode(to: &w)
                    entry.encode(to: &w)
                }
            )
        ])
        let frame = InvalidVectors.rawFrame(type: 0x0407, correlationID: 3, body: w.bytes)
        let second = 16 + 2 + 4 + 32 + 1 + entry.name.name.utf8.count
        #expect(throws: WireError(.invalidValue, at: second, "")) { try WireMessage.decode(frameBytes: frame) }
    }

    @Test func aDirectoryOfMoreThan1024NamesIsRefusedBeforeItIsRead() {
        var w = WireWriter()
        w.writeUVarint(0)
        w.writeBool(false)
        w.writeTaggedFields([(0, { $0.writeUVarint(UInt64(FieldLimits.maxNamedNodes + 1)) })])
        let frame = InvalidVectors.rawFrame(type: 0x0407, correlationID: 3, body: w.bytes)
        #expect(throws: WireError(.arrayTooLong, at: 16 + 2 + 3, "")) { try WireMessage.decode(frameBytes: frame) }
    }
}
