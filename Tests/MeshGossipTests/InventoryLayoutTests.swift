import Testing

@testable import MeshCore
@testable import MeshGossip

/// The in-memory size of inventory records and logs is a contract of the 10,000-node simulation
/// (issue 3: within 8 GiB): every node keeps every record of its region, so a few bytes a record
/// are gigabytes across the simulator. These bounds fail when a change makes them grow again.
@Suite("Gossip: inventory memory layout")
struct InventoryLayoutTests {
    @Test func aRecordBodyIsNoLargerThanItsAvailabilityCaseBecauseTheDescriptorIsBoxed() {
        #expect(MemoryLayout<RecordBody>.size <= MemoryLayout<PoolAvailability>.size + 8)
        #expect(MemoryLayout<RecordBody>.size < MemoryLayout<PoolDescriptor>.size)
    }

    @Test func aSignatureIsHeldInlineInAtMostSeventyTwoBytes() {
        #expect(MemoryLayout<RecordSignature>.stride <= 72)
    }

    @Test func aRecordIsOneReferenceToItsSharedFields() {
        #expect(MemoryLayout<InventoryRecord>.stride == MemoryLayout<Int>.stride)
    }

    @Test func aRecordsSharedFieldsFitInTwoHundredAndEightBytes() {
        // Origin 32, epoch, sequence and the two instants 4 × 8, body 72, inline signature 65:
        // 201 bytes, one 232-byte heap block with the object header (the layout of commit
        // cf7013e, kept when the wire decoder's signature copy was fixed).
        #expect(MemoryLayout<InventoryRecord.Stored>.size <= 208)
    }

    @Test func aLogIsTheOriginItsVersionAndOneArray() {
        #expect(MemoryLayout<OriginLog>.stride <= 56)
    }

    @Test func aMergedRecordIsHeldAsTheSameSharedCopy() {
        var store = InventoryStore(config: .computeMesh)
        let record = GossipFixture.descriptor(1, seq: 1)
        store.merge([record], now: MeshInstant(milliseconds: 100), complete: true)
        let held = store.records(of: GossipFixture.node(1))
        #expect(held.count == 1)
        #expect(held.first?.sharesStorage(with: record) == true)
    }

    @Test func settingAFieldOfACopyLeavesTheOriginalUnchanged() {
        let original = GossipFixture.availability(1, seq: 3)
        var copy = original
        #expect(copy.sharesStorage(with: original))
        copy.sequence = 4
        copy.signature = RecordSignature(Array(repeating: 1, count: 64))
        #expect(original.sequence == 3)
        #expect(original.signature.isEmpty)
        #expect(copy.sequence == 4 && copy.signature.count == 64)
        #expect(!copy.sharesStorage(with: original))
        #expect(copy != original)
        copy.sequence = 3
        copy.signature = RecordSignature()
        // Equal again by value, though stored apart, and hashing agrees.
        #expect(copy == original)
        #expect(copy.hashValue == original.hashValue)
    }
}
