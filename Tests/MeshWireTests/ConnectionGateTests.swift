import MeshCore
import Testing

@testable import MeshWire

@Suite("Connection gate")
struct ConnectionGateTests {
    let now = MeshInstant(milliseconds: 5000)
    let hello = Fixtures.cases.first { $0.name == "hello" }!.message
    let status = WireMessage.statusRequest(StatusRequest())

    @Test func deliversHelloThenHoldsEverythingUntilAdmission() {
        var gate = ConnectionGate()
        #expect(gate.onFrame(.message(hello, correlationID: 1, flags: []), at: now) == .deliver(hello, correlationID: 1))
        #expect(gate.state == .awaitingAdmission)
        let early = gate.onFrame(.message(.ping(Ping(nonce: 1, sentAt: now)), correlationID: 2, flags: []), at: now)
        guard case .refuse(let error, _, let close) = early else {
            Issue.record("a frame before WELCOME was not refused: \(early)")
            return
        }
        #expect(error.code == .notWelcomed)
        #expect(close)
        #expect(gate.state == .closed)
    }

    @Test func aMalformedFrameBeforeWelcomeAlsoCloses() {
        var gate = ConnectionGate()
        _ = gate.onFrame(.message(hello, correlationID: 1, flags: []), at: now)
        let verdict = gate.onDecodeError(WireError(.truncated, at: 16, "short"), correlationID: 2, at: now)
        guard case .refuse(let error, _, true) = verdict else {
            Issue.record("expected a closing refusal, got \(verdict)")
            return
        }
        #expect(error.code == .notWelcomed)
    }

    @Test func countsRequestsInFlightUntilAnswered() {
        var gate = ConnectionGate(configuration: .init(maxInFlight: 1))
        _ = gate.onFrame(.message(hello, correlationID: 1, flags: []), at: now)
        gate.admit(role: .operatorConsole)
        #expect(gate.onFrame(.message(status, correlationID: 2, flags: []), at: now) == .deliver(status, correlationID: 2))
        #expect(gate.inFlight == 1)
        guard case .refuse(let error, _, false) = gate.onFrame(.message(status, correlationID: 3, flags: []), at: now) else {
            Issue.record("a second request beyond the limit was not refused")
            return
        }
        #expect(error.code == .overloaded)
        gate.responseSent()
        #expect(gate.onFrame(.message(status, correlationID: 4, flags: []), at: now) == .deliver(status, correlationID: 4))
    }

    @Test func aConsoleMayPlaceRenewAndReleaseButNeverQuoteOrConfirm() {
        var gate = ConnectionGate()
        _ = gate.onFrame(.message(hello, correlationID: 1, flags: []), at: now)
        gate.admit(role: .operatorConsole)
        let allowed: [WireMessage] = [
            .renew(Renew(leaseID: Fixtures.lease, extendBy: .seconds(1))), .release(Release(reservation: .lease(Fixtures.lease))),
        ]
        for (n, message) in allowed.enumerated() {
            let id = UInt64(10 + n)
            #expect(
                gate.onFrame(.message(message, correlationID: id, flags: []), at: now) == .deliver(message, correlationID: id))
            gate.responseSent()
        }
        for name in ["quote-request", "confirm", "forward"] {
            let message = Fixtures.cases.first { $0.name == name }!.message
            guard case .refuse(let error, _, false) = gate.onFrame(.message(message, correlationID: 20, flags: []), at: now)
            else {
                Issue.record("a console's \(name) was not refused")
                continue
            }
            #expect(error.code == .unauthorized)
        }
    }

    @Test func oneWayMessagesAndSilentHelpersDoNotHoldInFlightSlots() {
        let indirect = Fixtures.cases.first { $0.name == "indirect-probe" }!.message
        #expect(!indirect.isRequest)
        #expect(!WireMessage.subscribe(Subscribe(kinds: 1)).isRequest)
        #expect(WireMessage.renew(Renew(leaseID: Fixtures.lease, extendBy: .seconds(1))).isRequest)
    }

    @Test func theErrorBudgetForgetsErrorsOlderThanItsWindow() {
        var gate = ConnectionGate(configuration: .init(errorBudget: 2, errorWindow: .seconds(60)))
        _ = gate.onFrame(.message(hello, correlationID: 1, flags: []), at: now)
        gate.admit(role: .industry)
        let bad = WireError(.truncated, at: 16, "short")
        for minute in 0..<10 {
            let at = now + .seconds(61 * UInt64(minute))
            guard case .refuse(let error, _, false) = gate.onDecodeError(bad, correlationID: 5, at: at) else {
                Issue.record("one error a minute must never exhaust a budget of two")
                return
            }
            #expect(error.code == .truncated)
        }
    }
}
