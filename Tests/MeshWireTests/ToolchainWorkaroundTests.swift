import Foundation
import Glibc
import MeshCore
import MeshWire
import Testing

/// Swift 6.3.1 at -Onone miscompiles an initialiser that delegates with `self.init(...)` after a
/// typed throw while a value with a `UInt128` enum payload is live: the debug build dies on a
/// misaligned 16-byte load at the end of the initialiser (seen first when LEASE_STATE's data moved
/// into MeshCore). Release builds are fine. The wire codecs therefore end with `self = T(...)`.
@Suite(.timeLimit(.minutes(2)))
struct ToolchainWorkaroundTests {
    /// The smallest program that shows the miscompile: one file, no package.
    static let reproducer = """
        enum Ref { case hold(UInt128), lease(UInt128) }
        struct Pair {
            var ref: Ref
            var flag: UInt8
            init(ref: Ref, flag: UInt8) { self.ref = ref; self.flag = flag }
        }
        struct Failure: Error { var detail: String }
        struct Reader {
            var bytes: [UInt8]
            var offset = 0
            mutating func byte() throws(Failure) -> UInt8 {
                guard offset < bytes.count else { throw Failure(detail: "end") }
                defer { offset += 1 }
                return bytes[offset]
            }
            mutating func read<T: RawRepresentable>() throws(Failure) -> T where T.RawValue == UInt8 {
                guard let value = T(rawValue: try byte()) else { throw Failure(detail: "bad") }
                return value
            }
        }
        enum Flag: UInt8 { case on = 1 }
        extension Pair {
            init(from reader: inout Reader) throws(Failure) {
                let ref = Ref.lease(UInt128(try reader.byte()))
                let flag: Flag = try reader.read()
                self.init(ref: ref, flag: flag.rawValue)  // `self = Pair(ref:flag:)` does not crash
            }
        }
        var reader = Reader(bytes: [7, 1])
        let pair = try Pair(from: &reader)
        print(pair.ref, pair.flag)
        """

    @Test func reservationsDecodeInDebugBuildsBecauseTheCodecsAssignSelf() throws {
        let messages: [WireMessage] = [
            .release(Release(reservation: .hold(HoldID(value: 7)))),
            .release(Release(reservation: .lease(LeaseID(value: UInt128.max)))),
            .leaseStatus(LeaseStatus(reservation: .lease(LeaseID(value: 9)), state: .leased, expiresAt: .zero)),
            .leaseStatus(
                LeaseStatus(reservation: .hold(HoldID(value: 1 << 100)), state: .unknown, expiresAt: MeshInstant(milliseconds: 5))
            ),
        ]
        for message in messages {
            let decoded = try WireMessage.decode(frameBytes: try FrameEncoder.frame(message, correlationID: 1))
            #expect(decoded == .message(message, correlationID: 1, flags: []))
        }
    }

    /// A canary: when it fails, the toolchain no longer miscompiles the reproducer, and the codecs
    /// may go back to `self.init(...)` (then delete this test).
    @Test func theToolchainStillMiscompilesTheReproducerAtOnone() throws {
        let swiftc = ["/opt/swift/usr/bin/swiftc", "/usr/bin/swiftc"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let swiftc else {
            Issue.record("no swiftc found to compile the reproducer")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("main.swift")
        try Data(Self.reproducer.utf8).write(to: source)
        let binary = dir.appendingPathComponent("repro").path
        #expect(try Self.run(swiftc, ["-Onone", source.path, "-o", binary]) == .exited(0))
        let outcome = try Self.run(binary, [])
        #expect(outcome.isCrash, "the reproducer ended with \(outcome): the miscompile is gone")
    }

    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        var isCrash: Bool { if case .signalled(let s) = self { [SIGSEGV, SIGBUS, SIGILL, SIGTRAP].contains(s) } else { false } }
        var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Ending {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
            ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
    }
}
