/// Every reason the wire layer can refuse input, with its frozen numeric code.
///
/// Codes 1–63 are decoding errors (the bytes are malformed); codes 64 and up are protocol errors
/// (well-formed bytes at the wrong time or from the wrong party). The same codes travel in ERROR
/// frames, so they are part of the specification (`Protocols/SPEC.md`, "Error codes").
public enum WireErrorCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    // MARK: Decoding errors
    /// The input ended inside a field or a frame.
    case truncated = 1
    /// A frame's length prefix exceeds the negotiated maximum; refused before any allocation.
    case frameTooLarge = 2
    /// A frame's length prefix is smaller than the fixed header.
    case frameTooShort = 3
    /// The stream did not start with the preface magic `CMSH`.
    case badMagic = 4
    /// The preface names a wire major version this implementation does not speak.
    case unsupportedVersion = 5
    /// A message type this implementation does not know, without the ignorable flag.
    case unknownMessageType = 6
    /// A known message type with a type version this implementation does not know, without the
    /// ignorable flag.
    case unsupportedTypeVersion = 7
    /// A reserved bit of the frame flags or the preface is set.
    case reservedBitsSet = 8
    /// A varint runs past 10 bytes or past 64 bits.
    case varintOverflow = 9
    /// A varint is not in its shortest form (the encoding must be canonical so that bytes and
    /// values map one to one).
    case nonCanonicalVarint = 10
    /// A string exceeds its field's byte limit.
    case stringTooLong = 11
    /// A byte string exceeds its field's limit.
    case bytesTooLong = 12
    /// An array exceeds its field's element limit.
    case arrayTooLong = 13
    /// Nested structures exceed the maximum depth.
    case nestingTooDeep = 14
    /// A text field is not valid UTF-8.
    case invalidUTF8 = 15
    /// A field's value is outside its domain (a bool that is not 0 or 1, an enum code that is not
    /// defined, an identifier that breaks its grammar, a number out of range).
    case invalidValue = 16
    /// Bytes remain after the last field of a body or of a tagged field.
    case trailingBytes = 17
    /// Tagged fields are not in strictly increasing tag order.
    case tagOrder = 18

    // MARK: Protocol errors
    /// A frame other than HELLO arrived before WELCOME.
    case notWelcomed = 64
    /// A well-formed message that is not valid in the connection's current state.
    case unexpectedMessage = 65
    /// The peer's role may not send this message (e.g. a console sending gossip).
    case unauthorized = 66
    /// Too many requests in flight on the connection.
    case overloaded = 67
    /// The peer exceeded its budget of protocol errors and is being disconnected.
    case tooManyErrors = 68
    /// The receiver failed for a reason of its own; the request may be retried.
    case internalError = 69

    // MARK: Request refusals
    /// The request names something the receiver does not hold (a request ID it has no
    /// explanation of, a pool it has no verdict on, a lease it neither holds nor can route).
    case notFound = 128
    /// The request is about something another node owns (REGISTER_POOL for a foreign owner).
    case notOwner = 129
    /// A well-formed value that the receiver's rules refuse (a pool with no compute units, a
    /// placement request that breaks its own constraints).
    case refusedValue = 130
    /// The message belongs to a feature that is not in force on the connection (§8.2).
    case featureNotNegotiated = 131

    public var description: String {
        switch self {
        case .truncated: "truncated"
        case .frameTooLarge: "frame-too-large"
        case .frameTooShort: "frame-too-short"
        case .badMagic: "bad-magic"
        case .unsupportedVersion: "unsupported-version"
        case .unknownMessageType: "unknown-message-type"
        case .unsupportedTypeVersion: "unsupported-type-version"
        case .reservedBitsSet: "reserved-bits-set"
        case .varintOverflow: "varint-overflow"
        case .nonCanonicalVarint: "non-canonical-varint"
        case .stringTooLong: "string-too-long"
        case .bytesTooLong: "bytes-too-long"
        case .arrayTooLong: "array-too-long"
        case .nestingTooDeep: "nesting-too-deep"
        case .invalidUTF8: "invalid-utf8"
        case .invalidValue: "invalid-value"
        case .trailingBytes: "trailing-bytes"
        case .tagOrder: "tag-order"
        case .notWelcomed: "not-welcomed"
        case .unexpectedMessage: "unexpected-message"
        case .unauthorized: "unauthorized"
        case .overloaded: "overloaded"
        case .tooManyErrors: "too-many-errors"
        case .internalError: "internal-error"
        case .notFound: "not-found"
        case .notOwner: "not-owner"
        case .refusedValue: "refused-value"
        case .featureNotNegotiated: "feature-not-negotiated"
        }
    }

    /// Parses the kebab-case name used in the specification and the vectors.
    public init?(name: String) {
        guard let match = WireErrorCode.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }

    /// Whether the code describes malformed bytes (as opposed to a protocol violation).
    public var isDecodingError: Bool { rawValue < 64 }

    /// Whether the code is a request refusal (128–191): a well-formed, permitted request that the
    /// receiver declines on its merits. Request refusals answer a request, do not count against
    /// the sender's error budget and leave the connection open (SPEC §7.3).
    public var isRequestRefusal: Bool { (128..<192).contains(rawValue) }
}

/// A refusal of wire input: what was wrong, and where.
///
/// `offset` counts bytes from the start of the frame (its first length byte); for preface errors,
/// from the start of the stream. Decoding never traps on input: every malformed byte sequence
/// ends here.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: WireErrorCode
    public var offset: Int
    /// A human-readable reason naming the field or limit involved.
    public var detail: String

    public init(_ code: WireErrorCode, at offset: Int, _ detail: String) {
        self.code = code
        self.offset = offset
        self.detail = detail
    }

    public var description: String { "\(code) at offset \(offset): \(detail)" }

    /// Whether this is the error `code` at `offset`.
    public func matches(code: WireErrorCode, offset: Int) -> Bool { self.code == code && self.offset == offset }

    /// Errors are equal when code and offset agree: those are the specified part. The detail is
    /// text for people and free to improve without changing what an error is.
    public static func == (lhs: WireError, rhs: WireError) -> Bool { lhs.code == rhs.code && lhs.offset == rhs.offset }
}
