import MeshCore
import Testing

@testable import MeshWire

/// MemberUpdate's tagged field 0 `suspectedBy` (SPEC §5.4.6): a backward-compatible addition that
/// names the member whose own failed probe raised a suspicion.
@Suite("Wire: MemberUpdate suspectedBy")
struct MemberUpdateSuspecterTests {
    static let suspect = MemberUpdate(
        node: Fixtures.nodeB, address: NetAddress(host: "10.0.0.2", port: 7946), role: .industry, region: Fixtures.east,
        incarnation: 9, status: .suspect)

    static func encoded(_ update: MemberUpdate) -> [UInt8] {
        var writer = WireWriter()
        update.encode(to: &writer)
        return writer.bytes
    }

    static func decoded(_ bytes: [UInt8]) throws -> MemberUpdate {
        var reader = WireReader(bytes: bytes)
        let update = try MemberUpdate(from: &reader)
        #expect(reader.isAtEnd)
        return update
    }

    /// The fields before the tagged section, as every version writes them.
    static func fixedPart(_ update: MemberUpdate) -> [UInt8] {
        var writer = WireWriter()
        update.node.encode(to: &writer)
        update.address.encode(to: &writer)
        update.role.encode(to: &writer)
        update.region.encode(to: &writer)
        writer.writeUVarint(update.incarnation)
        writer.writeU8(update.status.rawValue)
        return writer.bytes
    }

    @Test func suspecterRoundTripsOnASuspectUpdate() throws {
        var update = Self.suspect
        update.suspectedBy = Fixtures.nodeA
        let bytes = Self.encoded(update)
        #expect(try Self.decoded(bytes) == update)
        // count 1, tag 0, length 32, the suspecter's 32 bytes.
        var nodeA = WireWriter()
        Fixtures.nodeA.encode(to: &nodeA)
        #expect(bytes == Self.fixedPart(update) + [0x01, 0x00, 0x20] + nodeA.bytes)
    }

    @Test func suspectUpdateWithoutSuspecterKeepsTheEmptyTaggedSection() throws {
        let bytes = Self.encoded(Self.suspect)
        #expect(bytes == Self.fixedPart(Self.suspect) + [0x00])
        #expect(try Self.decoded(bytes).suspectedBy == nil)
    }

    @Test func oldFormatUpdateWithAnUnknownTagStillDecodes() throws {
        // A peer from a later version may add tags after 0: they are skipped, tag 0 still read.
        var writer = WireWriter()
        writer.writeTaggedFields([(0, { Fixtures.nodeA.encode(to: &$0) }), (5, { $0.writeU8(7) })])
        let update = try Self.decoded(Self.fixedPart(Self.suspect) + writer.bytes)
        #expect(update.suspectedBy == Fixtures.nodeA)
        #expect(update.incarnation == 9)
    }

    @Test(arguments: [MemberStatus.alive, .dead, .left])
    func suspecterIsNeitherWrittenNorKeptOnOtherStatuses(status: MemberStatus) throws {
        var update = Self.suspect
        update.status = status
        update.suspectedBy = Fixtures.nodeA
        #expect(Self.encoded(update) == Self.fixedPart(update) + [0x00])
        // A peer that sends one anyway: decoded, then dropped, so equal facts compare equal.
        var writer = WireWriter()
        writer.writeTaggedFields([(0, { Fixtures.nodeA.encode(to: &$0) })])
        #expect(try Self.decoded(Self.fixedPart(update) + writer.bytes).suspectedBy == nil)
    }

    @Test func suspecterOfTheWrongLengthIsRefused() {
        var writer = WireWriter()
        writer.writeTaggedFields([(0, { $0.writeU8(1) })])
        #expect(throws: WireError.self) { try Self.decoded(Self.fixedPart(Self.suspect) + writer.bytes) }
    }
}
