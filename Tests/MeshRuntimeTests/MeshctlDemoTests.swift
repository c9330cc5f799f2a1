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
    static func run(_ arguments: [String], timeoutSeconds: Double = 30) throws -> ProcessRun {
        try runProcess(path, arguments, timeoutSeconds: timeoutSeconds)
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

    func place(_ object: [String: Any]) throws -> ProcessRun {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/request.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return try Meshctl.run(["console", "--node", nowhere, "--plaintext", "place", path])
    }

    func changed(_ key: String, _ value: Any?) -> [String: Any] {
        var object = valid
        object[key] = value
        return object
    }

    @Test func aValidRequestPassesItsChecksAndOnlyFailsToConnect() throws {
        let run = try place(valid)
        #expect(run.status == 2)
        #expect(run.output.contains("cannot reach a node at \(nowhere)"), "\(run.output)")
    }

    @Test func aMisspeltFieldIsNamedWithTheFieldsThatExist() throws {
        let run = try place(changed("acelerator", ["kind": "gpu", "count": 1]))
        #expect(run.status == 2)
        #expect(run.output.contains("unknown field 'acelerator'"), "\(run.output)")
        #expect(run.output.contains("accelerator, computeUnits"), "\(run.output)")
        #expect(!run.output.contains("cannot reach"), "\(run.output)")
    }

    @Test func aMisspeltNestedFieldIsNamedWithItsParent() throws {
        let run = try place(changed("constraints", ["residence": ["cn-north"]]))
        #expect(run.output.contains("unknown field 'constraints.residence'"), "\(run.output)")
    }

    @Test func aMissingRequiredFieldIsNamed() throws {
        let run = try place(changed("computeUnits", nil))
        #expect(run.status == 2)
        #expect(run.output.contains("'computeUnits' is missing"), "\(run.output)")
    }

    @Test func aFieldOfTheWrongTypeIsNamed() throws {
        let run = try place(changed("leaseSeconds", "an hour"))
        #expect(run.output.contains("'leaseSeconds' has the wrong type"), "\(run.output)")
    }

    @Test func anUnknownAcceleratorKindIsNamedWithTheKindsThatExist() throws {
        let run = try place(changed("accelerator", ["kind": "tpu", "count": 4]))
        #expect(run.output.contains("field 'accelerator.kind'"), "\(run.output)")
        #expect(run.output.contains("gpu, npu, fpga, asic"), "\(run.output)")
    }

    @Test func aWeightAbovePermilleIsNamed() throws {
        let run = try place(changed("weights", ["price": 1500]))
        #expect(run.output.contains("field 'weights.price'"), "\(run.output)")
    }

    @Test func anUnknownSectorIsNamedWithTheKnownOnes() throws {
        let run = try place(changed("sector", "piracy"))
        #expect(run.output.contains("field 'sector'"), "\(run.output)")
        #expect(run.output.contains("manufacturing"), "\(run.output)")
    }

    @Test func aBadResidencyRegionIsNamed() throws {
        let run = try place(changed("constraints", ["residency": ["CN North!"]]))
        #expect(run.output.contains("field 'constraints.residency'"), "\(run.output)")
    }

    @Test func zeroComputeUnitsAndAGangOverSeveralPoolsAreRefused() throws {
        let zero = try place(changed("computeUnits", 0))
        #expect(zero.output.contains("field 'computeUnits'"), "\(zero.output)")
        let gang = try place(changed("maxPools", 3))
        #expect(gang.output.contains("field 'maxPools'"), "\(gang.output)")
    }

    @Test func aDeadlineBeyondTheLimitIsNamed() throws {
        let run = try place(changed("deadlineSeconds", 100_000))
        #expect(run.output.contains("field 'deadlineSeconds'"), "\(run.output)")
    }

    @Test func theShippedExampleFilesPassTheirChecks() throws {
        let examples = Meshctl.packageRoot + "/deploy/examples"
        let place = try Meshctl.run(["console", "--node", nowhere, "--plaintext", "place", examples + "/request.json"])
        #expect(place.output.contains("cannot reach a node"), "\(place.output)")
        let register = try Meshctl.run(["console", "--node", nowhere, "--plaintext", "register", examples + "/pool.json"])
        #expect(register.output.contains("cannot reach a node"), "\(register.output)")
    }

    @Test func theShippedExampleNodeConfigurationsLoad() throws {
        for name in ["regional-node.json", "industry-node.json"] {
            let (config, resolved) = try NodeConfiguration.load(Meshctl.packageRoot + "/deploy/examples/" + name)
            #expect(resolved.pools.count == config.pools?.count, "\(name)")
            #expect(!resolved.plaintext, "\(name) should show TLS credentials")
        }
    }

    @Test func aBadPoolFileNamesTheField() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/pool.json"
        let pool: [String: Any] = [
            "name": "a100", "architecture": "x86_64", "computeUnits": 100, "memoryMiB": 1024, "pricePerUnitHour": 2.5,
            "interconnect": "carrier-pigeon",
        ]
        try JSONSerialization.data(withJSONObject: pool).write(to: URL(fileURLWithPath: path))
        let run = try Meshctl.run(["console", "--node", nowhere, "--plaintext", "register", path])
        #expect(run.status == 2)
        #expect(run.output.contains("field 'interconnect'") && run.output.contains("carrier-pigeon"), "\(run.output)")
    }

    @Test func anUnknownCommandAndMissingCredentialsSayWhatToDo() throws {
        let unknown = try Meshctl.run(["console", "--node", nowhere, "--plaintext", "frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.output.contains("unknown console command 'frobnicate'"), "\(unknown.output)")
        let bare = try Meshctl.run(["console", "--node", nowhere, "status"])
        #expect(bare.output.contains("--credentials DIR is required"), "\(bare.output)")
        let missing = try Meshctl.run(["console", "--node", nowhere, "--credentials", "/nonexistent-dir", "status"])
        #expect(missing.output.contains("/nonexistent-dir/node.key is missing"), "\(missing.output)")
    }
}

/// `meshctl demo` as a newcomer runs it: six meshd processes on loopback, driven end to end.
@Suite(.serialized) struct MeshctlDemoTests {
    @Test(.timeLimit(.minutes(2))) func theDemoFormsAMeshPlacesSpillsOverRefusesExplainsAndStopsCleanly() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Meshctl.path), "meshctl not found at \(Meshctl.path)")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Meshctl.run(["demo", "--dir", dir + "/demo"], timeoutSeconds: 110)
        #expect(run.status == 0, "\(run.output)")
        for line in [
            "listening on 127.0.0.1:", "nodes see every member of their region alive", "published as inventory record",
            "PLACED request", "spilled over", "REFUSED request", "CHOSEN", "exit status 0",
            "13 of 13 steps did what they claim", "demo passed",
        ] {
            #expect(run.output.contains(line), "missing '\(line)' in:\n\(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/demo"), "the demo left its directory behind without --keep")
    }
}
