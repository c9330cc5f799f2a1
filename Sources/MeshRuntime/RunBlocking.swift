import Dispatch
import Foundation
public import MeshCore
import Synchronization

/// Runs `body` on the cooperative pool and waits for it on the calling thread, which must not be
/// one of the pool's: the executables' command functions are synchronous.
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
