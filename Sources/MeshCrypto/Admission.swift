// The federation authority's entry conditions (README: "Only operators admitted by the federation
// authority ... get node certificates"), as a pure function over an application.

/// A calendar date, `YYYY-MM-DD`, as applications state them.
public struct CivilDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) throws(AdmissionError) {
        guard (1900...9999).contains(year), (1...12).contains(month), (1...CivilDate.days(in: month, of: year)).contains(day)
        else {
            throw AdmissionError.invalidApplication("\(year)-\(month)-\(day) is not a calendar date")
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init(_ text: String) throws(AdmissionError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { throw AdmissionError.invalidApplication("'\(text)' is not a date; write YYYY-MM-DD") }
        try self.init(year: y, month: m, day: d)
    }

    static func days(in month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The same day `years` earlier (29 February becomes 28 February in a common year).
    public func minus(years: Int) -> CivilDate {
        var copy = self
        copy.year -= years
        copy.day = min(day, CivilDate.days(in: month, of: copy.year))
        return copy
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    public var description: String {
        let y = String(year)
        let m = month < 10 ? "0\(month)" : "\(month)"
        let d = day < 10 ? "0\(day)" : "\(day)"
        return "\(y)-\(m)-\(d)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try CivilDate(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An application for admission to the federation, as submitted (JSON).
///
/// ```json
/// { "operatorName": "East China Compute Co.",
///   "construction": { "name": "...", "registeredCapitalRMB": 80000000,
///                     "sustainedFundingEvidence": ["5-year credit line, Bank of ..."] },
///   "operating": { "name": "...", "publicInstitution": false, "telecomLicenceNumber": "B1-20231234",
///                  "facilities": ["Wuhu DC1, 2,000 racks"], "equipment": ["..."],
///                  "personnel": { "engineers": 40, "security": 6, "operations": 25 } },
///   "integrityBreaches": [ { "date": "2021-05-04", "major": true, "description": "..." } ] }
/// ```
public struct AdmissionApplication: Sendable, Codable, Equatable {
    public struct ConstructionEntity: Sendable, Codable, Equatable {
        public var name: String
        /// Registered capital in RMB (yuan, not ten-thousands).
        public var registeredCapitalRMB: Int64
        /// Documents showing funding that lasts (credit lines, shareholder commitments, budgets).
        public var sustainedFundingEvidence: [String]

        public init(name: String, registeredCapitalRMB: Int64, sustainedFundingEvidence: [String]) {
            self.name = name
            self.registeredCapitalRMB = registeredCapitalRMB
            self.sustainedFundingEvidence = sustainedFundingEvidence
        }
    }

    public struct OperatingEntity: Sendable, Codable, Equatable {
        public var name: String
        /// Public institutions (事业单位) need no telecom business licence.
        public var publicInstitution: Bool
        /// The telecom business licence number; nil or empty when none is held.
        public var telecomLicenceNumber: String?
        public var facilities: [String]
        public var equipment: [String]
        /// Head count by function.
        public var personnel: [String: Int]

        public init(
            name: String, publicInstitution: Bool, telecomLicenceNumber: String?, facilities: [String], equipment: [String],
            personnel: [String: Int]
        ) {
            self.name = name
            self.publicInstitution = publicInstitution
            self.telecomLicenceNumber = telecomLicenceNumber
            self.facilities = facilities
            self.equipment = equipment
            self.personnel = personnel
        }
    }

    public struct IntegrityBreach: Sendable, Codable, Equatable {
        public var date: CivilDate
        /// Whether it is a major credit or integrity breach (only major ones bar admission).
        public var major: Bool
        public var description: String

        public init(date: CivilDate, major: Bool, description: String) {
            self.date = date
            self.major = major
            self.description = description
        }
    }

    public var operatorName: String
    public var construction: ConstructionEntity
    public var operating: OperatingEntity
    public var integrityBreaches: [IntegrityBreach]

    public init(
        operatorName: String, construction: ConstructionEntity, operating: OperatingEntity, integrityBreaches: [IntegrityBreach]
    ) {
        self.operatorName = operatorName
        self.construction = construction
        self.operating = operating
        self.integrityBreaches = integrityBreaches
    }
}

/// An entry condition the application does not meet.
public enum UnmetCondition: Sendable, Equatable, CustomStringConvertible {
    case operatorNameMissing
    case registeredCapitalBelowMinimum(actualRMB: Int64, requiredRMB: Int64)
    case noSustainedFundingEvidence
    case telecomLicenceMissing
    case noFacilitiesDeclared
    case noEquipmentDeclared
    case noPersonnelDeclared
    case majorIntegrityBreach(date: CivilDate, description: String, windowStart: CivilDate)

    public var description: String {
        switch self {
        case .operatorNameMissing: "the application names no operator (operatorName)"
        case .registeredCapitalBelowMinimum(let actual, let required):
            "the construction entity's registered capital is RMB \(actual); at least RMB \(required) is required"
        case .noSustainedFundingEvidence: "the construction entity gives no evidence of sustained funding"
        case .telecomLicenceMissing:
            "the operating entity holds no telecom business licence and is not a public institution"
        case .noFacilitiesDeclared: "the operating entity declares no facilities"
        case .noEquipmentDeclared: "the operating entity declares no equipment"
        case .noPersonnelDeclared: "the operating entity declares no personnel"
        case .majorIntegrityBreach(let date, let text, let start):
            "a major credit or integrity breach on \(date) (\(text)) falls within the three years since \(start)"
        }
    }
}

/// An application that could not be read.
public enum AdmissionError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidApplication(String)
    public var description: String {
        switch self {
        case .invalidApplication(let detail): "the application is invalid: \(detail)"
        }
    }
}

/// The authority's decision.
public enum AdmissionDecision: Sendable, Equatable {
    /// Every condition is met: issue the operator's credential with this binding.
    case admit(OperatorBinding)
    /// Every unmet condition, in the order of the notice.
    case refuse([UnmetCondition])
}

/// The entry conditions of the notice, as a pure function.
public struct AdmissionPolicy: Sendable, Equatable {
    /// Minimum registered capital of the construction entity: RMB 50 million.
    public var minimumRegisteredCapitalRMB: Int64 = 50_000_000
    /// Breaches within this many years before the decision bar admission.
    public var integrityLookbackYears = 3

    public init() {}

    /// Applies every condition to `application` as of `today`; never stops at the first failure.
    public func evaluate(_ application: AdmissionApplication, today: CivilDate) -> AdmissionDecision {
        var unmet: [UnmetCondition] = []
        let name = application.operatorName.trimmingSpaces
        if name.isEmpty { unmet.append(.operatorNameMissing) }
        let c = application.construction
        if c.registeredCapitalRMB < minimumRegisteredCapitalRMB {
            unmet.append(
                .registeredCapitalBelowMinimum(actualRMB: c.registeredCapitalRMB, requiredRMB: minimumRegisteredCapitalRMB))
        }
        if c.sustainedFundingEvidence.allSatisfy({ $0.trimmingSpaces.isEmpty }) { unmet.append(.noSustainedFundingEvidence) }
        let o = application.operating
        let licence = (o.telecomLicenceNumber ?? "").trimmingSpaces
        if licence.isEmpty && !o.publicInstitution { unmet.append(.telecomLicenceMissing) }
        if o.facilities.allSatisfy({ $0.trimmingSpaces.isEmpty }) { unmet.append(.noFacilitiesDeclared) }
        if o.equipment.allSatisfy({ $0.trimmingSpaces.isEmpty }) { unmet.append(.noEquipmentDeclared) }
        if !o.personnel.values.contains(where: { $0 > 0 }) { unmet.append(.noPersonnelDeclared) }
        let windowStart = today.minus(years: integrityLookbackYears)
        let breaches = application.integrityBreaches.filter { $0.major && $0.date >= windowStart }
            .sorted { ($0.date, $0.description) < ($1.date, $1.description) }
        for breach in breaches {
            unmet.append(.majorIntegrityBreach(date: breach.date, description: breach.description, windowStart: windowStart))
        }
        if !unmet.isEmpty { return .refuse(unmet) }
        return .admit(OperatorBinding(operatorName: name, licenceNumber: licence, publicInstitution: o.publicInstitution))
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
