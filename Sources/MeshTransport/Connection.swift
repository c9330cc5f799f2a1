import CLinuxShim
import Glibc
import MeshCore
import MeshCrypto
import MeshWire

/// One TCP connection, owned by the loop thread: TLS (optional), the preface, HELLO/WELCOME,
/// frame decoding through the ``ConnectionGate``, prioritised bounded output, and deadlines.
///
/// Performance: the mutable state touched once per frame is marked `@exclusivity(unchecked)`.
/// Only the loop thread touches it, and no access to one of these properties is ever nested
/// inside another access to the same property (the owner's event handler runs between
/// accesses, never inside one), so the dynamic exclusivity checks (several per frame, 5–9 % of
/// the CPU at 32 requests in flight) prove nothing here.
final class Connection: EventLoopHandler {
    enum Phase: Equatable {
        /// Non-blocking connect in progress.
        case connecting
        /// TCP is up; TLS and/or HELLO/WELCOME in progress.
        case handshaking
        /// WELCOME sent or received.
        case open
        /// Flushing what is queued (ERROR, REJECT, GOAWAY), then closing; input is ignored.
        case closing
        case closed
    }

    let id: ConnectionID
    let fd: Int32
    let inbound: Bool
    /// Unowned without reference counting: the transport owns every connection and outlives it
    /// (``Transport/shutdown()`` closes them all before the loop stops), and this is read
    /// several times per frame.
    unowned(unsafe) let transport: Transport
    /// The transport's event route (a strong reference of our own: see ``EventRoute``).
    let route: EventRoute
    /// ``TransportConfiguration/maxOutboundBytes``, read once per send.
    let maxOutboundBytes: Int
    let remote: SocketAddress?
    @exclusivity(unchecked) var phase: Phase
    let tls: TLSEngine?
    @exclusivity(unchecked) var decoder: FrameDecoder
    @exclusivity(unchecked) var gate: ConnectionGate
    var logger: TransportLogger

    @exclusivity(unchecked) private var controlOut: [UInt8] = []
    @exclusivity(unchecked) private var bulkOut: [UInt8] = []
    @exclusivity(unchecked) private var wire: [UInt8] = []
    @exclusivity(unchecked) private var wireOffset = 0
    @exclusivity(unchecked) private var writeInterest = false
    private var sentCloseNotify = false

    let createdAt: UInt64
    @exclusivity(unchecked) var lastWriteProgress: UInt64
    @exclusivity(unchecked) var partialFrameSince: UInt64? = nil
    var closeDeadline: UInt64? = nil
    var goAwayDeadline: UInt64? = nil
    var connectDeadline: UInt64? = nil
    /// Set by a GOAWAY we sent: requests above it are refused.
    @exclusivity(unchecked) var goAwayLastCorrelationID: UInt64? = nil
    @exclusivity(unchecked) var highestDeliveredCorrelationID: UInt64 = 0
    /// The correlation ID of the peer's HELLO, which WELCOME or REJECT echoes (SPEC §8.1.5).
    var helloCorrelationID: UInt64 = 1
    var peer: PeerInfo? = nil
    var closeReason = ""
    @exclusivity(unchecked) var framesDelivered = 0
    @exclusivity(unchecked) var isDirty = false
    /// Resumed when a connection we opened is welcomed or fails.
    var onOutcome: ((Result<PeerInfo, TransportError>) -> Void)? = nil

    init(id: ConnectionID, fd: Int32, inbound: Bool, transport: Transport, remote: SocketAddress?, tls: TLSEngine?, now: UInt64) {
        self.id = id
        self.fd = fd
        self.inbound = inbound
        self.transport = transport
        route = transport.route
        maxOutboundBytes = transport.configuration.maxOutboundBytes
        self.remote = remote
        self.tls = tls
        let configuration = transport.configuration
        decoder = FrameDecoder(limits: WireLimits(maxFrameBytes: configuration.maxFrameBytes), expectsPreface: true)
        gate = ConnectionGate(configuration: configuration.gate)
        logger = transport.logger.with("conn.id", id.description).with("peer.address", remote?.description ?? "?")
            .with("conn.direction", inbound ? "in" : "out")
        phase = inbound ? .handshaking : .connecting
        // A connecting socket is registered for EPOLLOUT (to learn when the connect finishes).
        writeInterest = !inbound
        createdAt = now
        lastWriteProgress = now
    }

    var queuedBytes: Int { controlOut.count + bulkOut.count + wire.count - wireOffset }
    var isHandshaking: Bool { phase == .handshaking || phase == .connecting }

    // MARK: - Starting

    /// TCP is up (accepted, or the connect finished): start TLS, or the preface in plaintext.
    func start() {
        phase = .handshaking
        if let tls {
            if !inbound { advanceTLS(tls) }
        } else {
            sendPrefaceAndHello()
        }
        markDirty()
    }

    private func sendPrefaceAndHello() {
        controlOut += Preface().bytes
        if !inbound {
            let id = transport.configuration.identity
            let hello = Hello(
                nodeID: id.nodeID, role: id.role, region: id.region, sectors: id.sectors, listenAddress: id.listenAddress,
                maxFrameBytes: UInt32(transport.configuration.maxFrameBytes), features: id.features, incarnation: id.incarnation,
                software: id.software, name: id.name)
            appendFrame(.hello(hello), correlationID: 1, priority: .control, force: true)
        }
    }

    // MARK: - Events

    func handle(events: UInt32) {
        if phase == .closed { return }
        if phase == .connecting {
            if events & (cmesh_epollout() | cmesh_epollerr() | cmesh_epollhup()) != 0 { finishConnect() }
            return
        }
        if events & (cmesh_epollin() | cmesh_epollerr() | cmesh_epollhup() | cmesh_epollrdhup()) != 0 {
            readAvailable()
            // Answers to what was just read go out now, in one write, so the peer can work on
            // them while this loop reads its other connections (as frame-echo does); output
            // queued from elsewhere waits for the end of the loop iteration.
            if isDirty && phase != .closed { flush() }
        }
        if phase != .closed && events & cmesh_epollout() != 0 { flush() }
    }

    private func finishConnect() {
        var error: Int32 = 0
        var length = socklen_t(4)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        if error != 0 {
            fail(.connectFailed(remote ?? SocketAddress(host: "?", port: 0), Sockets.errorText(error)))
            return
        }
        connectDeadline = nil
        setWriteInterest(false)
        logger.debug("connected; starting the handshake")
        start()
    }

    private func readAvailable() {
        let buffer = transport.readBuffer
        for _ in 0..<16 {
            if phase == .closed || phase == .closing { return }
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n == 0 {
                close(isHandshaking ? "the peer closed the connection during the handshake" : "the peer closed the connection")
                return
            }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                if errno == EINTR { continue }
                close("recv: \(Sockets.errorText())")
                return
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if let tls {
                // Once established, OpenSSL reads the ciphertext where it lies in the receive
                // buffer; during the handshake the engine keeps a copy.
                var lent = chunk
                if !tls.isEstablished {
                    tls.receiveCiphertext(chunk)
                    lent = UnsafeRawBufferPointer(start: nil, count: 0)
                    advanceTLS(tls)
                    if !tls.isEstablished || phase == .closed { continue }
                }
                do {
                    // Straight from OpenSSL's output into the frame decoder (one memcpy).
                    try tls.readPlaintext(ciphertext: lent) { decoder.append($0) }
                } catch {
                    close(error == .closed ? "the peer closed the TLS session" : "\(error)")
                    return
                }
            } else {
                decoder.append(chunk)
            }
            processFrames()
            if n < buffer.count { return }
        }
    }

    private func advanceTLS(_ tls: TLSEngine) {
        do {
            if try tls.advance() {
                logger.debug("TLS established (\(tls.protocolVersion))")
                if !inbound, let refusal = serverRefusal(tls) {
                    // Refused before our HELLO goes out.
                    refuseAndClose("the server's certificate is refused: \(refusal)", reject: nil)
                    return
                }
                sendPrefaceAndHello()
            }
        } catch {
            var pending: [UInt8] = []
            tls.takeCiphertext(into: &pending)  // the alert, best effort
            if !pending.isEmpty { _ = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            route.counters.refusedHandshakes += 1
            close("refused in the TLS handshake: \(error)")
            return
        }
        markDirty()
    }

    /// Why the server's certificate is refused, if it is: the TLS engine checks it against the
    /// trust of the configuration; the revocations applied since (``Transport/applyRevocations(_:)``)
    /// are checked here.
    private func serverRefusal(_ tls: TLSEngine) -> CertificateError? {
        if let refusal = tls.peerRefusal { return refusal }
        guard let trust = transport.currentTrust else { return nil }
        do {
            _ = try trust.checkBinding(chain: tls.peerChain, allowedRoles: Role.allCases)
            return nil
        } catch {
            return error
        }
    }

    /// Why this connection's peer is revoked under `trust`, if it is: by the NodeID it was
    /// admitted as, or (TLS) by its certificate's NodeID or serial, also while still handshaking.
    func revocation(under trust: FederationTrust) -> String? {
        if let peer, let reason = trust.revoked[peer.nodeID] { return "the peer \(peer.nodeID.short) is revoked (\(reason))" }
        guard let tls, tls.isEstablished else { return nil }
        do {
            _ = try trust.checkBinding(chain: tls.peerChain, allowedRoles: Role.allCases)
            return nil
        } catch {
            if case .revoked = error { return "the peer's certificate is revoked: \(error)" }
            return nil
        }
    }

    // MARK: - Frames

    /// Decodes and delivers every complete frame buffered (all of one read, so a whole batch of
    /// pipelined requests is handled before the loop writes the answers in one send).
    private func processFrames() {
        let now = monotonicMilliseconds()
        let instant = MeshInstant(milliseconds: now)
        let keepsFrameBytes = transport.configuration.keepsFrameBytes
        // Nothing is appended to the decoder during this loop, so its buffer is read once (one
        // retain, not one per frame).
        let bytes = decoder.bufferedBytes
        while phase == .handshaking || phase == .open {
            // The frame is decoded where it lies in the decoder's buffer: no allocation of its
            // own unless the owner asked for raw frames.
            let located: FrameDecoder.LocatedFrame
            do {
                guard let next = try decoder.nextInPlace() else { break }
                located = next
            } catch {
                // A framing error: the header could not be read, so ERROR names no type (SPEC §7.3).
                judge(inbound ? gate.onDecodeError(error, correlationID: 0, at: instant) : nil, error, 0, type: nil)
                return
            }
            // Decoded messages are switched on directly (not bound to a variable first), judged
            // by their type rather than passed to the gate, and handed to the delivery functions
            // by reference: each move is a copy.
            do {
                let decoded = try WireMessage.decode(bytes: bytes, start: located.start, end: located.end, limits: decoder.limits)
                let frame = keepsFrameBytes ? Frame(located: located, in: bytes) : nil
                switch decoded {
                case .skipped(let type, let typeVersion, let correlationID):
                    guard inbound else { continue }
                    let skipped = DecodedFrame.skipped(type: type, typeVersion: typeVersion, correlationID: correlationID)
                    switch gate.decide(skipped, at: instant) {
                    case .deliver, .skip: continue
                    case .refuse(let error, let correlationID, let close):
                        refuseFrame(error, correlationID: correlationID, type: type, close: close)
                    }
                case .message(let message, let correlationID, _):
                    let type = message.type
                    guard inbound else {
                        deliverOutbound(message, correlationID: correlationID, type: type, frame: frame)
                        continue
                    }
                    let decision = gate.decide(
                        type: type, correlationID: correlationID, isRequest: message.isRequest, at: instant)
                    switch decision {
                    case .deliver: deliverInbound(message, correlationID: correlationID, type: type, frame: frame)
                    case .skip: continue
                    case .refuse(let error, let correlationID, let close):
                        refuseFrame(error, correlationID: correlationID, type: type, close: close)
                    }
                }
            } catch {
                // The header was read (the frame is whole): ERROR echoes its correlation ID and
                // names its type, known or not (SPEC §6.3.5, §7.3).
                let header = FrameHeader(reading: bytes, at: located.start)
                let verdict = inbound ? gate.onDecodeError(error, correlationID: header.correlationID, at: instant) : nil
                judge(verdict, error, header.correlationID, type: header.type)
                continue
            }
        }
        partialFrameSince = decoder.bufferedByteCount > 0 ? (partialFrameSince ?? now) : nil
    }

    private func judge(
        _ verdict: ConnectionGate.Verdict?, _ error: WireError, _ correlationID: UInt64, type: MessageType?
    ) {
        guard let verdict else {
            refuseFrame(error, correlationID: correlationID, type: type, close: true)
            return
        }
        switch verdict {
        case .refuse(let e, let c, let close): refuseFrame(e, correlationID: c, type: type, close: close)
        case .deliver, .skip: preconditionFailure("a decode error produced \(verdict)")
        }
    }

    private func refuseFrame(_ error: WireError, correlationID: UInt64, type: MessageType?, close shouldClose: Bool) {
        route.counters.refusedFrames += 1
        logger.info("refused a frame: \(error)\(shouldClose ? "; closing" : "")")
        appendFrame(.error(ErrorMessage(error, frameType: type)), correlationID: correlationID, priority: .control, force: true)
        if shouldClose { closeAfterFlush("refused: \(error)") }
    }

    /// Acceptor side: HELLO is judged here; everything else goes to the owner.
    @inline(__always)
    private func deliverInbound(_ message: WireMessage, correlationID: UInt64, type: MessageType, frame: Frame?) {
        // Pattern matches are behind type checks: a match copies the whole message.
        if type == .hello, case .hello(let hello) = message {
            helloCorrelationID = correlationID
            admit(hello)
            return
        }
        if let last = goAwayLastCorrelationID, correlationID > last, message.isRequest {
            refuseFrame(
                WireError(.unexpectedMessage, at: 0, "request \(correlationID) after GOAWAY (last \(last))"),
                correlationID: correlationID, type: type, close: false)
            if gate.inFlight > 0 { gate.responseSent() }
            return
        }
        if type == .goAway, case .goAway(let goAway) = message { peerSentGoAway(goAway) }
        highestDeliveredCorrelationID = max(highestDeliveredCorrelationID, correlationID)
        framesDelivered += 1
        route.counters.framesDelivered += 1
        route.emit(.frame(id, message, correlationID: correlationID, frame: frame))
    }

    /// Connector side: WELCOME or REJECT first, then frames.
    @inline(__always)
    private func deliverOutbound(_ message: WireMessage, correlationID: UInt64, type: MessageType, frame: Frame?) {
        if phase == .handshaking {
            switch message {
            case .welcome(let welcome):
                if let binding = tls?.peer?.binding, binding.nodeID != welcome.nodeID {
                    refuseAndClose("WELCOME names \(welcome.nodeID.short), the certificate \(binding.nodeID.short)", reject: nil)
                    return
                }
                decoder.limits.maxFrameBytes = Int(welcome.maxFrameBytes)
                let info = PeerInfo(
                    nodeID: welcome.nodeID, role: welcome.role, region: welcome.region, address: remote, inbound: false,
                    certificate: tls?.peer?.binding, listenAddress: remote.map { NetAddress(host: $0.host, port: $0.port) },
                    incarnation: welcome.incarnation, name: welcome.name, maxFrameBytes: Int(welcome.maxFrameBytes),
                    features: welcome.features)
                opened(info)
            case .reject(let reject):
                fail(.rejected(reject.reason, reject.message))
            default:
                refuseAndClose("\(message.type.name ?? "?") before WELCOME", reject: nil)
            }
            return
        }
        if type == .hello || type == .welcome || type == .reject {
            refuseFrame(
                WireError(.unexpectedMessage, at: 0, "\(type.name ?? "?") after the handshake"), correlationID: correlationID,
                type: type, close: true)
            return
        }
        if type == .goAway, case .goAway(let goAway) = message { peerSentGoAway(goAway) }
        framesDelivered += 1
        route.counters.framesDelivered += 1
        route.emit(.frame(id, message, correlationID: correlationID, frame: frame))
    }

    private func peerSentGoAway(_ goAway: GoAway) {
        logger.info("the peer sent GOAWAY (\(goAway.reason)): \(goAway.message)")
        let drain = min(goAway.drain.milliseconds, 60_000)
        goAwayDeadline = monotonicMilliseconds() + drain
    }

    private func admit(_ hello: Hello) {
        let configuration = transport.configuration
        var reason: RejectReason? = nil
        var text = ""
        var certificate: NodeBinding? = nil
        if let tls {
            var refusal = tls.peerRefusal
            if refusal == nil, let trust = transport.currentTrust {
                let chain = tls.peerChain
                do {
                    certificate = try trust.checkBinding(chain: chain, allowedRoles: configuration.acceptedPeerRoles)
                        .binding
                } catch { refusal = error }
            }
            if let refusal {
                text = refusal.description
                switch refusal {
                case .expired, .notYetValid: reason = .certificateExpired
                case .revoked: reason = .revoked
                case .nodeIDMismatch: reason = .nodeIDMismatch
                case .wrongRole: reason = .roleNotAllowed
                case .noCertificate, .foreignRoot, .selfSigned, .badBinding, .invalid: reason = .notAdmitted
                }
            } else if let certificate {
                if hello.nodeID != certificate.nodeID {
                    (reason, text) = (
                        .nodeIDMismatch, "HELLO names \(hello.nodeID.short), the certificate \(certificate.nodeID.short)"
                    )
                } else if hello.role != certificate.role {
                    (reason, text) = (
                        .roleNotAllowed, "HELLO claims role \(hello.role), the certificate says \(certificate.role)"
                    )
                } else if hello.region != certificate.region {
                    (reason, text) = (
                        .regionMismatch, "HELLO claims region \(hello.region), the certificate says \(certificate.region)"
                    )
                }
            }
        }
        if reason == nil && !configuration.acceptedPeerRoles.contains(hello.role) {
            (reason, text) = (.roleNotAllowed, "a \(hello.role) node may not connect here")
        }
        if reason == nil, let revoked = transport.currentTrust?.revoked[hello.nodeID] {
            (reason, text) = (.revoked, "node \(hello.nodeID.short) is revoked (\(revoked))")
        }
        if reason == nil, configuration.refusesDuplicateNodes, transport.hasOpenInbound(from: hello.nodeID, other: self) {
            (reason, text) = (
                .duplicateNode,
                "a connection from node \(hello.nodeID.short) is already open here; close it first, or retry once it has gone"
            )
        }
        if let reason {
            route.counters.refusedHandshakes += 1
            let retryAfter: MeshDuration = reason == .duplicateNode ? .milliseconds(1_000) : .zero
            appendFrame(
                .reject(Reject(reason: reason, message: text.truncated(toUTF8Bytes: 512), retryAfter: retryAfter)),
                correlationID: helloCorrelationID, priority: .control, force: true)
            gate.close()
            closeAfterFlush("HELLO rejected (\(reason)): \(text)")
            return
        }
        let id = configuration.identity
        let maxFrame = min(UInt32(configuration.maxFrameBytes), hello.maxFrameBytes)
        let welcome = Welcome(
            nodeID: id.nodeID, role: id.role, region: id.region, maxFrameBytes: maxFrame,
            features: id.features.intersection(hello.features), serverTime: MeshInstant(milliseconds: wallClockMilliseconds()),
            incarnation: id.incarnation, software: id.software, name: id.name)
        appendFrame(.welcome(welcome), correlationID: helloCorrelationID, priority: .control, force: true)
        gate.admit(role: hello.role)
        decoder.limits.maxFrameBytes = Int(maxFrame)
        opened(
            PeerInfo(
                nodeID: hello.nodeID, role: hello.role, region: hello.region, address: remote, inbound: true,
                certificate: certificate, listenAddress: hello.listenAddress, incarnation: hello.incarnation,
                name: hello.name, maxFrameBytes: Int(maxFrame), features: welcome.features))
    }

    private func opened(_ info: PeerInfo) {
        phase = .open
        peer = info
        logger = logger.with("peer.id", info.nodeID.short)
        logger.info("open: \(info.role) node \(info.nodeID.short) in \(info.region)")
        if let onOutcome {
            self.onOutcome = nil
            onOutcome(.success(info))
        }
        route.emit(.opened(id, info))
    }

    // MARK: - Output

    /// Encodes and queues a message. `force` ignores the bound (our own handshake and errors).
    @discardableResult
    func appendFrame(_ message: WireMessage, correlationID: UInt64, priority: SendPriority, force: Bool = false) -> SendResult {
        let bytes: [UInt8]
        do { bytes = try FrameEncoder.frame(message, correlationID: correlationID) } catch {
            preconditionFailure("our own \(message.type) does not fit a frame: \(error)")
        }
        return appendBytes(bytes, priority: priority, force: force)
    }

    /// A frame larger than the limit in force is never sent (SPEC §3.2): the owner should have
    /// paged it. A response is replaced by ERROR `internal-error` with its correlation ID, so the
    /// request is still answered; anything else is dropped and logged.
    func oversized(_ bytes: [UInt8], responds: Bool) -> SendResult {
        let header = FrameHeader(reading: bytes, at: 0)
        let limit = decoder.limits.maxFrameBytes
        logger.warning("\(header.type) of \(bytes.count) bytes not sent: the frame limit in force is \(limit)")
        guard responds else { return .notOpen }
        let error = WireError(
            .internalError, at: 0,
            "the answer (\(bytes.count) bytes) exceeds the frame limit in force (\(limit)); ask for a smaller page or negotiate a larger limit"
        )
        return appendFrame(.error(ErrorMessage(error, frameType: nil)), correlationID: header.correlationID, priority: .bulk)
    }

    /// Queues encoded frame bytes.
    func appendBytes(_ bytes: [UInt8], priority: SendPriority, force: Bool = false) -> SendResult {
        if phase == .closed || phase == .closing { return .notOpen }
        if !force && queuedBytes + bytes.count > maxOutboundBytes { return .queueFull }
        if queuedBytes == 0 { lastWriteProgress = monotonicMilliseconds() }
        bytes.withUnsafeBufferPointer { b in
            switch priority {
            case .control: controlOut.append(contentsOf: b)
            case .bulk: bulkOut.append(contentsOf: b)
            }
        }
        markDirty()
        return .queued
    }

    func markDirty() {
        if !isDirty {
            isDirty = true
            transport.dirty.append(self)
        }
    }

    /// Writes as much as the socket takes: control frames first, then bulk.
    func flush() {
        isDirty = false
        if phase == .closed || phase == .connecting { return }
        while true {
            if wireOffset == wire.count {
                wire.removeAll(keepingCapacity: true)
                wireOffset = 0
                refillWire()
                if wire.isEmpty { break }
            }
            let n = wire.withUnsafeBytes { send(fd, $0.baseAddress! + wireOffset, wire.count - wireOffset, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                wireOffset += n
                lastWriteProgress = monotonicMilliseconds()
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                setWriteInterest(true)
                return
            }
            close("send: \(Sockets.errorText())")
            return
        }
        setWriteInterest(false)
        if phase == .closing { close(closeReason) }
    }

    private func refillWire() {
        if let tls {
            tls.takeCiphertext(into: &wire)
            guard tls.isEstablished else { return }
            // Everything queued in this loop iteration goes through SSL_write as one batch (one
            // record per 16 KiB), then out in one send. Control first; bulk in 256 KiB chunks so
            // that control frames queued later wait little.
            while wire.count < 256 << 10 && (!controlOut.isEmpty || !bulkOut.isEmpty) {
                do {
                    if !controlOut.isEmpty {
                        try tls.writePlaintext(controlOut)
                        controlOut.removeAll(keepingCapacity: true)
                    } else if bulkOut.count <= 256 << 10 {
                        try tls.writePlaintext(bulkOut)
                        bulkOut.removeAll(keepingCapacity: true)
                    } else {
                        try tls.writePlaintext(Array(bulkOut[0..<(256 << 10)]))
                        bulkOut.removeSubrange(0..<(256 << 10))
                    }
                } catch {
                    close("\(error)")
                    return
                }
                tls.takeCiphertext(into: &wire)
            }
            if phase == .closing && controlOut.isEmpty && bulkOut.isEmpty && !sentCloseNotify {
                sentCloseNotify = true
                tls.close()
                tls.takeCiphertext(into: &wire)
            }
        } else if bulkOut.isEmpty {
            // The common case: swap buffers so that both keep their capacity.
            swap(&wire, &controlOut)
        } else if controlOut.isEmpty && bulkOut.count <= 256 << 10 {
            swap(&wire, &bulkOut)
        } else {
            wire = takePlaintextChunk()
        }
    }

    /// Control bytes first; bulk in chunks so that control frames queued later wait little.
    private func takePlaintextChunk() -> [UInt8] {
        if !controlOut.isEmpty {
            var out: [UInt8] = []
            swap(&out, &controlOut)
            return out
        }
        if bulkOut.isEmpty { return [] }
        if bulkOut.count <= 256 << 10 {
            var out: [UInt8] = []
            swap(&out, &bulkOut)
            return out
        }
        let out = Array(bulkOut[0..<(256 << 10)])
        bulkOut.removeSubrange(0..<(256 << 10))
        return out
    }

    private func setWriteInterest(_ on: Bool) {
        if on == writeInterest { return }
        writeInterest = on
        transport.loop.modify(fd, events: cmesh_epollin() | cmesh_epollrdhup() | (on ? cmesh_epollout() : 0))
    }

    // MARK: - Closing

    /// Queues nothing more; closes once what is queued has gone (or after one second).
    func closeAfterFlush(_ reason: String) {
        if phase == .closed || phase == .closing { return }
        logger.info("closing after flush: \(reason)")
        phase = .closing
        closeReason = reason
        closeDeadline = monotonicMilliseconds() + 1_000
        markDirty()
    }

    private func refuseAndClose(_ reason: String, reject: Reject?) {
        route.counters.refusedHandshakes += 1
        closeAfterFlush(reason)
    }

    /// Fails a connection we opened.
    func fail(_ error: TransportError) {
        if let onOutcome {
            self.onOutcome = nil
            onOutcome(.failure(error))
        }
        close(error.description)
    }

    /// Closes now.
    func close(_ reason: String) {
        if phase == .closed { return }
        let wasOpen = peer != nil
        phase = .closed
        if let onOutcome {
            self.onOutcome = nil
            onOutcome(.failure(.handshakeFailed(reason)))
        }
        if wasOpen {
            logger.info("closed: \(reason)")
        } else if inbound {
            // Anyone can connect and fail: debug each, and a warning summary at most once a minute.
            logger.debug("an inbound connection failed before WELCOME: \(reason)")
            transport.noteInboundHandshakeFailure(reason)
        } else {
            logger.info("connection refused or failed before WELCOME: \(reason)")
        }
        transport.forget(self)
        if wasOpen { route.emit(.closed(id, reason: reason)) }
    }

    /// Checks every deadline; called on each tick.
    func checkDeadlines(now: UInt64) {
        let c = transport.configuration
        if phase == .closed { return }
        if let connectDeadline, now >= connectDeadline {
            fail(.connectTimedOut(remote ?? SocketAddress(host: "?", port: 0)))
        } else if isHandshaking && now >= createdAt + c.handshakeTimeoutMilliseconds {
            route.counters.refusedHandshakes += 1
            close("the handshake did not complete within \(c.handshakeTimeoutMilliseconds) ms")
        } else if let since = partialFrameSince, now >= since + c.partialFrameTimeoutMilliseconds {
            close("a frame stayed incomplete for \(c.partialFrameTimeoutMilliseconds) ms")
        } else if queuedBytes > 0 && now >= lastWriteProgress + c.writeStallMilliseconds {
            close("slow consumer: \(queuedBytes) bytes queued and no write progress for \(c.writeStallMilliseconds) ms")
        } else if let goAwayDeadline, now >= goAwayDeadline {
            close("GOAWAY drain period over")
        } else if let closeDeadline, now >= closeDeadline {
            close(closeReason)
        } else if goAwayLastCorrelationID != nil && gate.inFlight == 0 && queuedBytes == 0 {
            close("GOAWAY: drained")
        }
    }
}
