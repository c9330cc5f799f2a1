// mesh-bench: ComputeMesh's benchmarks. See `Dispatcher` (CLI.swift) for the subcommands and
// BENCHMARKS.md for how to read the figures.
import Foundation

exit(Dispatcher.main(CommandLine.arguments))
