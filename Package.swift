// swift-tools-version: 6.1
//
// ComputeMesh: a federated mesh of compute interconnection nodes.
//
// No package dependencies, by design: the toolchain alone plus the system's OpenSSL 3 and SQLite 3
// reached through `.systemLibrary` targets. The module split follows DESIGN.md §2: pure cores
// (MeshCore, MeshWire, MeshMembership, MeshGossip, MeshPlacement, MeshNode) import only the
// standard library and each other; shells own I/O.
import PackageDescription

/// Settings shared by every Swift target.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "ComputeMesh",
    products: [
        .executable(name: "meshd", targets: ["meshd"]),
        .executable(name: "meshctl", targets: ["meshctl"]),
        .executable(name: "mesh-bench", targets: ["mesh-bench"]),
        .library(name: "MeshCore", targets: ["MeshCore"]),
        .library(name: "MeshWire", targets: ["MeshWire"]),
    ],
    targets: [
        // MARK: - C shims and system libraries
        .target(name: "CLinuxShim"),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // MARK: - Pure cores (standard library only)
        .target(name: "MeshCore", swiftSettings: swiftSettings),
        .target(name: "MeshWire", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .target(name: "MeshMembership", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .target(name: "MeshGossip", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .target(name: "MeshPlacement", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .target(
            name: "MeshNode",
            dependencies: ["MeshCore", "MeshWire", "MeshMembership", "MeshGossip", "MeshPlacement"],
            swiftSettings: swiftSettings
        ),

        // MARK: - Shells
        .target(name: "MeshCommandLine", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .target(
            name: "MeshConsole",
            dependencies: [
                "MeshCore", "MeshWire", "MeshTransport", "MeshCrypto", "MeshRuntime", "MeshCommandLine", "CLinuxShim",
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "MeshCrypto", dependencies: ["MeshCore", "COpenSSL"], swiftSettings: swiftSettings),
        .target(name: "MeshStore", dependencies: ["MeshCore", "MeshPlacement", "CSQLite"], swiftSettings: swiftSettings),
        .target(
            name: "MeshTransport",
            dependencies: ["MeshWire", "MeshCrypto", "CLinuxShim"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshRuntime",
            dependencies: [
                "MeshCore", "MeshWire", "MeshMembership", "MeshGossip", "MeshPlacement", "MeshNode", "MeshTransport",
                "MeshStore", "MeshCrypto", "MeshCommandLine", "CLinuxShim",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshSim",
            dependencies: ["MeshNode", "MeshWire", "MeshStore", "MeshMembership", "MeshGossip", "MeshPlacement"],
            swiftSettings: swiftSettings
        ),

        // MARK: - Executables
        .executableTarget(name: "meshd", dependencies: ["MeshRuntime"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "meshctl",
            dependencies: [
                "MeshCore", "MeshWire", "MeshCrypto", "MeshTransport", "MeshRuntime", "MeshCommandLine", "MeshConsole",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mesh-ledger-crashtest", dependencies: ["MeshCore", "MeshPlacement", "MeshStore"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "mesh-bench",
            dependencies: [
                "MeshCore", "MeshWire", "MeshMembership", "MeshGossip", "MeshPlacement", "MeshStore", "MeshSim",
                "MeshCrypto", "MeshTransport", "MeshRuntime", "MeshCommandLine",
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .target(
            name: "MeshTestSupport",
            dependencies: ["MeshCore", "MeshCrypto"],
            path: "Tests/MeshTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MeshCoreTests", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshCommandLineTests", dependencies: ["MeshCommandLine"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshConsoleTests", dependencies: ["MeshConsole", "MeshCore", "MeshWire", "MeshTransport", "MeshCrypto"],
            exclude: ["golden"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshWireTests",
            dependencies: ["MeshCore", "MeshWire"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshMembershipTests",
            dependencies: ["MeshCore", "MeshMembership"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MeshGossipTests", dependencies: ["MeshCore", "MeshGossip"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshPlacementTests",
            dependencies: ["MeshCore", "MeshPlacement"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MeshStoreTests", dependencies: ["MeshCore", "MeshStore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshCryptoTests",
            dependencies: ["MeshCore", "MeshCrypto", "MeshTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshTransportTests",
            dependencies: ["MeshCore", "MeshWire", "MeshCrypto", "MeshTransport", "MeshTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshSimTests",
            dependencies: ["MeshCore", "MeshWire", "MeshSim", "MeshMembership", "MeshGossip", "MeshPlacement", "MeshStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshNodeTests",
            dependencies: ["MeshCore", "MeshWire", "MeshNode", "MeshMembership", "MeshGossip", "MeshPlacement"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshRuntimeTests",
            dependencies: [
                "MeshCore", "MeshWire", "MeshRuntime", "MeshTransport", "MeshCrypto", "MeshStore", "MeshTestSupport", "CSQLite",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
