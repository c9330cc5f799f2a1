#if canImport(Glibc)
    import Glibc
#endif

/// The node process: event loop, timers, directive interpreter, configuration, lifecycle,
/// signals, metrics and the admin endpoint (DESIGN.md §2). Not built yet: the cores and the
/// transport it will compose exist (MeshNode, MeshTransport, MeshStore).
public enum MeshRuntime {
    /// Explains that the daemon is not built yet and exits with status 2.
    public static func refuseToStartYet() -> Never {
        let text = """
            meshd: the node process is not built yet: the runtime that composes the transport, membership,
            gossip and placement cores into a running node arrives with the open issues. Nothing was started.
            What works today: `swift test`, `meshctl wire decode`, `meshctl authority ...`, `mesh-bench`.
            See README.md, "What works today".

            """
        var bytes = Array(text.utf8)
        _ = write(2, &bytes, bytes.count)
        exit(2)
    }
}
