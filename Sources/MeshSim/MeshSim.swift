// MeshSim: see README "What works today".
