// meshd: the node daemon. The event loop, transport and cores it runs arrive with the issues that
// build them; until then it says so plainly instead of pretending to run.
import MeshRuntime

MeshRuntime.refuseToStartYet()
