// libFuzzer target for the MeshWire decoders. Built and run by `Tests/Fuzz/run.sh` (plain swiftc,
// not SwiftPM). Contract under test: no wire input may trap, hang or leak; every refusal is a
// `WireError`; and every message that decodes re-encodes canonically.
//
// Input layout: the first byte selects the mode, the rest is the payload.
//
//   bits 0-1  mode: 0 stream (no preface), 1 stream (preface expected), 2 body, 3 single frame
//   bits 2-3  stream: chunking (0 all at once, 1 byte by byte, 2 fixed size, 3 pseudo-random)
//             body: bit 2 sets the ignorable flag
//   bits 4-6  stream: chunk size / chunk seed; body: correlation ID
//   bit  7    small limits (4 KiB frames, nesting depth 3, 2 tagged fields) instead of defaults
//
//   mode 0/1  the payload is a byte stream fed to FrameDecoder; every frame is decoded with
//             WireMessage.decode, then finish() is called.
//   mode 2    payload[0] picks a type from WireMessage.registry (modulo its count); a valid
//             12-byte header (type version 1) is built around payload[1...] as the body.
//   mode 3    the payload is given to WireMessage.decode(frameBytes:) (Frame.parse).
//
// Properties checked (a violation calls fatalError, which libFuzzer reports as a crash):
//   - a decoded message re-encodes (same correlation ID and flags) to bytes that decode to an
//     equal message with the same header;
//   - the re-encoding equals the input frame byte for byte, or is strictly shorter (only unknown
//     tagged fields and empty known tagged fields may be dropped, and each drop removes at
//     least two bytes), and re-encoding the re-decoded message reproduces it exactly;
//   - chunked delivery yields the same frames and the same first error as all-at-once delivery;
//   - after an error the decoder stays failed (next() and finish() rethrow the same error);
//   - after a clean stream, streamOffset + bufferedByteCount == bytes appended, and finish()
//     throws exactly when bytes remain buffered.
//
// At start-up every sample in `Samples` (valid messages of every registered type, some with every
// bound at its largest accepted value) must pass the same round-trip check. With
// FUZZ_WIRE_SEED_DIR=<dir> in the environment, LLVMFuzzerInitialize then writes them as seed
// inputs (stream, preface and body mode) into <dir> and exits.

import Glibc
import MeshCore
import MeshWire

// MARK: - Entry points

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if size == 0 { return 0 }
    let selector = data[0]
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let limits =
        selector & 0x80 != 0
        ? WireLimits(maxFrameBytes: WireLimits.minMaxFrameBytes, maxNestingDepth: 3, maxTaggedFields: 2) : WireLimits.default
    switch selector & 0x03 {
    case 0, 1: fuzzStream(payload, expectsPreface: selector & 0x03 == 1, selector: selector, limits: limits)
    case 2: fuzzBody(payload, selector: selector, limits: limits)
    default: fuzzSingleFrame(payload, limits: limits)
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    checkSamples()
    if let dir = getenv("FUZZ_WIRE_SEED_DIR") {
        writeSeeds(Samples.all(), to: String(cString: dir))
        exit(0)
    }
    return 0
}

/// Every sample must round-trip; a failure here is a bug in the codec (or in a sample).
@inline(never)
func checkSamples() {
    let samples = Samples.all()
    for (message, correlationID, flags) in samples {
        let bytes = encode(message, correlationID: correlationID, flags: flags, context: "sample")
        checkMessage(
            message, correlationID: correlationID, flags: flags, frameBytes: bytes, limits: .default, context: "sample")
    }
    let covered = Set(samples.map { $0.0.type })
    for entry in WireMessage.registry where !covered.contains(entry.type) {
        print("FuzzWire: no seed sample for \(entry.name) (\(entry.type)); add one to Samples")
    }
}

// MARK: - Modes

/// Frames and the first error a FrameDecoder produced, with the decoding of each frame.
struct StreamResult {
    var frames: [[UInt8]] = []
    var error: WireError? = nil
}

func fuzzStream(_ input: [UInt8], expectsPreface: Bool, selector: UInt8, limits: WireLimits) {
    let chunking = (selector >> 2) & 0x03
    let parameter = Int((selector >> 4) & 0x07)
    let result = runDecoder(
        input, expectsPreface: expectsPreface, limits: limits, chunkSizes: chunker(chunking, parameter, input.count))
    if chunking != 0 {
        // Differential: delivery in pieces must not change what the decoder sees.
        let reference = runDecoder(
            input, expectsPreface: expectsPreface, limits: limits, chunkSizes: chunker(0, 0, input.count), decodeFrames: false)
        if reference.frames != result.frames {
            fatalError(
                "chunking \(chunking)/\(parameter) produced \(result.frames.count) frames, all-at-once \(reference.frames.count)")
        }
        switch (reference.error, result.error) {
        case (nil, nil): break
        case (let a?, let b?) where a.code == b.code && a.offset == b.offset: break
        default:
            fatalError(
                "chunking \(chunking)/\(parameter) ended with \(String(describing: result.error)), all-at-once with \(String(describing: reference.error))"
            )
        }
    }
}

/// Chunk sizes for an input of `count` bytes.
func chunker(_ chunking: UInt8, _ parameter: Int, _ count: Int) -> AnyIterator<Int> {
    switch chunking {
    case 0:
        return AnyIterator { count }
    case 1:
        return AnyIterator { 1 }
    case 2:
        let size = 2 + parameter * 3
        return AnyIterator { size }
    default:
        var state = UInt64(0x9E37_79B9_7F4A_7C15) ^ UInt64(parameter) ^ (UInt64(count) << 8)
        return AnyIterator {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % 37) + 1
        }
    }
}

func runDecoder(
    _ input: [UInt8], expectsPreface: Bool, limits: WireLimits, chunkSizes: AnyIterator<Int>, decodeFrames: Bool = true
) -> StreamResult {
    var decoder = FrameDecoder(limits: limits, expectsPreface: expectsPreface)
    var result = StreamResult()
    var position = 0
    var appended = 0
    repeat {
        let size = min(max(chunkSizes.next() ?? 1, 1), input.count - position)
        // Alternate the two append overloads so both are exercised.
        if position & 1 == 0 {
            decoder.append(input[position..<position + size])
        } else {
            input.withUnsafeBytes { raw in decoder.append(UnsafeRawBufferPointer(rebasing: raw[position..<position + size])) }
        }
        position += size
        appended += size
        while true {
            let frame: Frame?
            do {
                frame = try decoder.next()
            } catch {
                result.error = error
                checkStaysFailed(&decoder, error)
                return result
            }
            guard let frame else { break }
            result.frames.append(frame.bytes)
            if decodeFrames { decodeAndCheck(frame, limits: limits) }
        }
    } while position < input.count

    if decoder.streamOffset + decoder.bufferedByteCount != appended {
        fatalError("streamOffset \(decoder.streamOffset) + buffered \(decoder.bufferedByteCount) != appended \(appended)")
    }
    do {
        try decoder.finish()
        if decoder.bufferedByteCount != 0 { fatalError("finish() accepted \(decoder.bufferedByteCount) buffered bytes") }
    } catch {
        if decoder.bufferedByteCount == 0 { fatalError("finish() threw \(error) with nothing buffered") }
        if error.code != .truncated { fatalError("finish() threw \(error), expected truncated") }
    }
    return result
}

func checkStaysFailed(_ decoder: inout FrameDecoder, _ first: WireError) {
    do {
        _ = try decoder.next()
        fatalError("next() succeeded after \(first)")
    } catch {
        if error != first { fatalError("next() threw \(error) after \(first)") }
    }
    do {
        try decoder.finish()
        fatalError("finish() succeeded after \(first)")
    } catch {
        if error != first { fatalError("finish() threw \(error) after \(first)") }
    }
}

func fuzzBody(_ payload: [UInt8], selector: UInt8, limits: WireLimits) {
    guard let pick = payload.first else { return }
    let registry = WireMessage.registry
    let type = registry[Int(pick) % registry.count].type
    let flags: FrameFlags = selector & 0x04 != 0 ? .ignorable : []
    let correlationID = UInt64((selector >> 4) & 0x07) &* 0x0101_0101_0101_0101
    let body = payload.dropFirst()
    if body.count + 16 > limits.maxFrameBytes { return }
    var frame: [UInt8] = []
    frame.reserveCapacity(16 + body.count)
    let length = UInt32(12 + body.count)
    frame += [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
    frame += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), WireMessage.typeVersion, flags.rawValue]
    for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: correlationID >> UInt64(shift))) }
    frame += body
    let decoded: DecodedFrame
    do {
        decoded = try WireMessage.decode(frameBytes: frame, limits: limits)
    } catch {
        return
    }
    guard case .message(let message, let cid, let decodedFlags) = decoded else {
        fatalError("a registered type \(type) with type version 1 was skipped")
    }
    if message.type != type || cid != correlationID || decodedFlags != flags {
        fatalError(
            "header changed in decoding: \(type)/\(correlationID)/\(flags.rawValue) -> \(message.type)/\(cid)/\(decodedFlags.rawValue)"
        )
    }
    checkMessage(message, correlationID: cid, flags: decodedFlags, frameBytes: frame, limits: limits, context: "body mode")
}

func fuzzSingleFrame(_ payload: [UInt8], limits: WireLimits) {
    let decoded: DecodedFrame
    do {
        decoded = try WireMessage.decode(frameBytes: payload, limits: limits)
    } catch {
        return
    }
    if case .message(let message, let cid, let flags) = decoded {
        checkMessage(message, correlationID: cid, flags: flags, frameBytes: payload, limits: limits, context: "single frame")
    }
}

// MARK: - Round trip

func decodeAndCheck(_ frame: Frame, limits: WireLimits) {
    let decoded: DecodedFrame
    do {
        decoded = try WireMessage.decode(frame, limits: limits)
    } catch {
        return
    }
    switch decoded {
    case .message(let message, let cid, let flags):
        if cid != frame.header.correlationID || flags != frame.header.flags || message.type != frame.header.type {
            fatalError("decoded header differs from the frame header \(frame.header)")
        }
        checkMessage(message, correlationID: cid, flags: flags, frameBytes: frame.bytes, limits: limits, context: "stream")
    case .skipped(let type, let version, let cid):
        let known = WireMessage.registry.contains { $0.type == type }
        if !frame.header.flags.contains(.ignorable) || (known && version == WireMessage.typeVersion)
            || cid != frame.header.correlationID
        {
            fatalError("frame \(frame.header) was skipped")
        }
    }
}

func encode(_ message: WireMessage, correlationID: UInt64, flags: FrameFlags, context: String) -> [UInt8] {
    do {
        return try FrameEncoder.frame(message, correlationID: correlationID, flags: flags)
    } catch {
        fatalError("\(context): re-encoding \(message.type) failed: \(error)")
    }
}

/// The round-trip property for a message decoded from `frameBytes`.
func checkMessage(
    _ message: WireMessage, correlationID: UInt64, flags: FrameFlags, frameBytes: [UInt8], limits: WireLimits, context: String
) {
    let reencoded = encode(message, correlationID: correlationID, flags: flags, context: context)
    let again: DecodedFrame
    do {
        again = try WireMessage.decode(frameBytes: reencoded, limits: limits)
    } catch {
        fatalError(
            "\(context): re-encoded \(message.type) does not decode: \(error)\n  input  \(Hex.encode(frameBytes))\n  output \(Hex.encode(reencoded))"
        )
    }
    guard case .message(let second, let cid, let secondFlags) = again, second == message, cid == correlationID,
        secondFlags == flags
    else {
        fatalError(
            "\(context): round trip of \(message.type) changed it\n  first  \(message)\n  second \(again)\n  input  \(Hex.encode(frameBytes))"
        )
    }
    if reencoded != frameBytes {
        // Canonical encodings: only dropped tagged fields may change the bytes, and they shrink them.
        if reencoded.count >= frameBytes.count {
            fatalError(
                "\(context): \(message.type) re-encodes to different bytes of \(reencoded.count) >= \(frameBytes.count)\n  input  \(Hex.encode(frameBytes))\n  output \(Hex.encode(reencoded))"
            )
        }
        let third = encode(second, correlationID: cid, flags: secondFlags, context: context)
        if third != reencoded {
            fatalError(
                "\(context): \(message.type) encoding is not stable\n  second \(Hex.encode(reencoded))\n  third  \(Hex.encode(third))"
            )
        }
    }
}

// MARK: - Seeds

@inline(never)
func writeSeeds(_ samples: [(WireMessage, UInt64, FrameFlags)], to dir: String) {
    let registry = WireMessage.registry
    let preface = Preface().bytes
    var everything: [UInt8] = []
    for (i, (message, cid, flags)) in samples.enumerated() {
        let frame = encode(message, correlationID: cid, flags: flags, context: "seed")
        let name = (registry.first { $0.type == message.type }?.name ?? "T\(message.type.rawValue)").lowercased()
        everything += frame
        writeFile("\(dir)/gen-\(i)-\(name)-stream", [0x00] + frame)
        writeFile("\(dir)/gen-\(i)-\(name)-preface", [0x01] + preface + frame)
        if let index = registry.firstIndex(where: { $0.type == message.type }) {
            writeFile(
                "\(dir)/gen-\(i)-\(name)-body", [0x02 | (flags.contains(.ignorable) ? 0x04 : 0), UInt8(index)] + frame[16...])
        }
    }
    writeFile("\(dir)/gen-all-preface", [0x01] + preface + everything)
    writeFile("\(dir)/gen-all-chunked", [0x1d] + preface + everything)
    writeFile("\(dir)/gen-all-bytewise", [0x04] + everything)
    // An ignorable frame of an unknown type, then PING.
    let ping = encode(.ping(Ping(nonce: 1, sentAt: MeshInstant(milliseconds: 2))), correlationID: 0, flags: [], context: "seed")
    let unknown: [UInt8] = [0, 0, 0, 14, 0x7f, 0x01, 1, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xab, 0xcd]
    writeFile("\(dir)/gen-ignorable-unknown", [0x01] + preface + unknown + ping)
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    let written = bytes.withUnsafeBufferPointer { buffer in
        buffer.isEmpty ? 0 : fwrite(buffer.baseAddress, 1, buffer.count, file)
    }
    fclose(file)
    if written != bytes.count { fatalError("short write to \(path)") }
}

// MARK: - Samples: one or more valid messages of every registered type

enum Samples {
    static func all() -> [(WireMessage, UInt64, FrameFlags)] {
        let nodeA = NodeID(
            w0: 0x0123_4567_89ab_cdef, w1: 0x1122_3344_5566_7788, w2: 0x99aa_bbcc_ddee_ff00, w3: 0x0f1e_2d3c_4b5a_6978)
        let nodeB = NodeID(w0: 0xfedc_ba98_7654_3210, w1: 0, w2: 1, w3: 2)
        let region = try! Region("cn-east")
        let regionB = try! Region("cn-gd-shenzhen")
        let tenant = try! TenantID("acme.bank")
        let pool = try! ComputeID(owner: nodeA, path: ["gpu", "a100-hall-2"])
        let poolB = try! ComputeID(owner: nodeB, path: ["npu"])
        let cert = try! Certification("mlps-3")
        let certB = try! Certification("finance-grade")
        let now = MeshInstant(milliseconds: 1_700_000_000_123)
        let later = MeshInstant(milliseconds: 1_700_000_600_000)
        let requestID = RequestID(value: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
        let holdID = HoldID(value: 0xdead_beef)
        let leaseID = LeaseID(value: UInt128.max)
        let address = NetAddress(host: "10.0.0.1", port: 7946)
        let addressV6 = NetAddress(host: "fe80::1", port: 443)

        let policy: PolicyExpr = .all([
            .sectorIn([.finance, .healthcare]),
            .not(.tenantIn([tenant])),
            .any([.regionIn([region, regionB]), .refuseAll, .not(.not(.acceptAll))]),
        ])
        let descriptor = PoolDescriptor(
            id: pool, architecture: .x86_64,
            accelerators: [
                try! AcceleratorGroup(kind: .gpu, vendor: "nvidia", model: "a100", count: 64, memoryMiBPerDevice: 81920),
                try! AcceleratorGroup(kind: .unknown(200), vendor: "x", model: "y_1", count: 0, memoryMiBPerDevice: 0),
            ],
            computeUnits: 10_000, memoryMiB: 1 << 22, interconnect: .infiniband, pricePerUnitHour: Price(microYuan: 1_500_000),
            residency: region, certifications: [certB, cert], greenEnergyPermille: 1000, policy: policy,
            services: [try! ServiceID("infer.vision"), try! ServiceID("train.llm")], displayName: "Hall 2 — A100")
        let plainDescriptor = PoolDescriptor(
            id: poolB, architecture: .unknown(99), accelerators: [], computeUnits: 0, memoryMiB: 0, interconnect: .unknown(7),
            pricePerUnitHour: Price(microYuan: 0), residency: regionB, certifications: [], greenEnergyPermille: 0)
        let availability = PoolAvailability(
            id: pool, freeComputeUnits: 4000, freeMemoryMiB: 1 << 20, freeAccelerators: [32, 0],
            pricePerUnitHour: Price(microYuan: UInt64.max))
        let records = [
            InventoryRecord(
                origin: nodeA, epoch: 3, sequence: 1, issuedAt: now, validUntil: later, body: .descriptor(descriptor),
                signature: Array(repeating: 0x5a, count: 64)),
            InventoryRecord(
                origin: nodeA, epoch: 3, sequence: 2, issuedAt: now, validUntil: later, body: .availability(availability)),
            InventoryRecord(origin: nodeB, epoch: 0, sequence: 0, issuedAt: .zero, validUntil: .zero, body: .tombstone(poolB)),
            InventoryRecord(
                origin: nodeB, epoch: 1, sequence: 9, issuedAt: now, validUntil: later, body: .descriptor(plainDescriptor)),
        ]
        let update = MemberUpdate(
            node: nodeB, address: address, role: .industry, region: region, incarnation: 7, status: .suspect)
        let update2 = MemberUpdate(
            node: nodeA, address: addressV6, role: .regional, region: regionB, incarnation: 0, status: .left)
        let summary = RegionSummary(
            region: region, origin: nodeA, version: 12, issuedAt: now, validUntil: later, nodeCount: 5, poolCount: 17,
            totalComputeUnits: 100_000, freeComputeUnits: 31_000,
            accelerators: [try! AcceleratorSummary(kind: .npu, vendor: "huawei", model: "ascend-910b", total: 512, free: 128)],
            minPricePerUnitHour: Price(microYuan: 900_000), certifications: [certB, cert], greenEnergyPermille: 350,
            signature: [1, 2, 3])
        let demand = Demand(
            accelerator: try! AcceleratorClass(kind: .gpu, vendor: "nvidia", model: nil), acceleratorCount: 8, computeUnits: 800,
            memoryMiB: 65536, mode: .spread, maxPools: 4)
        let request = PlacementRequest(
            requestID: requestID, tenant: tenant, sector: .finance, idempotencyKey: "order-2024-0001",
            demand: demand,
            constraints: Constraints(
                residency: [region, regionB], certifications: [cert], architectures: [.x86_64, .aarch64, .unknown(42)],
                maxPricePerUnitHour: Price(microYuan: 2_000_000), maxLatency: .milliseconds(25)),
            weights: Weights(price: 1000, latency: 0, green: 7), leaseDuration: .minutes(90), deadline: later, origin: nodeB)
        let lease = Lease(
            leaseID: leaseID, holdID: holdID, pool: pool, tenant: tenant, computeUnits: 800, memoryMiB: 65536,
            acceleratorCount: 8, pricePerUnitHour: Price(microYuan: 1_500_000), startsAt: now, expiresAt: later)
        let filtered = CandidateVerdict(
            pool: poolB, inventoryEpoch: 1, inventorySequence: 9, inventoryAge: .seconds(3),
            outcome: .filtered(.certification, detail: "lacks mlps-3"))
        let scored = CandidateVerdict(
            pool: pool, inventoryEpoch: 3, inventorySequence: 2, inventoryAge: .zero,
            outcome: .scored(ScoreVector(price: 600_000, latency: 900_000, green: 1_000_000, total: UInt32.max)))
        let explanation = Explanation(
            requestID: requestID, decidedBy: nodeA, decidedAt: now, path: [nodeB, nodeA], consideredCount: 5, filteredCount: 3,
            scoredCount: 2, verdicts: [filtered, scored], chosen: pool)
        let emptyExplanation = Explanation(
            requestID: requestID, decidedBy: nodeB, decidedAt: .zero, path: [], consideredCount: 0, filteredCount: 0,
            scoredCount: 0, verdicts: [], chosen: nil)

        // Boundary samples: every bound at its largest accepted value, so that a mutation of one
        // byte (one more `not`, one more character) probes the other side of the bound.
        let depth = min(PolicyExpr.maxDepth, WireLimits.default.maxNestingDepth)
        // `.any([chain, ...])` with a chain of depth - 1: the whole policy is exactly `depth` deep.
        let deepPolicy = (1..<depth - 1).reduce(PolicyExpr.acceptAll) { inner, _ in .not(inner) }
        let segment = String(repeating: "z", count: ComputeID.maxSegmentBytes)
        let longPool = try! ComputeID(owner: nodeB, path: Array(repeating: segment, count: ComputeID.maxSegments))
        let boundaryDescriptor = PoolDescriptor(
            id: longPool, architecture: .riscv64,
            accelerators: [
                try! AcceleratorGroup(
                    kind: .fpga, vendor: String(repeating: "v", count: AcceleratorGroup.maxNameBytes),
                    model: String(repeating: "9", count: AcceleratorGroup.maxNameBytes), count: UInt32.max,
                    memoryMiBPerDevice: UInt32.max)
            ],
            computeUnits: UInt64.max, memoryMiB: UInt64.max, interconnect: .nvlink, pricePerUnitHour: Price(microYuan: 1),
            residency: try! Region(String(repeating: "r", count: Region.maxBytes)), certifications: [cert],
            greenEnergyPermille: 1000, policy: .all([]), services: [],
            displayName: String(repeating: "é", count: FieldLimits.maxShortTextBytes / 2))
        // Small, so that the policy bytes are a large share of the body mutations land in.
        let deepDescriptor = PoolDescriptor(
            id: poolB, architecture: .x86_64, accelerators: [], computeUnits: 1, memoryMiB: 1, interconnect: .ethernet,
            pricePerUnitHour: Price(microYuan: 1), residency: region, certifications: [], greenEnergyPermille: 1,
            policy: .any([deepPolicy, .all([])]))
        let nodes = (0..<FieldLimits.maxPathNodes).map { NodeID(w0: UInt64($0), w1: 0, w2: 0, w3: UInt64.max) }

        let messages: [(WireMessage, UInt64, FrameFlags)] = [
            (.registerPool(RegisterPool(descriptor: deepDescriptor)), 60, []),
            (.registerPool(RegisterPool(descriptor: boundaryDescriptor)), UInt64.max, []),
            (.forward(Forward(request: request, hopLimit: UInt8(FieldLimits.maxPathNodes), path: nodes)), 41, []),
            (
                .reject(
                    Reject(
                        reason: .protocolViolation, message: String(repeating: "界", count: FieldLimits.maxTextBytes / 3) + "x",
                        retryAfter: MeshDuration(milliseconds: UInt64.max))), 2, []
            ),
            (
                .hello(
                    Hello(
                        nodeID: nodeB, role: .industry, region: region,
                        sectors: Array(Sector.known.prefix(FieldLimits.maxSectorsPerNode)),
                        listenAddress: NetAddress(
                            host: String(repeating: "h", count: NetAddress.maxHostBytes), port: UInt16.max),
                        maxFrameBytes: UInt32(WireLimits.hardMaxFrameBytes), features: [], incarnation: UInt64.max,
                        software: String(repeating: "s", count: FieldLimits.maxShortTextBytes))), 3, []
            ),
            (
                .hello(
                    Hello(
                        nodeID: nodeA, role: .regional, region: region, sectors: [.finance, .manufacturing],
                        listenAddress: address,
                        maxFrameBytes: 1 << 20, features: .all, incarnation: 4, software: "meshd 0.1.0")), 1, []
            ),
            (
                .hello(
                    Hello(
                        nodeID: nodeB, role: .operatorConsole, region: regionB, listenAddress: nil, maxFrameBytes: 4096,
                        features: FeatureSet(rawValue: UInt64.max), incarnation: 0)), 0, [.ignorable]
            ),
            (
                .welcome(
                    Welcome(
                        nodeID: nodeB, role: .industry, region: region, maxFrameBytes: 16 << 20, features: [.spillover],
                        serverTime: now,
                        incarnation: 9, software: "meshd/ü")), 1, []
            ),
            (.reject(Reject(reason: .nodeIDMismatch, message: "node ID ≠ key hash 🔑", retryAfter: .seconds(30))), 1, []),
            (.goAway(GoAway(reason: .restart, lastCorrelationID: UInt64.max, drain: .seconds(5), message: "bye")), 0, []),
            (.error(ErrorMessage(code: 16, offset: 4_000_000, frameType: 0x0300, message: "invalid-value at offset 17")), 77, []),
            (.ping(Ping(nonce: 0x8000_0000_0000_0001, sentAt: now)), 5, []),
            (.pong(Pong(nonce: 0, sentAt: .zero)), 5, []),
            (.probe(Probe(from: nodeA, fromIncarnation: 3, target: nodeB, updates: [update, update2])), 11, []),
            (.probeAck(ProbeAck(target: nodeB, incarnation: 300, updates: [update])), 11, []),
            (
                .indirectProbe(IndirectProbe(from: nodeA, target: nodeB, targetAddress: addressV6, wantsNack: true, updates: [])),
                12, []
            ),
            (.nack(Nack(helper: nodeA, target: nodeB)), 12, []),
            (
                .digest(
                    Digest(
                        scope: .backbone, region: region, bucketHashes: [0, UInt64.max, 0x1234],
                        entries: [
                            DigestEntry(origin: nodeA, epoch: 3, sequence: 200),
                            DigestEntry(origin: nodeB, epoch: 0, sequence: 0),
                        ],
                        maxDeltaBytes: 1 << 19)), 20, []
            ),
            (.delta(Delta(records: records, morePending: true)), 20, []),
            (.regionSummaries(RegionSummaries(summaries: [summary])), 0, []),
            (
                .revocationList(
                    RevocationList(
                        issuer: nodeA, serial: 4, issuedAt: now, nextUpdate: later,
                        entries: [
                            Revocation(node: nodeB, certificateSerial: 77, revokedAt: now, reason: .keyCompromise),
                            Revocation(node: nodeA, certificateSerial: 0, revokedAt: .zero, reason: .unspecified),
                        ], signature: Array(repeating: 0xee, count: 128))), 0, []
            ),
            (.place(request), 30, []),
            (
                .quoteRequest(
                    QuoteRequest(
                        requestID: requestID, requester: nodeB, pool: pool, tenant: tenant, sector: .healthcare,
                        demand: Demand(computeUnits: 1), holdFor: .seconds(10), deadline: later)), 31, []
            ),
            (
                .quote(
                    Quote(
                        requestID: requestID, holdID: holdID, pool: pool, computeUnits: 800, memoryMiB: 0, acceleratorCount: 8,
                        pricePerUnitHour: Price(microYuan: 1), holdExpiresAt: later, ledgerVersion: 99)), 31, []
            ),
            (
                .refuse(
                    Refuse(
                        requestID: requestID, reason: .insufficientCapacity, message: "only 4000 units free", pool: pool,
                        freshAvailability: availability)), 31, []
            ),
            (.refuse(Refuse(requestID: requestID, reason: .unknownReservation, message: "")), 32, []),
            (.confirm(Confirm(requestID: requestID, holdID: holdID, idempotencyKey: "k", leaseDuration: .minutes(60))), 33, []),
            (.confirmed(Confirmed(requestID: requestID, lease: lease)), 33, []),
            (.release(Release(reservation: .hold(holdID))), 34, []),
            (.release(Release(reservation: .lease(leaseID))), 35, []),
            (.renew(Renew(leaseID: leaseID, extendBy: .minutes(30))), 36, []),
            (.leaseStatus(LeaseStatus(reservation: .lease(leaseID), state: .leased, expiresAt: later)), 36, []),
            (.forward(Forward(request: request, hopLimit: 8, path: [nodeB, nodeA])), 40, []),
            (
                .outcome(
                    Outcome(
                        requestID: requestID, idempotencyKey: "order-2024-0001", result: .placed([lease, lease]),
                        explanation: explanation)), 30, []
            ),
            (
                .outcome(
                    Outcome(
                        requestID: requestID, idempotencyKey: "x", result: .refused(.noCandidates, message: "nothing in view"),
                        explanation: emptyExplanation)), 30, []
            ),
            (.statusRequest(StatusRequest()), 50, []),
            (
                .status(
                    Status(
                        nodeID: nodeA, role: .regional, region: region, software: "meshd 0.1.0", now: now, uptime: .seconds(3600),
                        incarnation: 4, aliveMembers: 10, suspectMembers: 1, deadMembers: 0, pools: 17, activeHolds: 2,
                        activeLeases: UInt32.max)), 50, []
            ),
            (.membersRequest(MembersRequest(after: nodeA, limit: 1024)), 51, []),
            (.membersRequest(MembersRequest()), 52, []),
            (
                .members(
                    Members(
                        members: [
                            MemberRow(update: update, sinceChange: .seconds(12)), MemberRow(update: update2, sinceChange: .zero),
                        ], more: true)), 51, []
            ),
            (.inventoryRequest(InventoryRequest(region: region, after: pool, limit: 10)), 53, []),
            (.inventoryRequest(InventoryRequest()), 54, []),
            (
                .inventory(
                    Inventory(
                        pools: [
                            PoolRow(descriptor: records[0], availability: records[1], age: .seconds(2)),
                            PoolRow(descriptor: records[3], availability: nil, age: .zero),
                        ], summaries: [summary], more: false)), 53, []
            ),
            (.placementsRequest(PlacementsRequest(tenant: tenant, limit: 5)), 55, []),
            (.placements(Placements(leases: [lease], more: true)), 55, []),
            (.whyRequest(WhyRequest(requestID: requestID, pool: poolB)), 56, []),
            (.why(Why(explanation: explanation, focus: filtered)), 56, []),
            (.subscribe(Subscribe(kinds: 0b11111, fromSequence: 1000)), 57, []),
            (
                .event(
                    Event(
                        sequence: 1001, at: now, kind: .placement, severity: .warning, subject: "request 0102",
                        detail: "spilled over to cn-gd-shenzhen")), 0, []
            ),
            (.unsubscribe(Unsubscribe()), 58, []),
            (.registerPool(RegisterPool(descriptor: descriptor)), 59, []),
            (.poolRegistered(PoolRegistered(id: pool, epoch: 3, sequence: 1)), 59, []),
        ]
        return messages
    }
}
