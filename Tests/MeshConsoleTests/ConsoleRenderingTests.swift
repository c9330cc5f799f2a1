import Foundation
import MeshConsole
import MeshCore
import MeshWire
import Testing

/// The console's answers as the golden vectors of `Protocols/` hold them, rendered as people and
/// scripts read them. Golden texts live in `golden/`; `MESH_WRITE_GOLDEN=1 swift test --filter
/// ConsoleRenderingTests` rewrites them (then read the diff).
@Suite("console rendering")
struct ConsoleRenderingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func message(_ vector: String) throws -> WireMessage {
        let text = try String(contentsOf: root.appendingPathComponent("Protocols/vectors/\(vector).hex"), encoding: .utf8)
        let hex = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: " ")
        let bytes = try #require(Hex.decode(hex), "\(vector).hex is not hex")
        guard case .message(let message, _, _) = try WireMessage.decode(frameBytes: bytes) else {
            throw VectorError(vector: vector)
        }
        return message
    }

    struct VectorError: Error { var vector: String }

    /// Every answer a table is printed for, from its named vector, rendered at `width`.
    static func rendered(width: Int?) throws -> [(String, String)] {
        guard case .status(let status) = try message("status-named"), case .members(let members) = try message("members-rtt"),
            case .inventory(let inventory) = try message("inventory-named"),
            case .placements(let placements) = try message("placements-named"), case .why(let why) = try message("why-named")
        else { throw VectorError(vector: "a named console answer") }
        return [
            ("status", ConsoleText.status(status, width: width)),
            ("members", ConsoleText.members(members, width: width)),
            ("inventory", ConsoleText.inventory(inventory, width: width)),
            ("placements", ConsoleText.placements(placements, width: width)),
            ("why", ConsoleText.why(why, width: width)),
        ]
    }

    static func golden(_ name: String, _ text: String) throws {
        let url = root.appendingPathComponent("Tests/MeshConsoleTests/golden/\(name).txt")
        if ProcessInfo.processInfo.environment["MESH_WRITE_GOLDEN"] == "1" {
            try (text + "\n").write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(text + "\n" == expected, "\(name) differs from golden/\(name).txt:\n\(text)")
    }

    @Test func everyTableFits80ColumnsAndMatchesItsGoldenText() throws {
        for (name, text) in try Self.rendered(width: ConsoleText.defaultWidth) {
            for line in text.split(separator: "\n") {
                #expect(line.count <= 80, "\(name): a line of \(line.count) columns: \(line)")
            }
            try Self.golden("\(name)-80", text)
        }
    }

    @Test func wideShowsEveryColumnInFull() throws {
        for (name, text) in try Self.rendered(width: nil) {
            #expect(!text.contains("…") && !text.contains("--wide shows them"), "\(name) was cut: \(text)")
            try Self.golden("\(name)-wide", text)
        }
    }

    @Test func tablesNameNodesBesideTheirShortIDs() throws {
        let texts = Dictionary(uniqueKeysWithValues: try Self.rendered(width: 80))
        guard case .members(let members) = try Self.message("members-rtt") else { return }
        for row in members.members {
            guard let name = row.update.name else { continue }
            let line = texts["members"]!.split(separator: "\n").first { $0.contains(row.update.node.short) }
            #expect(line?.contains(name.name) == true, "members: \(name) not beside \(row.update.node.short)")
        }
        #expect(texts["why"]!.contains("/"), "why names its pools OWNER/POOL")
    }

    @Test func membersShowTheRoundTripAt80ColumnsWhenItFitsAndADashWhenUnknown() throws {
        guard case .members(let named) = try Self.message("members-named") else { return }
        let node = try #require(named.members.first?.update.node)
        let known = Members(members: named.members, more: false, roundTrips: [MemberRoundTrip(node: node, microseconds: 1_500)])
        let text = ConsoleText.members(known, width: ConsoleText.defaultWidth)
        #expect(text.contains(" rtt") && text.contains("1.5 ms"), "issue 17: \(text)")
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(text)")
        let unknown = ConsoleText.members(Members(members: named.members, more: false), width: nil)
        #expect(unknown.split(separator: "\n").dropFirst().allSatisfy { $0.contains("  -  ") }, "\(unknown)")
    }

    /// Walks a JSON document: enumerations are strings, times RFC 3339 UTC, prices decimals.
    static func checkShape(_ value: Any, path: String = "$") {
        let enumKeys: Set<String> = [
            "role", "status", "verdict", "reason", "result", "kind", "severity", "architecture", "interconnect", "region",
            "residency",
        ]
        let timeKeys: Set<String> = ["now", "decidedAt", "startsAt", "expiresAt", "issuedAt", "validUntil", "at"]
        if let object = value as? [String: Any] {
            for (key, child) in object {
                if enumKeys.contains(key) {
                    #expect(child is String, "\(path).\(key) is \(child), not a string")
                }
                if timeKeys.contains(key) {
                    let text = child as? String ?? ""
                    #expect(
                        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil,
                        "\(path).\(key) = \(child) is not an RFC 3339 UTC time")
                }
                if key.lowercased().hasSuffix("priceperunithour") {
                    #expect(child is NSNumber, "\(path).\(key) = \(child) is not a number")
                }
                checkShape(child, path: "\(path).\(key)")
            }
        } else if let array = value as? [Any] {
            for (i, child) in array.enumerated() { checkShape(child, path: "\(path)[\(i)]") }
        }
    }

    @Test func jsonFormsUseStringEnumsRFC3339TimesAndDecimalPrices() throws {
        guard case .status(let status) = try Self.message("status-named"),
            case .members(let members) = try Self.message("members-rtt"),
            case .inventory(let inventory) = try Self.message("inventory-named"),
            case .placements(let placements) = try Self.message("placements-named"),
            case .why(let why) = try Self.message("why-named")
        else { throw VectorError(vector: "a named console answer") }
        let documents = [
            try ConsoleJSON.encode(StatusJSON(status)), try ConsoleJSON.encode(MembersJSON(members)),
            try ConsoleJSON.encode(InventoryJSON(inventory)), try ConsoleJSON.encode(PlacementsJSON(placements)),
            try ConsoleJSON.encode(WhyJSON(why)),
        ]
        for document in documents {
            let parsed = try JSONSerialization.jsonObject(with: Data(document.utf8))
            Self.checkShape(parsed)
        }
        #expect(documents[0].contains("\"name\" : \"\(status.name?.name ?? "?")\""), "\(documents[0])")
        // A known round trip is a decimal of milliseconds; an unknown one is absent (issue 17).
        #expect(documents[1].contains("\"roundTripMilliseconds\" : 2.5"), "\(documents[1])")
        #expect(documents[1].components(separatedBy: "roundTripMilliseconds").count == members.roundTrips.count + 1)
        let price = try #require(placements.leases.first?.pricePerUnitHour)
        let yuan = "\(Decimal(price.microYuan) / 1_000_000)"
        #expect(documents[3].contains("\"pricePerUnitHour\" : \(yuan)"), "\(documents[3])")
    }
}
