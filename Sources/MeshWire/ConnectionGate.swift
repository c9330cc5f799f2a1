public import MeshCore

/// The acceptor side's rules for what a connection may deliver, and when (DESIGN.md §6).
///
/// Pure: it sees decoded frames and decoding errors, with the time, and returns a verdict; the
/// transport performs it. It enforces:
/// - **Handshake order**: the first frame must be HELLO; nothing else is delivered before the
///   shell has admitted the peer (``admit(role:)``), because with TLS 1.3 a client may believe
///   the handshake is done before the server has judged its certificate. A frame that arrives
///   too early is refused with ``WireErrorCode/notWelcomed`` and the connection closes.
/// - **Authorisation by range**: an operator console may send control and console messages only;
///   a node may not send console messages.
/// - **A bound on requests in flight** per connection (``Configuration/maxInFlight``).
/// - **A budget of errors** per minute; past it the connection closes with
///   ``WireErrorCode/tooManyErrors``.
public struct ConnectionGate: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Requests (frames with a non-zero correlation ID) delivered and not yet answered.
        public var maxInFlight: Int
        /// Refused frames tolerated within ``errorWindow`` before the connection is closed.
        public var errorBudget: Int
        public var errorWindow: MeshDuration

        public init(maxInFlight: Int = 64, errorBudget: Int = 10, errorWindow: MeshDuration = .seconds(60)) {
            precondition(maxInFlight > 0 && errorBudget > 0, "gate limits must be positive")
            self.maxInFlight = maxInFlight
            self.errorBudget = errorBudget
            self.errorWindow = errorWindow
        }
    }

    public enum State: Sendable, Equatable {
        case awaitingHello
        /// HELLO delivered; the shell is judging it.
        case awaitingAdmission
        case open(peerRole: Role)
        case closed
    }

    /// What to do with one frame.
    public enum Verdict: Sendable, Equatable {
        /// Hand the message to the node.
        case deliver(WireMessage, correlationID: UInt64)
        /// An ignorable frame of an unknown type: drop it silently.
        case skip
        /// Refuse the frame: send ERROR with `error` (echoing `correlationID`); close when `close`.
        case refuse(WireError, correlationID: UInt64, close: Bool)
    }

    public let configuration: Configuration
    public private(set) var state: State = .awaitingHello
    public private(set) var inFlight = 0
    /// Times of recent refusals, oldest first; never longer than the budget.
    private var recentErrors: [MeshInstant] = []

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// The shell admitted the HELLO (and sent WELCOME): from now on the peer is `role`.
    ///
    /// - Precondition: the gate delivered a HELLO and is awaiting admission.
    public mutating func admit(role: Role) {
        precondition(state == .awaitingAdmission, "admit(role:) in state \(state)")
        state = .open(peerRole: role)
    }

    /// The shell refused the HELLO (and sent REJECT), or closed the connection for any reason.
    public mutating func close() { state = .closed }

    /// A response to a delivered request was sent.
    public mutating func responseSent() {
        precondition(inFlight > 0, "responseSent() with nothing in flight")
        inFlight -= 1
    }

    /// What to do with one frame, as ``Verdict`` without a copy of the message: for a shell
    /// that still holds the decoded frame (the transport's hot path).
    public enum Decision: Sendable, Equatable {
        /// Hand the frame's message to the node.
        case deliver
        /// An ignorable frame of an unknown type: drop it silently.
        case skip
        /// Refuse the frame: send ERROR with `error` (echoing `correlationID`); close when `close`.
        case refuse(WireError, correlationID: UInt64, close: Bool)
    }

    /// Judges a frame that decoded.
    public mutating func onFrame(_ frame: DecodedFrame, at now: MeshInstant) -> Verdict {
        switch decide(frame, at: now) {
        case .deliver:
            guard case .message(let message, let correlationID, _) = frame else {
                preconditionFailure("a skipped frame was judged deliverable")
            }
            return .deliver(message, correlationID: correlationID)
        case .skip: return .skip
        case .refuse(let error, let correlationID, let close): return .refuse(error, correlationID: correlationID, close: close)
        }
    }

    /// Judges a frame that decoded, exactly as ``onFrame(_:at:)`` does, returning the decision
    /// without the message (the caller still holds it in `frame`).
    public mutating func decide(_ frame: DecodedFrame, at now: MeshInstant) -> Decision {
        switch frame {
        case .skipped(let type, _, let correlationID):
            switch state {
            case .closed:
                return refusalDecision(.unexpectedMessage, correlationID, "the connection is closed", now, forceClose: true)
            case .awaitingHello, .awaitingAdmission:
                // Nothing but HELLO before WELCOME, not even a frame that would be skipped once
                // open (SPEC §3.5, §8.1).
                return refusalDecision(
                    .notWelcomed, correlationID, "an ignorable frame of type \(type) before WELCOME", now, forceClose: true)
            case .open:
                return .skip
            }
        case .message(let message, let correlationID, _):
            return judge(message, correlationID: correlationID, at: now)
        }
    }

    private mutating func refusalDecision(
        _ code: WireErrorCode, _ correlationID: UInt64, _ detail: String, _ now: MeshInstant, forceClose: Bool
    ) -> Decision {
        switch refusal(code, correlationID, detail, now, forceClose: forceClose) {
        case .refuse(let error, let correlationID, let close): .refuse(error, correlationID: correlationID, close: close)
        case .deliver, .skip: preconditionFailure("a refusal that is not .refuse")
        }
    }

    /// Judges a frame whose body failed to decode. Framing errors (the stream cannot continue)
    /// always close; body errors count against the budget.
    public mutating func onDecodeError(_ error: WireError, correlationID: UInt64, at now: MeshInstant) -> Verdict {
        let framing: Set<WireErrorCode> = [.frameTooLarge, .frameTooShort, .badMagic, .unsupportedVersion]
        if framing.contains(error.code) || state == .awaitingHello {
            state = .closed
            return .refuse(error, correlationID: correlationID, close: true)
        }
        if state == .awaitingAdmission {
            // Anything before WELCOME closes the connection, well-formed or not.
            return refusal(.notWelcomed, correlationID, "a frame before WELCOME (\(error))", now, forceClose: true)
        }
        return countError(error, correlationID: correlationID, now: now, forceClose: false)
    }

    private mutating func judge(_ message: WireMessage, correlationID: UInt64, at now: MeshInstant) -> Decision {
        decide(type: message.type, correlationID: correlationID, isRequest: message.isRequest, at: now)
    }

    /// Judges a message that decoded, by what the rules look at: its type (the frame header's,
    /// which decoding checked), its correlation ID and whether it is a request
    /// (``WireMessage/isRequest``). The same decisions as ``onFrame(_:at:)``, for a shell that
    /// keeps the message where it is (a `WireMessage` is 256 bytes; every copy is a memcpy).
    public mutating func decide(type: MessageType, correlationID: UInt64, isRequest: Bool, at now: MeshInstant) -> Decision {
        switch state {
        case .closed:
            return refusalDecision(.unexpectedMessage, correlationID, "the connection is closed", now, forceClose: true)
        case .awaitingHello:
            guard type == .hello else {
                return refusalDecision(
                    .notWelcomed, correlationID, "\(type.name ?? "?") before HELLO; send HELLO first", now, forceClose: true)
            }
            state = .awaitingAdmission
            return .deliver
        case .awaitingAdmission:
            return refusalDecision(
                .notWelcomed, correlationID, "\(type.name ?? "?") before WELCOME; wait for WELCOME", now, forceClose: true)
        case .open(let role):
            if type == .hello || type == .welcome || type == .reject {
                return refusalDecision(
                    .unexpectedMessage, correlationID, "\(type.name ?? "?") after the handshake", now, forceClose: true)
            }
            let range = type.range
            let allowed: Bool
            switch role {
            // A console may also submit PLACE, RENEW and RELEASE on behalf of a tenant (the
            // tenant's leases, through its entry node, SPEC §6.6.13) and nothing else of the
            // placement range: it can never quote, confirm or commit.
            case .operatorConsole:
                allowed = range == .control || range == .console || type == .place || type == .renew || type == .release
            case .regional, .industry: allowed = range != .console
            }
            if !allowed {
                return refusalDecision(
                    .unauthorized, correlationID, "a \(role) peer may not send \(type.name ?? "?")", now, forceClose: false)
            }
            if correlationID != 0 && isRequest {
                if inFlight >= configuration.maxInFlight {
                    return refusalDecision(
                        .overloaded, correlationID,
                        "\(inFlight) requests in flight; the limit is \(configuration.maxInFlight)", now, forceClose: false)
                }
                inFlight += 1
            }
            return .deliver
        }
    }

    private mutating func refusal(
        _ code: WireErrorCode, _ correlationID: UInt64, _ detail: String, _ now: MeshInstant, forceClose: Bool
    ) -> Verdict {
        countError(WireError(code, at: 0, detail), correlationID: correlationID, now: now, forceClose: forceClose)
    }

    private mutating func countError(_ error: WireError, correlationID: UInt64, now: MeshInstant, forceClose: Bool) -> Verdict {
        recentErrors.removeAll { now.since($0) >= configuration.errorWindow }
        recentErrors.append(now)
        if recentErrors.count > configuration.errorBudget {
            state = .closed
            recentErrors.removeFirst(recentErrors.count - configuration.errorBudget)
            return .refuse(
                WireError(
                    .tooManyErrors, at: error.offset,
                    "more than \(configuration.errorBudget) refused frames within \(configuration.errorWindow); last: \(error)"),
                correlationID: correlationID, close: true)
        }
        if forceClose { state = .closed }
        return .refuse(error, correlationID: correlationID, close: forceClose)
    }
}

extension WireMessage {
    /// Whether the message always gets exactly one answer (a response or an ERROR), and so counts
    /// as in flight while its correlation ID is non-zero. INDIRECT_PROBE is not one: a helper
    /// whose target stays silent may send nothing. SUBSCRIBE and UNSUBSCRIBE take effect without
    /// an answer.
    public var isRequest: Bool {
        switch self {
        case .hello, .ping, .probe, .digest, .place, .quoteRequest, .confirm, .release, .renew, .forward, .statusRequest,
            .membersRequest, .inventoryRequest, .placementsRequest, .whyRequest, .registerPool:
            true
        case .indirectProbe, .subscribe, .unsubscribe, .welcome, .reject, .goAway, .error, .pong, .probeAck, .nack, .delta,
            .regionSummaries, .revocationList, .quote, .refuse, .confirmed, .leaseStatus, .outcome, .status, .members,
            .inventory, .placements, .why, .event, .poolRegistered:
            false
        }
    }
}
