// MeshMembership: see README "What works today".
