import MeshConsole
import Testing

@Suite("tables that fit a terminal")
struct TextTableTests {
    let table = TextTable(
        [
            .init("name", flexible: true), .init("status"), .init("address", priority: 1),
            .init("incarnation", priority: 3, alignRight: true),
        ],
        rows: [
            ["a-rather-long-node-name-for-this-table", "alive", "127.0.0.1:7401", "12"], ["b", "dead", "127.0.0.1:7402", "3"],
        ])

    @Test func theLeastImportantColumnGoesFirstAndTheTableSaysSo() {
        let text = table.render(width: 64)
        #expect(text.split(separator: "\n")[0].hasSuffix("address"), "\(text)")
        #expect(text.hasSuffix("(--wide adds incarnation)"), "\(text)")
        for line in text.split(separator: "\n") { #expect(line.count <= 64, "\(line)") }
    }

    @Test func flexibleColumnsAreCutWithAnEllipsisRatherThanDroppingImportantOnes() {
        let text = table.render(width: 50)
        #expect(text.contains("…") && text.contains("address"), "\(text)")
        for line in text.split(separator: "\n") { #expect(line.count <= 50, "\(line)") }
    }

    @Test func withoutAWidthEverythingIsShownInFull() {
        let text = table.render(width: nil)
        #expect(text.contains("a-rather-long-node-name-for-this-table") && text.contains("incarnation"))
        #expect(!text.contains("--wide adds"))
    }
}
