import Foundation
import Glibc

/// The standard `process_*` figures of the running process, read from /proc.
struct ProcessFigures {
    var residentBytes: UInt64
    var openFileDescriptors: Int
    var cpuSeconds: Double
    var startTimeSeconds: Double

    static func current() -> ProcessFigures {
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let resident = statm.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        return ProcessFigures(
            residentBytes: resident * pageSize, openFileDescriptors: fds, cpuSeconds: cpu, startTimeSeconds: startTime)
    }

    /// Boot time (/proc/stat `btime`) plus the process's start in clock ticks (/proc/self/stat field 22).
    static let startTime: Double = {
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        // Fields after the command name, which is in parentheses and may hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        guard fields.count > 19, let ticks = Double(fields[19]) else { return 0 }
        let procStat = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        let btime = procStat.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) } ?? 0
        return btime + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()
}

/// The software's version, for `--version` and `computemesh_build_info`.
public enum MeshVersion {
    public static let current = "0.14.0"
}
