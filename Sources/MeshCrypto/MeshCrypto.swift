// MeshCrypto: see README "What works today".
