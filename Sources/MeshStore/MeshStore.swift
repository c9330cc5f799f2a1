// MeshStore: see README "What works today".
