import MeshCore
import Testing

@testable import MeshWire

@Suite("Wire primitives")
struct PrimitiveTests {
    static let varintSamples: [UInt64] = [0, 1, 127, 128, 255, 300, 16383, 16384, 1 << 32, 1 << 63, .max - 1, .max]

    @Test(arguments: PrimitiveTests.varintSamples)
    func uvarintRoundTripsInItsShortestForm(value: UInt64) throws {
        var w = WireWriter()
        w.writeUVarint(value)
        #expect(w.count == WireWriter.uvarintSize(value))
        var r = WireReader(bytes: w.bytes)
        #expect(try r.readUVarint() == value)
        #expect(r.isAtEnd)
    }

    @Test func uvarintOfMaxUsesTenBytesEndingInOne() {
        var w = WireWriter()
        w.writeUVarint(.max)
        #expect(w.bytes == Array(repeating: 0xff, count: 9) + [0x01])
    }

    @Test(arguments: [Int64.min, -1, 0, 1, 63, -64, 64, .max])
    func svarintRoundTrips(value: Int64) throws {
        var w = WireWriter()
        w.writeSVarint(value)
        var r = WireReader(bytes: w.bytes)
        #expect(try r.readSVarint() == value)
    }

    @Test func aTruncatedVarintIsRefusedAtItsStart() {
        var r = WireReader(bytes: [0x00, 0x80, 0x80])
        _ = try? r.readU8()
        #expect(throws: WireError(.truncated, at: 1, "")) { try r.readUVarint() }
    }

    @Test func stringsMustBeValidUTF8AndWithinTheirLimit() throws {
        var w = WireWriter()
        w.writeString("区域节点", maxBytes: 64)
        var r = WireReader(bytes: w.bytes)
        #expect(try r.readString(maxBytes: 64) == "区域节点")
        r = WireReader(bytes: w.bytes)
        #expect(throws: WireError(.stringTooLong, at: 0, "")) { try r.readString(maxBytes: 11) }
        r = WireReader(bytes: [0x03, 0xe5, 0x8c, 0x00])  // a three-byte sequence cut short
        #expect(throws: WireError(.invalidUTF8, at: 1, "")) { try r.readString(maxBytes: 8) }
    }

    @Test func identifiersFollowTheGrammar() throws {
        for good in ["cn-east", "a", "finance", "x86.64_v2"] {
            var w = WireWriter()
            w.writeString(good, maxBytes: 32)
            var r = WireReader(bytes: w.bytes)
            #expect(try r.readIdentifier(maxBytes: 32, "id") == good)
        }
        for bad in ["", "-lead", "Upper", "with space", "ü"] {
            var w = WireWriter()
            w.writeString(bad, maxBytes: 32)
            var r = WireReader(bytes: w.bytes)
            #expect(throws: WireError.self, "\(bad)") { try r.readIdentifier(maxBytes: 32, "id") }
        }
    }

    @Test func aHostileArrayCountAllocatesNothing() {
        var w = WireWriter()
        w.writeUVarint(60_000)
        var r = WireReader(bytes: w.bytes + [1, 2, 3])
        #expect(throws: WireError(.truncated, at: 0, "")) {
            try r.readArray(maxCount: 65_536, minElementBytes: 1, "items") { (r: inout WireReader) throws(WireError) in
                try r.readU8()
            }
        }
    }

    @Test func taggedFieldsAreReadInOrderAndUnknownOnesSkipped() throws {
        var w = WireWriter()
        w.writeTaggedFields([
            (0, { $0.writeString("known", maxBytes: 16) }),
            (7, { $0.writeU32(0xdead_beef) }),
        ])
        var r = WireReader(bytes: w.bytes)
        var seen: [UInt64] = []
        var text = ""
        try r.readTaggedFields("test") { (tag, r: inout WireReader) throws(WireError) in
            seen.append(tag)
            guard tag == 0 else { return false }
            text = try r.readString(maxBytes: 16)
            return true
        }
        #expect(seen == [0, 7])
        #expect(text == "known")
        #expect(r.isAtEnd)
    }

    @Test func aTaggedFieldLargerThan127BytesGetsATwoByteLength() throws {
        let long = String(repeating: "x", count: 200)
        var w = WireWriter()
        w.writeTaggedFields([(3, { $0.writeString(long, maxBytes: 256) })])
        #expect(Array(w.bytes[0..<4]) == [0x01, 0x03, 0xca, 0x01])  // count 1, tag 3, length 202
        var r = WireReader(bytes: w.bytes)
        var got = ""
        try r.readTaggedFields("test") { (_, r: inout WireReader) throws(WireError) in
            got = try r.readString(maxBytes: 256)
            return true
        }
        #expect(got == long)
    }

    @Test func anOversizedMessageIsRefusedByTheEncoderWithNothingWritten() throws {
        var encoder = FrameEncoder(maxFrameBytes: 4096)
        try encoder.append(.ping(Ping(nonce: 1, sentAt: .zero)))
        let before = encoder.bytes
        let big = Delta(records: (0..<200).map { Fixtures.record(.descriptor(Fixtures.descriptor), sequence: UInt64($0)) })
        #expect(throws: FrameEncoder.FrameTooLarge.self) { try encoder.append(.delta(big)) }
        #expect(encoder.bytes == before)
    }

    @Test func errorMessagesTruncateOnCharacterBoundaries() {
        let text = String(repeating: "节", count: 400)  // 1200 bytes of UTF-8
        let cut = text.truncated(toUTF8Bytes: FieldLimits.maxTextBytes)
        #expect(cut.utf8.count == 1023)
        #expect(cut.allSatisfy { $0 == "节" })
    }
}
