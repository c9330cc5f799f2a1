import MeshCore
import Testing

@testable import MeshMembership

/// The compact member table: lookups, status lists in node order, slot reuse, bulk loading.
@Suite("Membership: the member table")
struct MemberTableTests {
    static func suspicion(_ deadline: UInt64 = 9_000) -> Suspicion {
        Suspicion(
            startedAt: .zero, originator: Fixture.id(99), confirmers: [], minMilliseconds: 1_000, maxMilliseconds: 9_000,
            deadline: Fixture.at(deadline))
    }

    static func suspect(_ n: UInt64, incarnation: UInt64 = 0, by suspecter: UInt64) -> MemberUpdate {
        var update = Fixture.update(n, incarnation: incarnation, status: .suspect)
        update.suspectedBy = Fixture.id(suspecter)
        return update
    }

    @Test func aFactSetIsTheFactReadBackWithItsSuspecterAndTime() {
        var table = MemberTable()
        table.set(Self.suspect(5, incarnation: 3, by: 7), changedAt: Fixture.at(40), suspicion: Self.suspicion())
        #expect(table.update(of: Fixture.id(5)) == Self.suspect(5, incarnation: 3, by: 7))
        #expect(table.changedAt(of: Fixture.id(5)) == Fixture.at(40))
        #expect(table.suspicion(of: Fixture.id(5)) == Self.suspicion())
        // Once alive again, the fact has no suspecter and the suspicion is closed.
        table.set(Fixture.update(5, incarnation: 4), changedAt: Fixture.at(50), suspicion: nil)
        #expect(table.update(of: Fixture.id(5)) == Fixture.update(5, incarnation: 4))
        #expect(table.suspicion(of: Fixture.id(5)) == nil)
        #expect(table.suspects.isEmpty)
        #expect(table.update(of: Fixture.id(6)) == nil)
    }

    @Test func statusListsFollowEachChangeInNodeOrderWhateverTheInsertionOrder() {
        var table = MemberTable()
        for n: UInt64 in [9, 3, 7, 1, 5] { table.set(Fixture.update(n), changedAt: .zero, suspicion: nil) }
        #expect(table.liveNodes == [1, 3, 5, 7, 9].map(Fixture.id))
        table.set(Self.suspect(7, by: 1), changedAt: .zero, suspicion: Self.suspicion())
        table.set(Fixture.update(3, status: .dead), changedAt: .zero, suspicion: nil)
        table.set(Fixture.update(9, status: .left), changedAt: .zero, suspicion: nil)
        #expect(table.liveNodes == [1, 5, 7].map(Fixture.id))
        #expect(table.liveNode(at: 2) == Fixture.id(7))
        #expect(table.suspects.map(\.node) == [Fixture.id(7)])
        #expect(table.goneNodes == [3, 9].map(Fixture.id))
        #expect(table.isLive(Fixture.id(7)) && !table.isLive(Fixture.id(3)))
        #expect(table.allUpdates.map(\.node) == [1, 3, 5, 7, 9].map(Fixture.id))
        #expect(table.count == 5)
    }

    @Test func aForgottenMembersSlotIsReusedAndOldReferencesToItResolveToNothing() {
        var table = MemberTable()
        for n: UInt64 in 1...3 { table.set(Fixture.update(n), changedAt: .zero, suspicion: nil) }
        let before = table.liveRefs
        #expect(before.map { table.node(at: $0) } == [1, 2, 3].map(Fixture.id))
        table.set(Fixture.update(2, status: .dead), changedAt: .zero, suspicion: nil)
        table.remove(Fixture.id(2))
        #expect(!table.contains(Fixture.id(2)) && table.count == 2)
        // A new member takes the freed slot: the reference taken before does not name it.
        table.set(Fixture.update(8), changedAt: .zero, suspicion: nil)
        #expect(before.map { table.node(at: $0) } == [Fixture.id(1), nil, Fixture.id(3)])
        #expect(table.liveNodes == [1, 3, 8].map(Fixture.id))
        #expect(table.liveRefs.map { table.node(at: $0) } == [1, 3, 8].map(Fixture.id))
    }

    @Test func idsThatShareTheirFirstWordAreStillFoundApart() {
        var table = MemberTable()
        let ids = [3, 1, 2].map { NodeID(w0: 42, w1: $0, w2: 0, w3: 0) }
        for (i, id) in ids.enumerated() {
            var update = Fixture.update(UInt64(i))
            update.node = id
            update.incarnation = UInt64(10 + i)
            table.set(update, changedAt: .zero, suspicion: nil)
        }
        for (i, id) in ids.enumerated() { #expect(table.update(of: id)?.incarnation == UInt64(10 + i)) }
        #expect(table.update(of: NodeID(w0: 42, w1: 4, w2: 0, w3: 0)) == nil)
        #expect(table.liveNodes == ids.sorted())
    }

    @Test func aBootstrapListLoadsAsIfSetOneByOneWithTheLaterDuplicateWinning() {
        let list = [
            Fixture.update(4), Fixture.update(2, incarnation: 1), Self.suspect(6, by: 4), Fixture.update(3, status: .dead),
            Fixture.update(2, incarnation: 5),
        ]
        var liveCounts: [Int] = []
        let bulk = MemberTable(list, changedAt: Fixture.at(7)) { live in
            liveCounts.append(live)
            return Self.suspicion()
        }
        var oneByOne = MemberTable()
        for update in list {
            oneByOne.set(update, changedAt: Fixture.at(7), suspicion: update.status == .suspect ? Self.suspicion() : nil)
        }
        #expect(bulk.allUpdates == oneByOne.allUpdates)
        #expect(bulk.allUpdates.first { $0.node == Fixture.id(2) }?.incarnation == 5)
        #expect(bulk.liveNodes == oneByOne.liveNodes && bulk.goneNodes == oneByOne.goneNodes)
        #expect(bulk.suspects == oneByOne.suspects)
        // The suspicion was started knowing every live member of the list (2, 4 and 6).
        #expect(liveCounts == [3])
    }

    @Test func aMemberCostsAboutAHundredBytes() {
        // The slot is the bulk of a member's cost (plus 12 bytes of index and 4 of status list).
        #expect(MemoryLayout<MemberTable.Slot>.stride <= 96)
    }
}
