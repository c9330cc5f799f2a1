import Foundation
import MeshRuntime
import MeshTestSupport
import Testing

/// Runs the built `meshctl` (found next to the test bundle, as `swift test` builds every product).
enum Meshctl {
    static var path: String { builtProduct("meshctl") }

    /// The package root (for deploy/examples).
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Runs meshctl to its end; interrupts it after `timeoutSeconds`.
    static func run(_ arguments: [String], timeoutSeconds: Double = 30) async throws -> ProcessRun {
        try await runProcess(path, arguments, timeoutSeconds: timeoutSeconds)
    }
}

/// `meshctl console` checks request and pool files before it connects, naming the bad field; the
/// checks run in the real executable against an address where nothing listens.
@Suite(.timeLimit(.minutes(1))) struct ConsoleRequestFileTests {
    /// A loopback address with nothing listening: a file that passes its checks fails to connect.
    let nowhere = "127.0.0.1:1"

    let valid: [String: Any] = [
        "tenant": "jingjin-securities", "sector": "finance", "idempotencyKey": "risk-model-1",
        "accelerator": ["kind": "gpu", "vendor": "nvidia", "count": 16], "computeUnits": 1600, "memoryMiB": 1_048_576,
        "constraints": ["residency": ["cn-north"], "certifications": ["finance-grade"], "maxPricePerUnitHour": 4.0],
        "weights": ["price": 500, "latency": 300, "green": 200], "leaseSeconds": 3600, "deadlineSeconds": 10,
    ]

    func place(_ object: [String: Any]) async throws -> ProcessRun {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/request.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return try await Meshctl.run(["console", "--node", nowhere, "--plaintext", "place", path])
    }

    func changed(_ key: String, _ value: Any?) -> [String: Any] {
        var object = valid
        object[key] = value
        return object
    }

    @Test func aValidRequestPassesItsChecksAndOnlyFailsToConnect() async throws {
        let run = try await place(valid)
        #expect(run.status == 2)
        #expect(run.output.contains("cannot reach a node at \(nowhere)"), "\(run.output)")
    }

    @Test func aMisspeltFieldIsNamedWithTheNearestFieldThatExists() async throws {
        let run = try await place(changed("acelerator", ["kind": "gpu", "count": 1]))
        #expect(run.status == 2)
        #expect(run.output.contains("unknown field 'acelerator'; did you mean 'accelerator'?"), "\(run.output)")
        #expect(!run.output.contains("cannot reach"), "\(run.output)")
    }

    @Test func aMisspeltNestedFieldIsNamedWithItsParent() async throws {
        let run = try await place(changed("constraints", ["residence": ["cn-north"]]))
        #expect(run.output.contains("unknown field 'constraints.residence'"), "\(run.output)")
    }

    @Test func aMissingRequiredFieldIsNamed() async throws {
        let run = try await place(changed("computeUnits", nil))
        #expect(run.status == 2)
        #expect(run.output.contains("'computeUnits' is missing"), "\(run.output)")
    }

    @Test func aFieldOfTheWrongTypeIsNamed() async throws {
        let run = try await place(changed("leaseSeconds", "an hour"))
        #expect(run.output.contains("field 'leaseSeconds' must be a whole number, not a string"), "\(run.output)")
    }

    @Test func anUnknownAcceleratorKindIsNamedWithTheKindsThatExist() async throws {
        let run = try await place(changed("accelerator", ["kind": "tpu", "count": 4]))
        #expect(run.output.contains("field 'accelerator.kind'"), "\(run.output)")
        #expect(run.output.contains("gpu, npu, fpga, asic"), "\(run.output)")
    }

    @Test func aWeightAbovePermilleIsNamed() async throws {
        let run = try await place(changed("weights", ["price": 1500]))
        #expect(run.output.contains("field 'weights.price'"), "\(run.output)")
    }

    @Test func anUnknownSectorIsNamedWithTheKnownOnes() async throws {
        let run = try await place(changed("sector", "piracy"))
        #expect(run.output.contains("field 'sector'"), "\(run.output)")
        #expect(run.output.contains("manufacturing"), "\(run.output)")
    }

    @Test func aBadResidencyRegionIsNamed() async throws {
        let run = try await place(changed("constraints", ["residency": ["CN North!"]]))
        #expect(run.output.contains("field 'constraints.residency'"), "\(run.output)")
    }

    @Test func zeroComputeUnitsAndAGangOverSeveralPoolsAreRefused() async throws {
        let zero = try await place(changed("computeUnits", 0))
        #expect(zero.output.contains("field 'computeUnits'"), "\(zero.output)")
        let gang = try await place(changed("maxPools", 3))
        #expect(gang.output.contains("field 'maxPools'"), "\(gang.output)")
    }

    @Test func aDeadlineBeyondTheLimitIsNamed() async throws {
        let run = try await place(changed("deadlineSeconds", 100_000))
        #expect(run.output.contains("field 'deadlineSeconds'"), "\(run.output)")
    }

    @Test func theShippedExampleFilesPassTheirChecks() async throws {
        let examples = Meshctl.packageRoot + "/deploy/examples"
        let place = try await Meshctl.run(["console", "--node", nowhere, "--plaintext", "place", examples + "/request.json"])
        #expect(place.output.contains("cannot reach a node"), "\(place.output)")
        let register = try await Meshctl.run(["console", "--node", nowhere, "--plaintext", "register", examples + "/pool.json"])
        #expect(register.output.contains("cannot reach a node"), "\(register.output)")
    }

    @Test func theShippedExampleNodeConfigurationsLoad() async throws {
        for name in ["regional-node.json", "industry-node.json"] {
            let (config, resolved) = try NodeConfiguration.load(Meshctl.packageRoot + "/deploy/examples/" + name)
            #expect(resolved.pools.count == config.pools?.count, "\(name)")
            #expect(!resolved.plaintext, "\(name) should show TLS credentials")
        }
    }

    @Test func aBadPoolFileNamesTheField() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/pool.json"
        let pool: [String: Any] = [
            "name": "a100", "architecture": "x86_64", "computeUnits": 100, "memoryMiB": 1024, "pricePerUnitHour": 2.5,
            "interconnect": "carrier-pigeon",
        ]
        try JSONSerialization.data(withJSONObject: pool).write(to: URL(fileURLWithPath: path))
        let run = try await Meshctl.run(["console", "--node", nowhere, "--plaintext", "register", path])
        #expect(run.status == 2)
        #expect(run.output.contains("field 'interconnect'") && run.output.contains("carrier-pigeon"), "\(run.output)")
    }

    @Test func anUnknownCommandAndMissingCredentialsSayWhatToDo() async throws {
        let unknown = try await Meshctl.run(["console", "--node", nowhere, "--plaintext", "frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.output.contains("unknown command 'frobnicate'"), "\(unknown.output)")
        let bare = try await Meshctl.run(["console", "--node", nowhere, "status"])
        #expect(bare.output.contains("--credentials DIR is required"), "\(bare.output)")
        let missing = try await Meshctl.run(["console", "--node", nowhere, "--credentials", "/nonexistent-dir", "status"])
        #expect(missing.output.contains("/nonexistent-dir/node.key is missing"), "\(missing.output)")
    }
}

/// `meshctl demo` as a newcomer runs it: six meshd processes on loopback, driven end to end.
@Suite(.serialized) struct MeshctlDemoTests {
    @Test(.timeLimit(.minutes(2))) func theDemoFormsAMeshPlacesSpillsOverRefusesExplainsAndStopsCleanly() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Meshctl.path), "meshctl not found at \(Meshctl.path)")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await Meshctl.run(["demo", "--dir", dir + "/demo"], timeoutSeconds: 110)
        #expect(run.status == 0, "\(run.output)")
        for line in [
            "listening on 127.0.0.1:", "nodes see every member of their region alive", "published as inventory record",
            "PLACED request", "spilled over", "REFUSED request", "CHOSEN", "exit status 0",
            "13 of 13 steps did what they claim", "demo passed",
        ] {
            #expect(run.output.contains(line), "missing '\(line)' in:\n\(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/demo"), "the demo left its directory behind without --keep")
        #expect(!run.output.contains("The live console on"), "output that is not a terminal keeps the demo headless")
    }

    @Test(.timeLimit(.minutes(1))) func theDemoOffersToStayHeadlessOnATerminal() async throws {
        let help = try await Meshctl.run(["demo", "--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("--no-console"), "\(help.output)")
    }
}
