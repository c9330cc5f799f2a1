public import MeshCore
public import MeshWire

/// The console's answers as text for people: every table fits `width` columns (80 by default;
/// nil is `--wide`: everything, in full), every node is its name beside its short ID.
public enum ConsoleText {
    /// The default width: a terminal's.
    public static let defaultWidth = 80

    public static func status(_ s: Status, width: Int?) -> String {
        let id = width == nil ? s.nodeID.hex : s.nodeID.short
        return keyValueLines(
            [
                ("node", s.name.map { "\($0.name) (\(id))" } ?? id),
                ("role", "\(s.role) node in \(s.region), \(s.software), incarnation \(s.incarnation)"),
                ("up", "\(TextFormat.duration(s.uptime)) (node clock \(TextFormat.instant(s.now)) UTC)"),
                ("members", "\(s.aliveMembers) alive, \(s.suspectMembers) suspect, \(s.deadMembers) dead"),
                ("ledger", "\(s.pools) pools, \(s.activeHolds) holds, \(s.activeLeases) leases"),
            ], width: width)
    }

    public static func members(_ rows: [MemberRow], width: Int?) -> String {
        members(Members(members: rows, more: false), width: width)
    }

    /// The membership list with each member's latest round trip (`-` when unknown, issue 17).
    public static func members(_ list: Members, width: Int?) -> String {
        let rows = list.members
        if rows.isEmpty { return "  (no members)" }
        let names = rows.directory
        return TextTable(
            [
                .init("node", flexible: true), .init("id"), .init("status"), .init("role", priority: 1),
                .init("region", priority: 1), .init("address", priority: 1),
                // Shown at 80 columns when it fits without cutting names; dropped after "since change".
                .init("rtt", priority: 2, alignRight: true), .init("since change", priority: 2),
                .init("incarnation", priority: 3, alignRight: true),
            ],
            rows: rows.map { r in
                let u = r.update
                return [
                    names.name(of: u.node)?.name ?? "-", u.node.short, u.status.description, u.role.description,
                    u.region.code, u.address.description, TextFormat.roundTrip(list.roundTrip(of: u.node)),
                    TextFormat.duration(r.sinceChange), String(u.incarnation),
                ]
            }
        ).render(width: width)
    }

    public static func inventory(_ inventory: Inventory, width: Int?) -> String {
        let names = NodeDirectory(inventory.names)
        var out: [String] = []
        var rows: [[String]] = []
        for row in inventory.pools {
            guard case .descriptor(let d) = row.descriptor.body else { continue }
            var free: PoolAvailability?
            if case .availability(let a)? = row.availability?.body { free = a }
            let accelerators = d.accelerators.enumerated().map { i, g in
                let freeCount = free.flatMap { i < $0.freeAccelerators.count ? $0.freeAccelerators[i] : nil }
                return "\(freeCount.map { "\($0)/" } ?? "")\(g.count) " + (width == nil ? "\(g.vendor)/\(g.model)" : g.model)
            }.joined(separator: "; ")
            rows.append([
                names.pool(d.id), d.id.owner.short, d.residency.code,
                accelerators.isEmpty ? "cpu (\(d.architecture))" : accelerators,
                "\(free.map { "\($0.freeComputeUnits)/" } ?? "")\(d.computeUnits)",
                TextFormat.price(free?.pricePerUnitHour ?? d.pricePerUnitHour), "\(d.greenEnergyPermille / 10)%",
                TextFormat.orDash(d.certifications.map(\.name).joined(separator: ",")), TextFormat.policy(d.policy),
                TextFormat.duration(row.age),
            ])
        }
        if rows.isEmpty {
            out.append("  (no pools in view)")
        } else {
            out.append(
                TextTable(
                    [
                        .init("pool"), .init("owner id", priority: 3), .init("region", priority: 1),
                        .init("accelerators", flexible: true), .init("units"),
                        .init("¥/unit·h", alignRight: true), .init("green", priority: 2, alignRight: true),
                        .init("certified", priority: 2, flexible: true), .init("accepts", priority: 3, flexible: true),
                        .init("age", priority: 4),
                    ], rows: rows
                ).render(width: width))
        }
        if !inventory.summaries.isEmpty {
            out.append("  other regions (signed summaries; units and accelerators free/total):")
            out.append(
                TextTable(
                    [
                        .init("region"), .init("from", priority: 3), .init("nodes", priority: 2, alignRight: true),
                        .init("pools", priority: 1, alignRight: true), .init("units"),
                        .init("accelerators", priority: 1, flexible: true),
                        .init("from ¥/unit·h", alignRight: true), .init("green", priority: 2, alignRight: true),
                        .init("certified", priority: 3, flexible: true),
                    ],
                    rows: inventory.summaries.map { s in
                        [
                            s.region.code, names.label(s.origin), String(s.nodeCount), String(s.poolCount),
                            "\(s.freeComputeUnits)/\(s.totalComputeUnits)",
                            TextFormat.orDash(
                                s.accelerators.map {
                                    "\($0.free)/\($0.total) " + (width == nil ? "\($0.vendor)/\($0.model)" : $0.model)
                                }
                                .joined(separator: "; ")),
                            TextFormat.price(s.minPricePerUnitHour), "\(s.greenEnergyPermille / 10)%",
                            TextFormat.orDash(s.certifications.map(\.name).joined(separator: ",")),
                        ]
                    }, indent: "    "
                ).render(width: width))
        }
        if inventory.more { out.append("  (more pools than one answer holds)") }
        return out.joined(separator: "\n")
    }

    public static func placements(_ placements: Placements, width: Int?) -> String {
        leases(placements.leases, names: NodeDirectory(placements.names), width: width)
    }

    public static func leases(_ leases: [Lease], names: NodeDirectory, width: Int?) -> String {
        if leases.isEmpty { return "  (no leases)" }
        return TextTable(
            [
                .init("lease"), .init("pool"), .init("tenant", priority: 1),
                .init("units", alignRight: true), .init("accel", priority: 2, alignRight: true),
                .init("memory", priority: 2, alignRight: true), .init("¥/unit·h", priority: 1, alignRight: true),
                .init("expires (UTC)"),
            ],
            rows: leases.map { l in
                [
                    width == nil ? l.leaseID.description : String(l.leaseID.description.suffix(8)), names.pool(l.pool),
                    l.tenant.name, String(l.computeUnits), String(l.acceleratorCount), TextFormat.memory(l.memoryMiB),
                    TextFormat.price(l.pricePerUnitHour),
                    width == nil ? TextFormat.instant(l.expiresAt) : String(TextFormat.instant(l.expiresAt).prefix(16)),
                ]
            }
        ).render(width: width)
    }

    public static func why(_ why: Why, width: Int?) -> String {
        explanation(why.explanation, focus: why.focus, names: NodeDirectory(why.names), width: width)
    }

    /// The decision and every candidate's verdict: chosen first, then by score, then filtered.
    public static func explanation(
        _ e: Explanation, focus: CandidateVerdict? = nil, names: NodeDirectory, width: Int?
    ) -> String {
        var out: [String] = []
        out.append(
            keyValueLines(
                [
                    ("request", e.requestID.description),
                    ("decided by", "\(names.labelWithID(e.decidedBy)) at \(TextFormat.instant(e.decidedAt)) UTC"),
                    ("path", TextFormat.orDash(e.path.map(names.label).joined(separator: " → "))),
                    (
                        "considered",
                        "\(e.consideredCount) pool(s): \(e.scoredCount) scored, \(e.filteredCount) filtered; chosen "
                            + (e.chosen.map(names.pool) ?? "none")
                    ),
                ], width: width))
        let verdicts = e.verdicts.sorted { a, b in
            func rank(_ v: CandidateVerdict) -> (Int, UInt32) {
                if v.pool == e.chosen { return (0, 0) }
                if case .scored(let s) = v.outcome { return (1, UInt32.max - s.total) }
                return (2, 0)
            }
            return rank(a) < rank(b) || (rank(a) == rank(b) && a.pool < b.pool)
        }
        if !verdicts.isEmpty {
            out.append(
                TextTable(
                    [
                        .init("pool"), .init("verdict"), .init("score", alignRight: true),
                        .init("price", priority: 2, alignRight: true), .init("latency", priority: 2, alignRight: true),
                        .init("green", priority: 2, alignRight: true), .init("reason", flexible: true),
                        .init("inventory (epoch.seq, age)", priority: 3),
                    ],
                    rows: verdicts.map { v in
                        let version = "\(v.inventoryEpoch).\(v.inventorySequence), \(TextFormat.duration(v.inventoryAge))"
                        switch v.outcome {
                        case .scored(let s):
                            return [
                                names.pool(v.pool), v.pool == e.chosen ? "CHOSEN" : "scored", TextFormat.score(s.total),
                                TextFormat.score(s.price), TextFormat.score(s.latency), TextFormat.score(s.green), "", version,
                            ]
                        case .filtered(let reason, let detail):
                            return [
                                names.pool(v.pool), "filtered", "-", "-", "-", "-",
                                reason.name + (detail.isEmpty ? "" : ": \(detail)"), version,
                            ]
                        }
                    }
                ).render(width: width))
        }
        if let focus {
            out.append(
                keyValueLines([("why not \(names.pool(focus.pool))?", verdictSentence(focus, chosen: e.chosen))], width: width))
        }
        return out.joined(separator: "\n")
    }

    /// One verdict in a sentence.
    public static func verdictSentence(_ v: CandidateVerdict, chosen: ComputeID?) -> String {
        switch v.outcome {
        case .filtered(let reason, let detail):
            return "filtered: \(reason.name)\(detail.isEmpty ? "" : " (\(detail))")"
        case .scored(let s):
            return "\(v.pool == chosen ? "it was chosen: " : "it scored lower: ")score \(TextFormat.score(s.total)) "
                + "(price \(TextFormat.score(s.price)), latency \(TextFormat.score(s.latency)), green \(TextFormat.score(s.green)))"
        }
    }

    /// A placement's outcome: the result, its leases, and the explanation.
    public static func outcome(_ o: Outcome, names: NodeDirectory, width: Int?) -> String {
        var out: [String] = []
        switch o.result {
        case .placed(let leases):
            out.append(
                wrapped("PLACED request \(o.requestID): \(leases.count) lease(s), key \(o.idempotencyKey)", width: width))
            out.append(self.leases(leases, names: names, width: width))
        case .refused(let reason, let message):
            out.append(
                wrapped("REFUSED request \(o.requestID): \(reason): \(message) (key \(o.idempotencyKey))", width: width))
        }
        out.append(explanation(o.explanation, names: names, width: width))
        return out.joined(separator: "\n")
    }

    /// One event, one line (a stream: never cut).
    public static func event(_ e: Event) -> String {
        "\(TextFormat.instant(e.at))  #\(e.sequence)  \(e.kind.name)/\(e.severity.name)  \(e.subject)  \(e.detail)"
    }

    /// A registered pool.
    public static func registered(_ r: PoolRegistered, names: NodeDirectory) -> String {
        "  registered \(names.pool(r.id)) (inventory record \(r.epoch).\(r.sequence)), stored durably"
    }
}
