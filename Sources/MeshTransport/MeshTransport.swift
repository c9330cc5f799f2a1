// MeshTransport: see README "What works today".
