/// One link of a registry chain (network services or endpoints), as upstream's SDK builds its
/// registry servers and clients: register, find and unregister each call `next`.
///
/// `Find` here is the non-watching form; watches are served by the storage (or relayed from
/// the next registry) beside the chain.
public protocol RegistryElement<Resource>: Sendable {
    associatedtype Resource: Sendable
    func register(_ resource: Resource, next: RegistryNext<Resource>) async throws -> Resource
    func find(_ query: Resource, next: RegistryNext<Resource>) async throws -> [Resource]
    func unregister(_ resource: Resource, next: RegistryNext<Resource>) async throws
}

extension RegistryElement {
    public func register(_ resource: Resource, next: RegistryNext<Resource>) async throws -> Resource {
        try await next.register(resource)
    }
    public func find(_ query: Resource, next: RegistryNext<Resource>) async throws -> [Resource] {
        try await next.find(query)
    }
    public func unregister(_ resource: Resource, next: RegistryNext<Resource>) async throws {
        try await next.unregister(resource)
    }
}

/// The rest of a registry chain.
public struct RegistryNext<Resource: Sendable>: Sendable {
    public let register: @Sendable (Resource) async throws -> Resource
    public let find: @Sendable (Resource) async throws -> [Resource]
    public let unregister: @Sendable (Resource) async throws -> Void

    public init(
        register: @escaping @Sendable (Resource) async throws -> Resource,
        find: @escaping @Sendable (Resource) async throws -> [Resource],
        unregister: @escaping @Sendable (Resource) async throws -> Void
    ) {
        self.register = register
        self.find = find
        self.unregister = unregister
    }

    /// The end of a chain: echoes registrations, finds nothing.
    public static var tail: RegistryNext { RegistryNext(register: { $0 }, find: { _ in [] }, unregister: { _ in }) }
}

/// An ordered list of registry elements, itself an element.
public struct RegistryChain<Resource: Sendable>: RegistryElement {
    public let elements: [any RegistryElement<Resource>]

    public init(_ elements: [any RegistryElement<Resource>]) { self.elements = elements }

    public func register(_ resource: Resource, next: RegistryNext<Resource> = .tail) async throws -> Resource {
        try await link(0, then: next).register(resource)
    }

    public func find(_ query: Resource, next: RegistryNext<Resource> = .tail) async throws -> [Resource] {
        try await link(0, then: next).find(query)
    }

    public func unregister(_ resource: Resource, next: RegistryNext<Resource> = .tail) async throws {
        try await link(0, then: next).unregister(resource)
    }

    private func link(_ index: Int, then last: RegistryNext<Resource>) -> RegistryNext<Resource> {
        guard index < elements.count else { return last }
        let element = elements[index]
        return RegistryNext(
            register: { try await element.register($0, next: link(index + 1, then: last)) },
            find: { try await element.find($0, next: link(index + 1, then: last)) },
            unregister: { try await element.unregister($0, next: link(index + 1, then: last)) })
    }
}
