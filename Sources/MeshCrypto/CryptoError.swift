internal import COpenSSL
import Foundation

/// A failure in key handling, certificate issuance or parsing: what was attempted, and what
/// OpenSSL said (its error queue, drained).
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What we were doing, e.g. "read private key from /etc/mesh/node.key".
    public var operation: String
    /// The OpenSSL error queue at the time, oldest first (may be empty).
    public var details: [String]

    public init(_ operation: String, details: [String] = []) {
        self.operation = operation
        self.details = details
    }

    /// Captures and clears the calling thread's OpenSSL error queue.
    static func openSSL(_ operation: String) -> CryptoError {
        CryptoError(operation, details: drainOpenSSLErrors())
    }

    public var description: String {
        details.isEmpty ? operation : "\(operation): \(details.joined(separator: "; "))"
    }
}

/// Empties the calling thread's OpenSSL error queue, returning its entries as text.
func drainOpenSSLErrors() -> [String] {
    var out: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        out.append(String(cString: buffer))
        if out.count >= 16 { break }
    }
    return out
}

/// Reads everything written to a memory BIO.
func memoryBIOContents(_ bio: OpaquePointer) -> [UInt8] {
    var pointer: UnsafeMutablePointer<CChar>? = nil
    let length = cmesh_bio_mem_data(bio, &pointer)
    guard length > 0, let pointer else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
}

/// Runs `body` with a read-only memory BIO over `bytes`.
func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T) -> T {
    bytes.withUnsafeBytes { raw in
        let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))!
        defer { BIO_free(bio) }
        return body(bio)
    }
}

/// Writes `bytes` to `path`, creating it with mode 0600 (owner read/write only) and forcing
/// that mode even when the file existed: private keys must never be readable by others.
func writeFile(_ bytes: [UInt8], to path: String, mode: mode_t) throws(CryptoError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    if fd < 0 { throw CryptoError("create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    if fchmod(fd, mode) != 0 { throw CryptoError("chmod \(path): \(String(cString: strerror(errno)))") }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CryptoError("write \(path): \(String(cString: strerror(errno)))")
        }
        written += n
    }
}

/// Reads a whole file.
func readFile(_ path: String) throws(CryptoError) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw CryptoError("read \(path): cannot open") }
    return [UInt8](data)
}
