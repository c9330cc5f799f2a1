// meshctl: the operator's command-line tool: the wire protocol, the federation's PKI, a console on
// a running node (ConsoleCommands.swift) and a guided tour of a mesh on loopback (Demo.swift).
import Foundation
import MeshCore
import MeshRuntime
import MeshWire

let usage = """
    usage: meshctl <command> [arguments]

    commands:
      wire decode [HEX | @FILE | -]   decode frames (hex, a vector file, or hex on standard input)
                  [--stream]          the input starts with the 8-byte preface
      wire types                      list every message type of wire version 1
      wire errors                     list every error code
      authority init DIR [--days N]   create the federation root (Ed25519) in DIR
      authority admit APPLICATION.json --authority DIR [--out DIR] [--today YYYY-MM-DD]
                                      apply the entry conditions; list every unmet one (exit 1)
                                      or issue the operator's credential; audited in DIR/audit.log
      authority revoke --authority DIR --node NODEID [--serial N] [--reason REASON]
                                      add a node to the root-signed revocation list
      cert issue --operator DIR --role ROLE --region REGION [--sector S]... --out DIR
                 [--key FILE] [--days N] [--force]
                                      issue a node certificate under an admitted operator; refuses
                                      to replace a key without --force; audited in the operator's
                                      DIR/audit.log
      (authority and cert commands take --json: one JSON object on standard output, for scripts)
      console --node HOST:PORT (--credentials DIR | --plaintext) [--json] COMMAND
                                      inspect and drive a running node: status, members,
                                      inventory, placements, why, register, place, watch
                                      (`meshctl console help` lists them)
      demo [--dir DIR] [--keep]       start a 6-node mesh on loopback, place requests through it,
                                      explain them, and stop it (needs meshd next to meshctl)
      help                            show this text
    """

struct CLIError: Error, CustomStringConvertible {
    var description: String
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

func decode(_ arguments: [String]) throws -> Int32 {
    let stream = arguments.contains("--stream")
    let rest = arguments.filter { $0 != "--stream" }
    if rest.count > 1 { throw CLIError("wire decode takes one input (HEX, @FILE or -), got \(rest.count)") }
    let bytes = try readHex(rest.first)
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

func run(_ arguments: [String]) throws -> Int32 {
    switch (arguments.first, arguments.dropFirst().first) {
    case ("wire", "decode"):
        return try decode(Array(arguments.dropFirst(2)))
    case ("wire", "types"):
        for (type, name) in WireMessage.registry { print("\(type)  \(name)") }
        return 0
    case ("wire", "errors"):
        for code in WireErrorCode.allCases { print("\(code.rawValue)\t\(code)") }
        return 0
    case ("authority", "init"), ("authority", "admit"), ("authority", "revoke"), ("cert", "issue"):
        return try runPKICommand(arguments)
    case ("console", "help"?), ("console", "--help"?):
        print(consoleUsage)
        return 0
    case ("console", _):
        do { return try runConsole(Array(arguments.dropFirst())) } catch let error as ConsoleError {
            FileHandle.standardError.write(Data("meshctl console: \(error)\n".utf8))
            return error.status
        }
    case ("demo", _):
        return try runDemo(Array(arguments.dropFirst()))
    case ("node", _):
        // The node process itself, for `meshctl demo` when meshd was not built (`swift run
        // meshctl demo` builds meshctl only): the same runtime as meshd, same arguments.
        return MeshDaemon.main(Array(arguments.dropFirst()))
    case ("help", _), ("--help", _), ("-h", _):
        print(usage)
        return 0
    case ("--version", _), ("version", _):
        print("meshctl \(MeshVersion.current) (wire protocol 1)")
        return 0
    case (nil, _):
        FileHandle.standardError.write(Data(usage.utf8))
        return 2
    default:
        let commands = ["wire", "authority", "cert", "console", "demo", "node", "help"]
        let first = arguments[0]
        if !commands.contains(first) {
            let hint = nearestName(to: first, among: commands).map { "; did you mean '\($0)'?" } ?? ""
            throw CLIError("unknown command '\(first)'\(hint)")
        }
        throw CLIError("unknown command '\(arguments.prefix(2).joined(separator: " "))'")
    }
}

/// `meshctl COMMAND ... --help`: the usage lines of that command.
func commandHelp(_ arguments: [String]) -> String? {
    guard arguments.count >= 2, arguments.contains("--help") || arguments.contains("-h"), arguments[0] != "console" else {
        return nil
    }
    let prefix = "  " + arguments.prefix(2).joined(separator: " ")
    let lines = usage.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { return nil }
    var section = [lines[start]]
    for line in lines[(start + 1)...] {
        if line.hasPrefix("  ") && !line.hasPrefix("   ") { break }
        section.append(line)
    }
    return "usage: meshctl" + section.joined(separator: "\n").dropFirst(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if let help = commandHelp(arguments) {
    print(help)
    exit(0)
}
do {
    exit(try run(arguments))
} catch {
    // One line and a hint, not the whole usage.
    FileHandle.standardError.write(Data("meshctl: \(error)\n(meshctl help lists the commands)\n".utf8))
    exit(2)
}
