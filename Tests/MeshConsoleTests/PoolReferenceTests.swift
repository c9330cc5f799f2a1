import MeshConsole
import MeshCore
import Testing

@Suite("pool references as tables print them")
struct PoolReferenceTests {
    let north = NodeID(w0: 0x3f2a_9c1d_4e5f_6a7b, w1: 1, w2: 2, w3: 3)
    let east = NodeID(w0: 0x3f2b_0000_0000_0000, w1: 4, w2: 5, w3: 6)
    var names: NodeDirectory {
        var names = NodeDirectory()
        names.add(north, try! NodeName("north-1"))
        return names
    }
    var candidates: [ComputeID] {
        [
            try! ComputeID(owner: north, path: ["a100"]), try! ComputeID(owner: east, path: ["a100"]),
            try! ComputeID(owner: east, path: ["h800"]),
        ]
    }

    @Test func theOwnersNameAndThePoolsLocalNameNameOnePool() throws {
        #expect(try PoolReference("north-1/a100").resolve(among: candidates, names: names) == candidates[0])
    }

    @Test func aPrefixOfTheOwnersIDOfSixDigitsOrMoreNamesOnePool() throws {
        #expect(try PoolReference(east.short + "/a100").resolve(among: candidates, names: names) == candidates[1])
        #expect(try PoolReference("3f2b00/a100").resolve(among: candidates, names: names) == candidates[1])
        #expect(throws: PoolReferenceError.self) { try PoolReference("3f2/a100").resolve(among: candidates, names: names) }
    }

    @Test func theFullComputeIDAndAUniqueLocalNameWorkToo() throws {
        #expect(try PoolReference(candidates[2].description).resolve(among: candidates, names: names) == candidates[2])
        #expect(try PoolReference("h800").resolve(among: candidates, names: names) == candidates[2])
    }

    @Test func anAmbiguousOrUnknownReferenceListsTheCandidates() {
        do {
            _ = try PoolReference("a100").resolve(among: candidates, names: names)
            Issue.record("an ambiguous reference resolved")
        } catch {
            #expect(error.reason == .ambiguous)
            #expect(error.description.contains("north-1/a100") && error.description.contains("write OWNER/POOL"))
        }
        do {
            _ = try PoolReference("north-1/h100").resolve(among: candidates, names: names)
            Issue.record("an unknown reference resolved")
        } catch {
            #expect(error.reason == .noMatch)
            #expect(error.description.contains("its candidates: north-1/a100"))
        }
    }
}
