// MeshRuntime: see README "What works today".
