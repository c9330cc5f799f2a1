import MeshCore
import MeshWire

/// The invalid (and edge-case) golden vectors, built by hand from the valid fixtures so that each
/// breaks exactly one rule. Every expected error and offset here is asserted, not computed: the
/// generator refuses to write a vector whose decoder result differs.
enum InvalidVectors {
    /// A frame from its parts, with a correct length prefix unless `length` overrides it.
    static func rawFrame(
        type: UInt16, version: UInt8 = 1, flags: UInt8 = 0, correlationID: UInt64 = 0, body: [UInt8], length: UInt32? = nil
    ) -> [UInt8] {
        var w = WireWriter()
        w.writeU32(length ?? UInt32(12 + body.count))
        w.writeU16(type)
        w.writeU8(version)
        w.writeU8(flags)
        w.writeU64(correlationID)
        w.writeRaw(body)
        return w.bytes
    }

    static func body(of name: String) -> [UInt8] { Array(Fixtures.frame(named: name)[16...]) }

    static func bytes(_ build: (inout WireWriter) -> Void) -> [UInt8] {
        var w = WireWriter()
        build(&w)
        return w.bytes
    }

    static let preface = Preface().bytes
    static var hello: [UInt8] { Fixtures.frame(named: "hello") }

    /// A policy nested `depth` levels deep: not(not(...(accept-all))).
    static func deepPolicy(_ depth: Int) -> [UInt8] { Array(repeating: 5, count: depth - 1) + [0] }

    static func registerPoolBody(policy: [UInt8]) -> [UInt8] {
        let d = Fixtures.descriptor
        return bytes { w in
            d.id.encode(to: &w)
            d.architecture.encode(to: &w)
            w.writeArray(d.accelerators, maxCount: 16) { w, v in v.encode(to: &w) }
            w.writeUVarint(d.computeUnits)
            w.writeUVarint(d.memoryMiB)
            d.interconnect.encode(to: &w)
            d.pricePerUnitHour.encode(to: &w)
            d.residency.encode(to: &w)
            w.writeArray(d.certifications, maxCount: 16) { w, v in v.encode(to: &w) }
            w.writeUVarint(UInt64(d.greenEnergyPermille))
            w.writeRaw(policy)
            w.writeUVarint(0)  // services
            w.writeNoTaggedFields()  // descriptor
            w.writeNoTaggedFields()  // message
        }
    }

    /// Offset of the policy in a REGISTER_POOL frame built by ``registerPoolBody(policy:)``.
    static var registerPoolPolicyOffset: Int { 16 + registerPoolBody(policy: []).count - 3 }

    static func vectors() -> [VectorFile] {
        var out: [VectorFile] = []
        func add(
            _ name: String, _ input: VectorFile.Input, _ expect: VectorFile.Expectation, _ note: String, _ bytes: [UInt8],
            metadata: [(String, String)] = []
        ) {
            out.append(VectorFile(name: name, input: input, expect: expect, metadata: metadata, notes: [note], bytes: bytes))
        }
        let ping = Fixtures.frame(named: "ping")
        let pingBody = Array(ping[16...])  // nonce (8) + sentAt e8 07 + tags 00

        // MARK: Framing
        add(
            "invalid-truncated-frame", .frame, .error(.truncated, offset: hello.count - 3),
            "The stream ends 3 bytes before the end the length prefix declares.", Array(hello.dropLast(3)))
        add("invalid-truncated-length", .frame, .error(.truncated, offset: 2), "The stream ends inside a length prefix.", [0, 0])
        add(
            "invalid-frame-too-large", .frame, .error(.frameTooLarge, offset: 0),
            "Length 1,048,573 + 4 exceeds the default 1 MiB limit; refused before the body arrives.",
            [0x00, 0x0f, 0xff, 0xfd, 0x00, 0x06])
        add(
            "invalid-frame-too-short", .frame, .error(.frameTooShort, offset: 0),
            "Length 8 is less than the 12-byte header.", [0, 0, 0, 8, 0, 6, 1, 0, 0, 0, 0, 0])
        add(
            "invalid-trailing-after-frame", .frame, .error(.trailingBytes, offset: ping.count),
            "One whole frame followed by a stray byte.", ping + [0x00])

        // MARK: Preface (stream input)
        add("stream-preface-and-ping", .stream, .ok, "The preface, then one PING frame (vector ping).", preface + ping)
        add(
            "invalid-bad-magic", .stream, .error(.badMagic, offset: 3), "The fourth magic byte is 'X'.",
            [0x43, 0x4d, 0x53, 0x58, 1, 0, 0, 0])
        add(
            "invalid-http-request", .stream, .error(.badMagic, offset: 0), "A plaintext HTTP client on the port.",
            Array("GET / HTTP/1.1\r\n".utf8))
        add(
            "invalid-unsupported-version", .stream, .error(.unsupportedVersion, offset: 4), "Wire major version 2.",
            [0x43, 0x4d, 0x53, 0x48, 2, 0, 0, 0])
        add(
            "invalid-preface-reserved", .stream, .error(.reservedBitsSet, offset: 6), "A reserved preface byte is set.",
            [0x43, 0x4d, 0x53, 0x48, 1, 0, 1, 0])
        add(
            "invalid-truncated-preface", .stream, .error(.truncated, offset: 5), "The stream ends inside the preface.",
            [0x43, 0x4d, 0x53, 0x48, 1])

        // MARK: Header
        add(
            "unknown-ignorable", .frame, .skip, "Unknown type 0x0999 flagged ignorable: skipped.",
            rawFrame(type: 0x0999, flags: 0x01, correlationID: 5, body: [1, 2, 3]))
        add(
            "invalid-unknown-type", .frame, .error(.unknownMessageType, offset: 4),
            "Unknown type 0x0999 without the ignorable flag.", rawFrame(type: 0x0999, body: [1, 2, 3]))
        add(
            "invalid-type-version", .frame, .error(.unsupportedTypeVersion, offset: 6), "PING with type version 2.",
            rawFrame(type: 0x0006, version: 2, body: pingBody))
        add(
            "unknown-type-version-ignorable", .frame, .skip, "PING type version 2, flagged ignorable: skipped.",
            rawFrame(type: 0x0006, version: 2, flags: 0x01, body: pingBody))
        add(
            "invalid-reserved-flags", .frame, .error(.reservedBitsSet, offset: 7), "PING with reserved flag bit 0x80.",
            rawFrame(type: 0x0006, flags: 0x80, body: pingBody))

        // MARK: Primitives
        add(
            "invalid-truncated-field", .frame, .error(.truncated, offset: 16),
            "PING whose body holds 5 of the nonce's 8 bytes.", rawFrame(type: 0x0006, body: Array(pingBody[0..<5])))
        add(
            "invalid-varint-overflow", .frame, .error(.varintOverflow, offset: 24),
            "PING whose sentAt varint runs past 64 bits.",
            rawFrame(type: 0x0006, body: Array(pingBody[0..<8]) + Array(repeating: 0xff, count: 9) + [0x7f, 0x00]))
        add(
            "invalid-varint-too-long", .frame, .error(.varintOverflow, offset: 24),
            "PING whose sentAt varint has 11 bytes.",
            rawFrame(type: 0x0006, body: Array(pingBody[0..<8]) + Array(repeating: 0x80, count: 10) + [0x00, 0x00]))
        add(
            "invalid-non-canonical-varint", .frame, .error(.nonCanonicalVarint, offset: 24),
            "PING whose sentAt is 1000 written as e8 87 00 instead of e8 07.",
            rawFrame(type: 0x0006, body: Array(pingBody[0..<8]) + [0xe8, 0x87, 0x00, 0x00]))
        add(
            "invalid-trailing-bytes", .frame, .error(.trailingBytes, offset: 27), "PING with one byte after its tagged section.",
            rawFrame(type: 0x0006, body: pingBody + [0x00]))
        add(
            "invalid-string-too-long", .frame, .error(.stringTooLong, offset: 17),
            "REJECT whose message declares 1025 bytes (limit 1024).",
            rawFrame(type: 0x0003, body: [0x04, 0x81, 0x08] + Array(repeating: 0x61, count: 4)))
        add(
            "invalid-utf8", .frame, .error(.invalidUTF8, offset: 18), "REJECT whose message is ff fe.",
            rawFrame(type: 0x0003, body: [0x04, 0x02, 0xff, 0xfe, 0x00, 0x00]))
        add(
            "invalid-bytes-too-long", .frame, .error(.bytesTooLong, offset: 52),
            "REVOCATION_LIST whose signature declares 129 bytes (limit 128).",
            rawFrame(type: 0x0203, body: Fixtures.nodeA.bytes + [0x01, 0x00, 0x00, 0x00, 0x81, 0x01]))
        add(
            "invalid-array-too-long", .frame, .error(.arrayTooLong, offset: 81),
            "PROBE declaring 65 piggybacked updates (limit 64).",
            rawFrame(type: 0x0100, body: Fixtures.nodeA.bytes + [0x05] + Fixtures.nodeB.bytes + [65]))
        add(
            "invalid-array-count-exceeds-bytes", .frame, .error(.truncated, offset: 81),
            "PROBE declaring 64 updates of at least 40 bytes each in a 2-byte remainder: refused before allocating.",
            rawFrame(type: 0x0100, body: Fixtures.nodeA.bytes + [0x05] + Fixtures.nodeB.bytes + [64, 0x00]))
        add(
            "invalid-nesting-too-deep", .frame, .error(.nestingTooDeep, offset: registerPoolPolicyOffset + 8),
            "REGISTER_POOL whose policy nests not(...) 9 levels deep (limit 8).",
            rawFrame(type: 0x040D, body: registerPoolBody(policy: deepPolicy(9))))
        add(
            "nesting-at-limit", .frame, .ok, "REGISTER_POOL whose policy nests exactly 8 levels: accepted.",
            rawFrame(type: 0x040D, body: registerPoolBody(policy: deepPolicy(8))))
        add(
            "invalid-bool", .frame, .error(.invalidValue, offset: 16 + 32 + 32 + 6),
            "INDIRECT_PROBE whose wants-nack byte is 2.",
            rawFrame(
                type: 0x0102,
                body: Fixtures.nodeA.bytes + Fixtures.nodeB.bytes + [0x03, 0x3a, 0x3a, 0x31, 0x1c, 0xe8, 0x02, 0x00, 0x00]))
        add(
            "invalid-role", .frame, .error(.invalidValue, offset: 48), "HELLO whose role is 9.",
            {
                var h = hello; h[48] = 9; return h
            }())
        add(
            "invalid-identifier", .frame, .error(.invalidValue, offset: 50), "HELLO whose region is 'CN-east' (upper case).",
            {
                var h = hello; h[50] = UInt8(ascii: "C"); h[51] = UInt8(ascii: "N"); return h
            }())
        add(
            "invalid-enum", .frame, .error(.invalidValue, offset: 16), "REJECT whose reason is 0 (undefined).",
            rawFrame(type: 0x0003, body: [0x00, 0x00, 0x00, 0x00]))
        add(
            "invalid-sum-rule", .frame, .error(.invalidValue, offset: 16 + 16 + 32 + 6 + 1 + 32),
            "WHY whose explanation counts break the sum rule (considered 2, filtered 2, scored 1).",
            { () -> [UInt8] in
                var why = Fixtures.frame(named: "why")
                let at = 16 + 16 + 32 + 6 + 1 + 32
                precondition(Array(why[at..<at + 3]) == [2, 1, 1], "fixture layout changed")
                why[at + 1] = 2
                return why
            }())

        // MARK: Tagged fields
        add(
            "unknown-tag-skipped", .frame, .ok, "HELLO (vector hello) with an extra unknown tagged field 9: skipped.",
            { () -> [UInt8] in
                var h = hello
                let software = Array("computemesh/0.1".utf8)
                let tail = [0x02, 0x00, UInt8(software.count + 1), UInt8(software.count)] + software + [0x09, 0x02, 0xbe, 0xef]
                h.removeLast(software.count + 4)
                h += tail
                let length = UInt32(h.count - 4)
                h[0] = UInt8(length >> 24); h[1] = UInt8(truncatingIfNeeded: length >> 16)
                h[2] = UInt8(truncatingIfNeeded: length >> 8); h[3] = UInt8(truncatingIfNeeded: length)
                return h
            }(), metadata: [("canonical", "hello")])
        add(
            "invalid-tag-order", .frame, .error(.tagOrder, offset: 29), "PING whose tagged section lists tag 1, then tag 0.",
            rawFrame(type: 0x0006, body: Array(pingBody[0..<10]) + [0x02, 0x01, 0x00, 0x00, 0x00]))
        add(
            "invalid-tagged-field-length", .frame, .error(.truncated, offset: 28),
            "PING whose tagged field 3 declares 5 bytes, 1 remains.",
            rawFrame(type: 0x0006, body: Array(pingBody[0..<10]) + [0x01, 0x03, 0x05, 0xaa]))
        add(
            "invalid-known-tag-trailing", .frame, .error(.trailingBytes, offset: hello.count),
            "HELLO whose software tag (0) carries one byte more than its string.",
            { () -> [UInt8] in
                var h = hello
                let software = Array("computemesh/0.1".utf8)
                h.removeLast(software.count + 3)
                h += [0x00, UInt8(software.count + 2), UInt8(software.count)] + software + [0x21]
                let length = UInt32(h.count - 4)
                h[0] = UInt8(length >> 24); h[1] = UInt8(truncatingIfNeeded: length >> 16)
                h[2] = UInt8(truncatingIfNeeded: length >> 8); h[3] = UInt8(truncatingIfNeeded: length)
                return h
            }())

        // MARK: Node names (SPEC §5.1.7, §5.4.22)
        add(
            "invalid-node-name", .frame, .error(.invalidValue, offset: Fixtures.frame(named: "hello-named").count - 13),
            "HELLO whose name (tag 1) is 'North-finance' (upper case).",
            { () -> [UInt8] in
                var h = Fixtures.frame(named: "hello-named")
                let at = h.count - 13  // the name is the body's last field: 13 bytes of text
                precondition(h[at] == UInt8(ascii: "n"), "fixture layout changed")
                h[at] = UInt8(ascii: "N")
                return h
            }())
        // MARK: Round trips (SPEC §6.7.4, issue 17)
        let membersRows = bytes { w in
            let rows = [
                MemberRow(update: Fixtures.namedPeer, sinceChange: .seconds(40)),
                MemberRow(update: Fixtures.namedMember, sinceChange: .milliseconds(1500)),
            ]
            w.writeArray(rows, maxCount: FieldLimits.maxConsoleRows) { w, v in v.encode(to: &w) }
            w.writeBool(false)  // more
        }
        // rows, then tagged count 01, tag 00, length (one byte), the list's count 02, the first
        // entry (32 bytes of NodeID and a 2-byte uvarint): the second entry is the step back.
        add(
            "invalid-round-trips-order", .frame, .error(.invalidValue, offset: 16 + membersRows.count + 3 + 1 + 34),
            "MEMBERS whose round trips (tag 0) list nodeB before nodeA (not in NodeID order).",
            rawFrame(
                type: 0x0403, correlationID: 41,
                body: membersRows
                    + bytes { w in
                        w.writeTaggedFields([
                            (
                                0,
                                { w in
                                    w.writeUVarint(2)
                                    MemberRoundTrip(node: Fixtures.nodeB, microseconds: 1_000).encode(to: &w)
                                    MemberRoundTrip(node: Fixtures.nodeA, microseconds: 2_500).encode(to: &w)
                                }
                            )
                        ])
                    }))
        add(
            "invalid-names-order", .frame, .error(.invalidValue, offset: 16 + 3 + 4 + 32 + 7),
            "INVENTORY whose name directory lists nodeB before nodeA (not in NodeID order).",
            rawFrame(
                type: 0x0405, correlationID: 42,
                body: bytes { w in
                    w.writeUVarint(0)  // pools
                    w.writeUVarint(0)  // summaries
                    w.writeBool(false)  // more
                    w.writeTaggedFields([
                        (
                            0,
                            { w in
                                w.writeUVarint(2)
                                for entry in Fixtures.names.reversed() { entry.encode(to: &w) }
                            }
                        )
                    ])
                }))

        // MARK: Sessions (acceptor side; the peer's HELLO is admitted with the given role)
        let statusRequest = { (corr: UInt64) in rawFrame(type: 0x0400, correlationID: corr, body: [0x00]) }
        let digest = Fixtures.frame(named: "digest")
        add(
            "session-console", .session, .ok, "An operator console says HELLO, then asks for STATUS.",
            preface + Fixtures.frame(named: "hello-console") + statusRequest(2), metadata: [("role", "operator")])
        add(
            "session-console-place", .session, .ok, "An operator console submits PLACE on behalf of a tenant: allowed.",
            preface + Fixtures.frame(named: "hello-console") + Fixtures.frame(named: "place"), metadata: [("role", "operator")])
        add(
            "session-console-renew", .session, .ok,
            "An operator console renews and releases a tenant's lease through its entry node: allowed.",
            preface + Fixtures.frame(named: "hello-console") + Fixtures.frame(named: "renew")
                + Fixtures.frame(named: "release-lease"), metadata: [("role", "operator")])
        add(
            "invalid-session-console-quote", .session, .error(.unauthorized, offset: 0),
            "An operator console sends QUOTE_REQUEST: of the placement range only PLACE, RENEW and RELEASE are open to consoles.",
            preface + Fixtures.frame(named: "hello-console") + Fixtures.frame(named: "quote-request"),
            metadata: [("role", "operator")])
        add(
            "invalid-session-not-welcomed", .session, .error(.notWelcomed, offset: 0),
            "DIGEST before HELLO: refused, and the connection closes.", preface + digest, metadata: [("role", "regional")])
        add(
            "invalid-session-second-hello", .session, .error(.unexpectedMessage, offset: 0), "HELLO twice.",
            preface + hello + hello, metadata: [("role", "industry")])
        add(
            "invalid-session-console-gossip", .session, .error(.unauthorized, offset: 0),
            "An operator console sends DIGEST (gossip).", preface + Fixtures.frame(named: "hello-console") + digest,
            metadata: [("role", "operator")])
        add(
            "invalid-session-overloaded", .session, .error(.overloaded, offset: 0),
            "Three STATUS_REQUESTs unanswered with at most 2 in flight.",
            preface + Fixtures.frame(named: "hello-console") + statusRequest(2) + statusRequest(3) + statusRequest(4),
            metadata: [("role", "operator"), ("gate", "max-in-flight=2 error-budget=10")])
        add(
            "invalid-session-too-many-errors", .session, .error(.tooManyErrors, offset: 16),
            "Three malformed PINGs with an error budget of 2: the third closes the connection.",
            preface + hello
                + Array(repeating: rawFrame(type: 0x0006, correlationID: 9, body: Array(pingBody[0..<5])), count: 3).flatMap {
                    $0
                },
            metadata: [("role", "industry"), ("gate", "max-in-flight=64 error-budget=2")])
        // Issue 16: the order of checks, correlation ID 0, PING from a console, frames before HELLO.
        add(
            "session-console-ping", .session, .ok,
            "An operator console sends PING (a control message, open to every role, SPEC §8.4).",
            preface + Fixtures.frame(named: "hello-console") + Fixtures.frame(named: "ping"), metadata: [("role", "operator")])
        add(
            "session-request-correlation-zero", .session, .ok,
            "Three STATUS_REQUESTs with correlation ID 0 and at most 1 in flight: processed, never counted in flight (§3.4).",
            preface + Fixtures.frame(named: "hello-console") + statusRequest(0) + statusRequest(0) + statusRequest(0),
            metadata: [("role", "operator"), ("gate", "max-in-flight=1 error-budget=10")])
        add(
            "session-one-way-correlation", .session, .ok,
            "SUBSCRIBE and UNSUBSCRIBE (one-way) with non-zero correlation IDs: the IDs are ignored, nothing is refused (§3.4).",
            preface + Fixtures.frame(named: "hello-console")
                + rawFrame(type: 0x040A, correlationID: 45, body: Array(Fixtures.frame(named: "subscribe")[16...]))
                + rawFrame(type: 0x040C, correlationID: 46, body: [0x00]), metadata: [("role", "operator")])
        add(
            "invalid-session-ignorable-before-hello", .session, .error(.notWelcomed, offset: 0),
            "An unknown frame flagged ignorable before HELLO: refused, not skipped, and the connection closes (§3.5, §8.1).",
            preface + rawFrame(type: 0x0500, flags: 0x01, body: [0x00]) + hello, metadata: [("role", "regional")])
        add(
            "invalid-session-role-before-in-flight", .session, .error(.unauthorized, offset: 0),
            "With at most 1 in flight and one STATUS_REQUEST unanswered, a console's QUOTE_REQUEST is refused as unauthorized, not overloaded: role is checked before the in-flight bound (§8.5.1).",
            preface + Fixtures.frame(named: "hello-console") + statusRequest(2) + Fixtures.frame(named: "quote-request"),
            metadata: [("role", "operator"), ("gate", "max-in-flight=1 error-budget=10")])
        add(
            "invalid-session-decode-before-role", .session, .error(.truncated, offset: 16),
            "A console's PROBE with an empty body: refused for its bytes (truncated), not for the console's role: decoding comes first (§8.5.1).",
            preface + Fixtures.frame(named: "hello-console") + rawFrame(type: 0x0100, correlationID: 5, body: []),
            metadata: [("role", "operator")])
        return out
    }
}
