// meshctl: the operator's command-line tool: the wire protocol, the federation's PKI, a console on
// a running node (ConsoleCommands.swift) and a guided tour of a mesh on loopback (Demo.swift).
import Foundation
import MeshCommandLine
import MeshCore
import MeshRuntime
import MeshWire

/// `meshctl`: the root of the command tree.
struct Meshctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshctl",
        abstract: """
            The operator's tool for a ComputeMesh federation: the wire protocol, the federation's PKI, \
            a console on a running node, and a guided tour of a mesh on loopback.
            """,
        discussion: """
            MESH_NODE and MESH_CREDENTIALS are the defaults of the console's --node and --credentials.
            """,
        version: "meshctl \(MeshVersion.current) (wire protocol 1)",
        subcommands: [
            WireCommand.self, AuthorityCommand.self, CertCommand.self, ConsoleCommand.self, DemoCommand.self,
            NodeProcessCommand.self,
        ])
}

struct WireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire", abstract: "decode frames and list the protocol's message types and error codes",
        subcommands: [WireDecode.self, WireTypes.self, WireErrors.self])
}

struct WireDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "decode frames given as hex, a vector file (@FILE) or hex on standard input (-)")
    @Argument(help: "hex, @FILE (lines starting with # are comments) or - (default: standard input)", valueName: "INPUT")
    var input: String?
    @Flag(help: "the input starts with the 8-byte connection preface") var stream = false
    func run() throws -> Int32 { try decode(input, stream: stream) }
}

struct WireTypes: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "types", abstract: "every message type of wire version 1")
    func run() throws -> Int32 {
        for (type, name) in WireMessage.registry { print("\(type)  \(name)") }
        return 0
    }
}

struct WireErrors: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "errors", abstract: "every error code of the protocol")
    func run() throws -> Int32 {
        for code in WireErrorCode.allCases { print("\(code.rawValue)\t\(code)") }
        return 0
    }
}

/// A command that could not do what it was asked (a file missing, a key that would be replaced):
/// one line, exit status 2.
struct CLIError: ExitStatusError {
    var description: String
    var exitStatus: Int32 { 2 }
    init(_ text: String) { description = text }
}

/// Reads hex from an argument, `@file` (lines starting with '#' are comments) or standard input.
func readHex(_ argument: String?) throws -> [UInt8] {
    let text: String
    switch argument {
    case nil, "-"?:
        text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    case let arg? where arg.hasPrefix("@"):
        let path = String(arg.dropFirst())
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        text = String(decoding: data, as: UTF8.self)
    case let arg?:
        text = arg
    }
    let hexLines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: " ")
    guard let bytes = Hex.decode(hexLines) else {
        throw CLIError("the input is not hex: use byte pairs like '00 00 00 17 00 06 ...', separated by spaces or not")
    }
    return bytes
}

func describe(_ message: WireMessage) -> String {
    let payload = Mirror(reflecting: message).children.first!.value as! any Encodable
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return (try? String(decoding: encoder.encode(payload), as: UTF8.self)) ?? String(describing: payload)
}

func decode(_ input: String?, stream: Bool) throws -> Int32 {
    let bytes = try readHex(input)
    var decoder = FrameDecoder(expectsPreface: stream)
    decoder.append(bytes)
    var index = 0
    do {
        while let frame = try decoder.next() {
            let h = frame.header
            print(
                "frame \(index): \(h.type.name ?? "unknown") (\(h.type)) v\(h.typeVersion) flags 0x\(String(h.flags.rawValue, radix: 16)) correlation \(h.correlationID), \(frame.bytes.count) bytes"
            )
            switch try WireMessage.decode(frame) {
            case .message(let message, _, _): print(describe(message))
            case .skipped: print("(skipped: unknown type or version, flagged ignorable)")
            }
            index += 1
        }
        try decoder.finish()
    } catch {
        print("error in frame \(index): \(error.code) (\(error.code.rawValue)) at offset \(error.offset): \(error.detail)")
        return 1
    }
    if index == 0 { print("no frames") }
    return 0
}

exit(CommandLineTool.main(Meshctl.self, arguments: Array(CommandLine.arguments.dropFirst())))
