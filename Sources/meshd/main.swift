// meshd: the node process. `meshd --config FILE` runs one regional or industry node.
import Foundation
import MeshRuntime

exit(MeshDaemon.main(Array(CommandLine.arguments.dropFirst())))
