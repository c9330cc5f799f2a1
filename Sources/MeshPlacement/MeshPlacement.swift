// MeshPlacement: see README "What works today".
