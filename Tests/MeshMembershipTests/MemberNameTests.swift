import MeshCore
import Testing

@testable import MeshMembership

/// A member's declared name (``MemberUpdate/name``) rides on its facts: relays copy it, a fact
/// without one keeps the name held, and a newer fact with a new name replaces it.
@Suite("Membership: member names")
struct MemberNameTests {
    var rng = SeededRandom(seed: 5)

    static func named(_ n: UInt64, incarnation: UInt64, status: MemberStatus = .alive, _ name: String?) -> MemberUpdate {
        var update = Fixture.update(n, incarnation: incarnation, status: status)
        update.name = name.map { try! NodeName($0) }
        return update
    }

    mutating func push(_ core: inout Membership, from source: UInt64, _ updates: [MemberUpdate], at ms: UInt64) {
        _ = core.onProbe(
            from: Fixture.id(source), fromIncarnation: 0, target: Fixture.id(1), updates: updates, now: Fixture.at(ms), rng: &rng)
    }

    @Test mutating func aMembersNameIsLearnedFromItsFact() throws {
        var core = Fixture.core(members: 10)
        push(&core, from: 2, [Self.named(2, incarnation: 1, "north-2")], at: 0)
        #expect(core.member(Fixture.id(2))?.name == (try NodeName("north-2")))
    }

    @Test mutating func aFactWithoutANameKeepsTheNameHeldAndPassesItOn() throws {
        var core = Fixture.core(members: 10)
        push(&core, from: 2, [Self.named(2, incarnation: 1, "north-2")], at: 0)
        while !core.takeUpdates(limit: 64).isEmpty {}
        // A peer that predates names suspects node 2: the suspicion keeps the name when relayed.
        var suspicion = Self.named(2, incarnation: 1, status: .suspect, nil)
        suspicion.suspectedBy = Fixture.id(3)
        push(&core, from: 3, [suspicion], at: 10)
        #expect(core.member(Fixture.id(2))?.status == .suspect)
        #expect(core.member(Fixture.id(2))?.name == (try NodeName("north-2")))
        #expect(core.takeUpdates(limit: 64).first { $0.node == Fixture.id(2) }?.name == (try NodeName("north-2")))
    }

    @Test mutating func aNewerFactWithANewNameRenamesTheMember() throws {
        var core = Fixture.core(members: 10)
        push(&core, from: 2, [Self.named(2, incarnation: 1, "north-2")], at: 0)
        push(&core, from: 2, [Self.named(2, incarnation: 2, "north-2b")], at: 10)
        #expect(core.member(Fixture.id(2))?.name == (try NodeName("north-2b")))
        // A stale fact with another name changes nothing.
        push(&core, from: 4, [Self.named(2, incarnation: 1, "impostor")], at: 20)
        #expect(core.member(Fixture.id(2))?.name == (try NodeName("north-2b")))
    }
}
