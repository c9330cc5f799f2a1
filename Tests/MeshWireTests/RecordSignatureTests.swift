import Foundation
import MeshCore
import Testing

@testable import MeshWire

/// ``RecordSignature`` changes how a record holds its signature in memory, not its bytes: every
/// length the wire allows round-trips and encodes exactly as the `[UInt8]` field it replaced.
@Suite("Wire: record signatures")
struct RecordSignatureTests {
    static let lengths = [0, 1, 3, 63, 64, 65, 100, 128]

    func record(signature: [UInt8]) -> InventoryRecord {
        Fixtures.record(.tombstone(try! ComputeID(owner: Fixtures.nodeA, path: ["pool"])), sequence: 9)
            .withSignature(signature)
    }

    /// The encoding with the signature written as a plain byte string (the format before the change).
    func referenceEncoding(_ record: InventoryRecord, signature: [UInt8]) -> [UInt8] {
        var unsigned = record
        unsigned.signature = RecordSignature()
        var writer = WireWriter()
        unsigned.encode(to: &writer)
        // Drop the empty signature (one zero byte) and the tagged-field terminator, then write
        // the signature as the byte string it was.
        var bytes = writer.bytes
        bytes.removeLast(2)
        var tail = WireWriter()
        tail.writeBytes(signature, maxBytes: FieldLimits.maxSignatureBytes)
        tail.writeNoTaggedFields()
        return bytes + tail.bytes
    }

    @Test(arguments: lengths)
    func aSignatureOfAnyAllowedLengthRoundTripsAndEncodesAsAByteString(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let record = record(signature: bytes)
        #expect(record.signature.bytes == bytes)
        #expect(record.signature.count == length)
        var writer = WireWriter()
        record.encode(to: &writer)
        #expect(writer.bytes == referenceEncoding(record, signature: bytes))
        var reader = WireReader(bytes: writer.bytes)
        let decoded = try InventoryRecord(from: &reader)
        #expect(decoded == record)
        #expect(decoded.signature.bytes == bytes)
    }

    @Test(arguments: lengths)
    func copyingRawBytesHoldsTheSameSignatureAsTheGenericInitializer(length: Int) {
        // A slice that does not start at index 0, as the wire reader hands it over.
        let frame = (0..<(length + 5)).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ 1) }
        let slice = frame[3..<(3 + length)]
        let copied = slice.withUnsafeBytes { RecordSignature(copying: $0) }
        #expect(copied == RecordSignature(Array(slice)))
        #expect(copied == RecordSignature(slice))
        #expect(copied.bytes == Array(slice))
        #expect(copied.count == length)
    }

    @Test func aRecordWithoutSignatureRoundTrips() throws {
        let record = record(signature: [])
        #expect(record.signature.isEmpty)
        var writer = WireWriter()
        record.encode(to: &writer)
        var reader = WireReader(bytes: writer.bytes)
        #expect(try InventoryRecord(from: &reader) == record)
    }

    @Test func signaturesDifferingInOneByteAreUnequal() {
        var a = Array(repeating: UInt8(0xA5), count: 64)
        let first = RecordSignature(a)
        a[63] = 0xA4
        #expect(RecordSignature(a) != first)
        #expect(RecordSignature(a) == RecordSignature(a))
        #expect(RecordSignature([1, 2]) != RecordSignature([1, 2, 0]))
    }

    @Test func aSignatureLongerThanTheFieldLimitIsRefused() {
        var writer = WireWriter()
        writer.writeBytes(Array(repeating: 1, count: 129), maxBytes: 200)
        var reader = WireReader(bytes: writer.bytes)
        #expect(throws: WireError.self) { try reader.readSignature() }
    }

    @Test func jsonKeepsTheSignatureAsAByteArray() throws {
        let record = record(signature: [7, 8, 9])
        let json = try JSONEncoder().encode(record)
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["signature"] as? [Int] == [7, 8, 9])
        #expect(try JSONDecoder().decode(InventoryRecord.self, from: json) == record)
    }
}

extension InventoryRecord {
    fileprivate func withSignature(_ bytes: [UInt8]) -> InventoryRecord {
        var copy = self
        copy.signature = RecordSignature(bytes)
        return copy
    }
}
