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
