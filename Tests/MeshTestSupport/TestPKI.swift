public import Foundation
import Glibc
public import MeshCore
public import MeshCrypto

/// A federation for tests: a root, one admitted operator, and helpers to issue node certificates.
/// Shared by every test target that needs certificates.
public struct TestPKI: Sendable {
    public let rootKey: Ed25519PrivateKey
    public let root: Certificate
    public let operatorKey: Ed25519PrivateKey
    public let operatorCertificate: Certificate
    public let operatorBinding = OperatorBinding(
        operatorName: "East Compute Co", licenceNumber: "B1-20260001", publicInstitution: false)

    public init() throws {
        rootKey = try Ed25519PrivateKey.generate()
        root = try CertificateAuthority.makeRoot(key: rootKey)
        operatorKey = try Ed25519PrivateKey.generate()
        operatorCertificate = try CertificateAuthority.issueOperator(
            publicKey: operatorKey.publicKey, binding: operatorBinding, root: root, rootKey: rootKey)
    }

    public var trust: FederationTrust { get throws { try FederationTrust(root: root) } }

    public func binding(for key: Ed25519PrivateKey, role: Role = .regional, nodeID: NodeID? = nil) throws -> NodeBinding {
        NodeBinding(
            nodeID: nodeID ?? key.nodeID, role: role, region: try Region("cn-east"), sectors: role == .industry ? [.finance] : [],
            operatorName: operatorBinding.operatorName, licenceNumber: operatorBinding.licenceNumber)
    }

    /// A node identity (key and chain) with the given role and validity.
    public func node(
        role: Role = .regional, validity: CertificateAuthority.Validity = .days(30), mismatchedNodeID: NodeID? = nil
    ) throws -> TLSIdentity {
        let key = try Ed25519PrivateKey.generate()
        let cert = try CertificateAuthority.issueNode(
            publicKey: key.publicKey, binding: try binding(for: key, role: role, nodeID: mismatchedNodeID),
            operatorCertificate: operatorCertificate, operatorKey: operatorKey, validity: validity,
            allowMismatchedNodeID: mismatchedNodeID != nil)
        return TLSIdentity(key: key, chain: [cert, operatorCertificate])
    }
}

/// A fresh directory for one test; the caller removes it (`defer`).
public func temporaryDirectory(_ name: String = #function) throws -> String {
    let path = NSTemporaryDirectory() + "computemesh-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The path of an executable product built next to the test bundle (`swift test` builds every
/// product); when it is missing, the path where it was expected, so a test can say so.
public func builtProduct(_ name: String) -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var dir = bundle
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return bundle.appendingPathComponent(name).path
}

/// What a finished process left: its exit status and its standard output and error, interleaved.
public struct ProcessRun: Sendable {
    public var status: Int32
    public var output: String
}

/// Runs an executable to its end with standard output and error going to a temporary file (not a
/// pipe: a pipe's write end leaks into processes that other tests spawn at the same moment, and
/// reading to end-of-file would then wait for them); interrupts it after `timeoutSeconds`.
/// `environment` adds variables to this process's own, for the child only (tests run in parallel,
/// so a test never changes its own process's environment).
public func runProcess(
    _ executable: String, _ arguments: [String], timeoutSeconds: Double = 30, environment: [String: String] = [:]
) async throws -> ProcessRun {
    try await offPool {
        try runProcessBlocking(executable, arguments, timeoutSeconds: timeoutSeconds, environment: environment)
    }
}

/// Runs blocking work (waiting for a process, a blocking socket) on a Dispatch worker thread, off
/// Swift's cooperative pool: on 2 cores that pool has 2 threads, and a test blocking one of them
/// for seconds delays every other test's `Task.sleep` and async I/O by as much.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

func runProcessBlocking(
    _ executable: String, _ arguments: [String], timeoutSeconds: Double, environment: [String: String] = [:]
) throws -> ProcessRun {
    let outputPath = NSTemporaryDirectory() + "computemesh-run-\(UUID().uuidString).out"
    FileManager.default.createFile(atPath: outputPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    process.standardOutput = output
    process.standardError = output
    try process.run()
    try output.close()
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        process.interrupt()
        let grace = Date().addingTimeInterval(5)
        while process.isRunning && Date() < grace { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    process.waitUntilExit()
    let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
    return ProcessRun(status: process.terminationStatus, output: text)
}
