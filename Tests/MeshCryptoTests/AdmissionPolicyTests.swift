import MeshCrypto
import MeshTestSupport
import Testing

@Suite struct AdmissionPolicyTests {
    static let today = try! CivilDate("2026-11-29")

    static func passing() -> AdmissionApplication {
        AdmissionApplication(
            operatorName: "East Compute Co",
            construction: .init(
                name: "East Compute Construction Ltd", registeredCapitalRMB: 80_000_000,
                sustainedFundingEvidence: ["five-year credit line, 300 million RMB"]),
            operating: .init(
                name: "East Compute Operations Ltd", publicInstitution: false, telecomLicenceNumber: "B1-20260001",
                facilities: ["Wuhu DC1, 2,000 racks"], equipment: ["4,096 accelerators"], personnel: ["engineers": 40]),
            integrityBreaches: [
                .init(date: try! CivilDate("2020-01-10"), major: true, description: "late tax filing, settled"),
                .init(date: try! CivilDate("2025-03-02"), major: false, description: "minor reporting delay"),
            ])
    }

    let policy = AdmissionPolicy()

    @Test func applicationMeetingEveryConditionIsAdmitted() {
        #expect(
            policy.evaluate(Self.passing(), today: Self.today)
                == .admit(
                    OperatorBinding(operatorName: "East Compute Co", licenceNumber: "B1-20260001", publicInstitution: false)))
    }

    @Test func capitalExactlyAtTheMinimumIsEnough() {
        var app = Self.passing()
        app.construction.registeredCapitalRMB = 50_000_000
        #expect(
            policy.evaluate(app, today: Self.today)
                == .admit(
                    OperatorBinding(operatorName: "East Compute Co", licenceNumber: "B1-20260001", publicInstitution: false)))
    }

    @Test(arguments: [
        ("capital", UnmetCondition.registeredCapitalBelowMinimum(actualRMB: 49_999_999, requiredRMB: 50_000_000)),
        ("funding", .noSustainedFundingEvidence),
        ("licence", .telecomLicenceMissing),
        ("facilities", .noFacilitiesDeclared),
        ("equipment", .noEquipmentDeclared),
        ("personnel", .noPersonnelDeclared),
        ("name", .operatorNameMissing),
    ])
    func eachUnmetConditionIsListed(_ field: String, _ expected: UnmetCondition) {
        var app = Self.passing()
        switch field {
        case "capital": app.construction.registeredCapitalRMB = 49_999_999
        case "funding": app.construction.sustainedFundingEvidence = ["  "]
        case "licence": app.operating.telecomLicenceNumber = nil
        case "facilities": app.operating.facilities = []
        case "equipment": app.operating.equipment = []
        case "personnel": app.operating.personnel = ["engineers": 0]
        case "name": app.operatorName = ""
        default: Issue.record("unknown field \(field)")
        }
        #expect(policy.evaluate(app, today: Self.today) == .refuse([expected]))
    }

    @Test func majorBreachWithinThreeYearsIsListed() throws {
        var app = Self.passing()
        let date = try CivilDate("2023-11-29")
        app.integrityBreaches.append(.init(date: date, major: true, description: "fraudulent filing"))
        #expect(
            policy.evaluate(app, today: Self.today)
                == .refuse([
                    .majorIntegrityBreach(date: date, description: "fraudulent filing", windowStart: try CivilDate("2023-11-29"))
                ]))
        app.integrityBreaches[app.integrityBreaches.count - 1].date = try CivilDate("2023-11-28")
        if case .refuse = policy.evaluate(app, today: Self.today) { Issue.record("a breach older than three years refused") }
    }

    @Test func publicInstitutionNeedsNoLicence() {
        var app = Self.passing()
        app.operating.publicInstitution = true
        app.operating.telecomLicenceNumber = nil
        #expect(
            policy.evaluate(app, today: Self.today)
                == .admit(OperatorBinding(operatorName: "East Compute Co", licenceNumber: "", publicInstitution: true)))
    }

    @Test func everyUnmetConditionIsListedAtOnce() throws {
        var app = Self.passing()
        app.construction.registeredCapitalRMB = 1
        app.construction.sustainedFundingEvidence = []
        app.operating.telecomLicenceNumber = ""
        app.operating.facilities = []
        app.operating.equipment = []
        app.operating.personnel = [:]
        app.integrityBreaches = [
            .init(date: try CivilDate("2025-01-01"), major: true, description: "b"),
            .init(date: try CivilDate("2024-01-01"), major: true, description: "a"),
        ]
        guard case .refuse(let unmet) = policy.evaluate(app, today: Self.today) else {
            Issue.record("admitted an application failing every condition")
            return
        }
        #expect(unmet.count == 8)
        #expect(
            unmet.last
                == .majorIntegrityBreach(
                    date: try CivilDate("2025-01-01"), description: "b", windowStart: try CivilDate("2023-11-29")))
    }

    @Test func leapDayWindowStartsOnTheTwentyEighth() throws {
        #expect(try CivilDate("2028-02-29").minus(years: 3) == CivilDate("2025-02-28"))
        #expect(throws: AdmissionError.self) { try CivilDate("2025-02-29") }
    }
}
