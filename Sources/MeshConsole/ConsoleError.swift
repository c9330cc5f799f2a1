import Dispatch
import Foundation
public import MeshCommandLine
public import MeshCore
import Synchronization

// MARK: - Errors

/// A console failure, worded for the operator: what went wrong and what to do.
public struct ConsoleError: ExitStatusError {
    public var description: String
    /// The exit status: 1 when the node refused the request, 2 for everything else.
    public var status: Int32
    public var exitStatus: Int32 { status }
    public init(_ text: String, status: Int32 = 2) {
        description = text
        self.status = status
    }
}

// MARK: - Blocking bridge

/// Runs `body` on the cooperative pool and waits for it on the calling (main) thread; meshctl's
/// command functions are synchronous.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

/// Milliseconds since the Unix epoch: the clock nodes use for instants that travel in frames.
public func wallClockNow() -> MeshInstant { MeshInstant(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000)) }
