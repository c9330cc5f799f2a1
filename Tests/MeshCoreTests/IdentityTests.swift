import Testing

@testable import MeshCore

@Suite("Identities")
struct IdentityTests {
    @Test func sha256MatchesTheFIPSExamples() {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Hex.encode(SHA256.hash(twoBlocks)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Hex.encode(SHA256.hash(million)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func aNodeIDIsTheHashOfItsPublicKey() throws {
        // RFC 8032 test vector 1's public key.
        let key = Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")!
        let id = NodeID(ed25519PublicKey: key)
        #expect(id.bytes == SHA256.hash(key))
        #expect(try NodeID(hex: id.hex) == id)
        #expect(id.short.count == 12)
    }

    @Test func nodeIDsOrderByTheirBytes() throws {
        let low = try NodeID(hex: String(repeating: "0", count: 63) + "1")
        let high = try NodeID(hex: "1" + String(repeating: "0", count: 63))
        #expect(low < high)
        #expect(Hex.encode(low.bytes) < Hex.encode(high.bytes))
    }

    @Test func badNodeIDTextIsRefusedWithAReason() {
        #expect(throws: VocabularyError.self) { try NodeID(hex: "abc") }
        #expect(throws: VocabularyError.self) { try NodeID(hex: String(repeating: "g", count: 64)) }
    }

    @Test func computeIDsLiveUnderTheirOwnersNamespace() throws {
        let owner = NodeID(ed25519PublicKey: [UInt8](repeating: 7, count: 32))
        let id = try ComputeID(owner: owner, path: ["gpu", "hall-2"])
        #expect(id.description == owner.hex + "/gpu/hall-2")
        #expect(try ComputeID(parsing: id.description) == id)
        #expect(id.localName == "gpu/hall-2")
    }

    @Test func computeIDsRefuseEmptyDeepOrMalformedPaths() {
        let owner = NodeID(ed25519PublicKey: [UInt8](repeating: 7, count: 32))
        #expect(throws: VocabularyError.self) { try ComputeID(owner: owner, path: []) }
        #expect(throws: VocabularyError.self) { try ComputeID(owner: owner, path: Array(repeating: "a", count: 9)) }
        #expect(throws: VocabularyError.self) { try ComputeID(owner: owner, path: ["GPU"]) }
        #expect(throws: VocabularyError.self) { try ComputeID(parsing: owner.hex) }
    }

    @Test func identifierErrorsNameTheProblemAndTheFix() {
        do {
            _ = try Region("CN East")
            Issue.record("accepted an invalid region")
        } catch {
            #expect(error.description.contains("region code"))
            #expect(error.description.contains("lower-case letters"))
        }
        #expect(throws: VocabularyError.self) { try Region(String(repeating: "a", count: 33)) }
        #expect(throws: VocabularyError.self) { try Sector("") }
    }

    @Test func knownSectorsAreSortedAndRecognised() throws {
        #expect(Sector.known == Sector.known.sorted())
        #expect(try Sector("finance").isKnown)
        #expect(try !Sector("astrology").isKnown)
    }

    @Test func uniqueIDsAreDrawnFromTheSeededGeneratorAndNeverZero() throws {
        var a = SeededRandom(seed: 1)
        var b = SeededRandom(seed: 1)
        let x = RequestID.random(using: &a)
        #expect(x == RequestID.random(using: &b))
        #expect(x.value != 0)
        #expect(try RequestID(hex: x.description) == x)
    }

    @Test func rolesParseFromTheirNames() throws {
        #expect(try Role(name: "regional") == .regional)
        #expect(try Role(name: "operator") == .operatorConsole)
        #expect(throws: VocabularyError.self) { try Role(name: "admin") }
    }
}

@Suite("Time")
struct TimeTests {
    @Test func instantsSaturateInsteadOfOverflowing() {
        #expect(MeshInstant(milliseconds: .max - 1) + .seconds(1) == MeshInstant(milliseconds: .max))
    }

    @Test func anAgeIsNeverNegative() {
        let earlier = MeshInstant(milliseconds: 100)
        let later = MeshInstant(milliseconds: 250)
        #expect(later.since(earlier) == .milliseconds(150))
        #expect(earlier.since(later) == .zero)
    }
}
