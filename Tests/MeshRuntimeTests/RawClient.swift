import Foundation
import Glibc
import MeshCore
import MeshRuntime
import MeshWire

/// A plaintext client written from `Protocols/SPEC.md` alone: a blocking loopback socket, the
/// preface, HELLO with the terms it chooses, and whole frames read back with their headers (flags,
/// correlation IDs and sizes), which the transport's own client hides. Blocking: call it through
/// `offPool`.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    var decoder: FrameDecoder
    private(set) var welcome: Welcome?
    /// The first frame the node answered HELLO with, when it was not WELCOME.
    private(set) var refusal: WireMessage?
    /// Frames read but not yet taken.
    private var inbox: [Frame] = []

    /// Connects to `address` (loopback) and sends the preface and HELLO; `hello` when given is
    /// sent as is, else an operator console's HELLO with a random NodeID and `maxFrameBytes`.
    init(
        connectingTo address: NetAddress, hello: Hello? = nil, maxFrameBytes: UInt32 = 1 << 20, readTimeoutSeconds: Int = 5
    ) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("socket: \(errno)") }
        var timeout = timeval(tv_sec: readTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &sin.sin_addr)
        let connected = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw RuntimeError("connect \(address): \(errno)")
        }
        self.fd = fd
        decoder = FrameDecoder(limits: WireLimits(maxFrameBytes: WireLimits.hardMaxFrameBytes), expectsPreface: true)
        let region = try Region("cn-north")
        let hello =
            hello
            ?? Hello(
                nodeID: NodeID(w0: UInt64.random(in: 1...UInt64.max), w1: 0, w2: 0, w3: 0), role: .operatorConsole,
                region: region, listenAddress: nil, maxFrameBytes: maxFrameBytes, incarnation: 0)
        let helloFrame = try FrameEncoder.frame(.hello(hello), correlationID: 1)
        sendRaw(Preface().bytes + helloFrame)
    }

    deinit { Glibc.close(fd) }

    /// Waits for the node's answer to HELLO: true when welcomed.
    func handshake() throws -> Bool {
        guard let frame = try next() else { throw RuntimeError("no answer to HELLO") }
        let message = try message(of: frame)
        if case .welcome(let w) = message {
            welcome = w
            return true
        }
        refusal = message
        return false
    }

    func sendRaw(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    func send(_ message: WireMessage, correlationID: UInt64, flags: FrameFlags = []) throws {
        sendRaw(try FrameEncoder.frame(message, correlationID: correlationID, flags: flags))
    }

    /// The next whole frame, or nil when the stream ended or nothing came within the timeout.
    func next() throws -> Frame? {
        if !inbox.isEmpty { return inbox.removeFirst() }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let frame = try decoder.next() { return frame }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            decoder.append(buffer[0..<n])
        }
    }

    /// Frames until `match` accepts one (that one is returned; the others are kept for `next`), or
    /// nil when the stream ends or goes quiet.
    func next(where match: (Frame) -> Bool) throws -> Frame? {
        var skipped: [Frame] = []
        defer { inbox.insert(contentsOf: skipped, at: 0) }
        while let frame = try next() {
            if match(frame) { return frame }
            skipped.append(frame)
        }
        return nil
    }

    /// The answer with `correlationID` (a response or ERROR).
    func answer(to correlationID: UInt64) throws -> (Frame, WireMessage) {
        guard
            let frame = try next(where: {
                $0.header.correlationID == correlationID && $0.header.type != .event
            })
        else { throw RuntimeError("no answer to request \(correlationID)") }
        return (frame, try message(of: frame))
    }

    /// Every frame that arrives within the read timeout, in order.
    func drain() throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try next() { frames.append(frame) }
        return frames
    }

    func message(of frame: Frame) throws -> WireMessage {
        guard case .message(let message, _, _) = try WireMessage.decode(frame) else {
            throw RuntimeError("frame of type \(frame.header.type) skipped")
        }
        return message
    }
}
