// MeshNode: see README "What works today".
