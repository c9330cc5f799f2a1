import Foundation
public import MeshCore
public import MeshRuntime

/// Reads a pool file (the `pools` entries of a node configuration) and checks every field.
public func loadPoolFile(_ path: String) throws -> PoolConfiguration {
    let data = try readJSONFile(path, what: "pool")
    try checkShape(data, PoolConfiguration.shape, path: path)
    do { return try JSONDecoder().decode(PoolConfiguration.self, from: data) } catch {
        throw ConsoleError("\(path) is not a valid pool: \(explainDecoding(error))")
    }
}

/// The descriptor a node registers for `pool`: its ComputeID is issued under `node`'s namespace.
public func poolDescriptor(_ pool: PoolConfiguration, node: NodeID, region: Region, path: String) throws -> PoolDescriptor {
    let descriptor: PoolDescriptor
    do {
        let spec = try pool.spec(defaultResidency: region)
        let id: ComputeID
        do { id = try ComputeID(owner: node, path: spec.path) } catch {
            throw ConsoleError("\(path): field 'name': \(error.description)")
        }
        descriptor = spec.descriptor(id: id)
    } catch let error as ConfigurationError {
        throw ConsoleError("\(path): \(error.description)")
    }
    do { try descriptor.validate() } catch { throw ConsoleError("\(path): \(error.description)") }
    return descriptor
}
