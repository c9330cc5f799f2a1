// MeshGossip: see README "What works today".
