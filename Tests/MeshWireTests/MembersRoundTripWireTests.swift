import MeshCore
import MeshWire
import Testing

/// MEMBERS tag 0 `roundTrips` (SPEC §6.7.4, issue 17): the answering node's latest direct-probe
/// round trips, one at most a row of the page, in strictly increasing NodeID order.
@Suite("MEMBERS round trips")
struct MembersRoundTripWireTests {
    static let rows = [
        MemberRow(update: Fixtures.namedPeer, sinceChange: .seconds(40)),
        MemberRow(update: Fixtures.namedMember, sinceChange: .milliseconds(1500)),
    ]

    /// A MEMBERS body of ``rows`` whose tag 0 holds `entries` as given (no order check).
    static func body(_ entries: [MemberRoundTrip], rows: [MemberRow] = rows) -> [UInt8] {
        var w = WireWriter()
        w.writeArray(rows, maxCount: FieldLimits.maxConsoleRows) { w, v in v.encode(to: &w) }
        w.writeBool(false)
        w.writeTaggedFields([
            (
                0,
                { w in
                    w.writeUVarint(UInt64(entries.count))
                    for entry in entries { entry.encode(to: &w) }
                }
            )
        ])
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> Members {
        var reader = WireReader(bytes: bytes)
        let members = try Members(from: &reader)
        try reader.expectEnd("members")
        return members
    }

    @Test func roundTripsSurviveEncodingAndDecoding() throws {
        let members = Members(
            members: Self.rows, more: true,
            roundTrips: [
                MemberRoundTrip(node: Fixtures.nodeA, microseconds: 2_500),
                MemberRoundTrip(node: Fixtures.nodeB, microseconds: .max),
            ])
        var w = WireWriter()
        members.encode(to: &w)
        let decoded = try Self.decode(w.bytes)
        #expect(decoded == members)
        #expect(decoded.roundTrip(of: Fixtures.nodeA)?.microseconds == 2_500)
        #expect(decoded.roundTrip(of: Fixtures.nodeB)?.microseconds == .max)
    }

    @Test func aPageWithoutRoundTripsIsTheOldEncoding() throws {
        var w = WireWriter()
        Members(members: Self.rows, more: false).encode(to: &w)
        #expect(w.bytes.last == 0, "no tagged field: the empty section")
        #expect(try Self.decode(w.bytes).roundTrips.isEmpty)
    }

    @Test func anOldReaderSkipsTheRoundTrips() throws {
        var w = WireWriter()
        Members(members: Self.rows, more: false, roundTrips: [MemberRoundTrip(node: Fixtures.nodeA, microseconds: 7)])
            .encode(to: &w)
        // An old reader: the rows, `more`, then a skipped tagged section.
        var reader = WireReader(bytes: w.bytes)
        let rows = try reader.readArray(maxCount: FieldLimits.maxConsoleRows, minElementBytes: 41, "members") {
            (r: inout WireReader) throws(WireError) in try MemberRow(from: &r)
        }
        _ = try reader.readBool("more")
        try reader.skipTaggedFields("members")
        try reader.expectEnd("members")
        #expect(rows == Self.rows)
    }

    @Test func aDuplicateEntryIsInvalidValueAtTheRepeat() {
        let entry = MemberRoundTrip(node: Fixtures.nodeA, microseconds: 1)
        let bytes = Self.body([entry, entry])
        #expect(throws: WireError.self) { try Self.decode(bytes) }
        do {
            _ = try Self.decode(bytes)
        } catch {
            #expect(error.code == .invalidValue)
            #expect(error.offset == bytes.count - 33, "the second (last) entry: 32 bytes of NodeID and a 1-byte uvarint")
        }
    }

    @Test func anEntryOutOfOrderIsInvalidValue() {
        let bytes = Self.body([
            MemberRoundTrip(node: Fixtures.nodeB, microseconds: 1), MemberRoundTrip(node: Fixtures.nodeA, microseconds: 1),
        ])
        #expect(throws: WireError.self) { try Self.decode(bytes) }
    }

    @Test func anEntryForANodeNotInThePageIsInvalidValue() {
        let bytes = Self.body([MemberRoundTrip(node: Fixtures.nodeB, microseconds: 1)], rows: [Self.rows[0]])
        do {
            _ = try Self.decode(bytes)
            Issue.record("decoded a round trip for a node outside the page")
        } catch {
            #expect(error.code == .invalidValue)
        }
    }

    @Test func moreEntriesThanRowsIsArrayTooLong() {
        let bytes = Self.body(
            [
                MemberRoundTrip(node: Fixtures.nodeA, microseconds: 1), MemberRoundTrip(node: Fixtures.nodeB, microseconds: 1),
            ], rows: [Self.rows[0]])
        do {
            _ = try Self.decode(bytes)
            Issue.record("decoded two round trips for a page of one row")
        } catch {
            #expect(error.code == .arrayTooLong)
        }
    }

    @Test func aDurationIsCarriedInMicrosecondsAndSaturates() {
        #expect(MemberRoundTrip(node: Fixtures.nodeA, roundTrip: .milliseconds(3)).microseconds == 3_000)
        #expect(MemberRoundTrip(node: Fixtures.nodeA, roundTrip: .milliseconds(UInt64.max)).microseconds == .max)
        #expect(MemberRoundTrip(node: Fixtures.nodeA, roundTrip: .seconds(5_000)).microseconds == .max)
    }
}
