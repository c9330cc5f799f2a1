// mesh-bench: ComputeMesh's benchmarks. See `MeshBench` (CLI.swift) for the subcommands and
// BENCHMARKS.md for how to read the figures.
import Foundation
import MeshCommandLine

exit(CommandLineTool.main(MeshBench.self, arguments: Array(CommandLine.arguments.dropFirst())))
