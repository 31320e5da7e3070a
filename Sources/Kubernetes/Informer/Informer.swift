import Logging
public import Readiness
import Synchronization

/// A list-then-watch cache of one resource, as client-go's reflector and store: LIST, then
/// WATCH from the list's resourceVersion (bookmarks move it on); when the server ends a watch,
/// watch again from the last version seen, without listing; on `410 Expired` list again and tell
/// the changes the watch missed (deletions included) by comparing with the cache; on errors back
/// off with jitter (a 429's `Retry-After` honoured). Changes go to `onChange` in order, from
/// `run()`'s task, outside any lock.
public final class Informer<Object: KubernetesObject>: Sendable {
    public enum Change: Sendable {
        case added(Object)
        case modified(Object)
        case deleted(Object)
    }

    public struct Key: Hashable, Sendable {
        public var namespace: String
        public var name: String
        public init(namespace: String, name: String) {
            self.namespace = namespace
            self.name = name
        }
    }

    private struct State {
        var objects: [Key: Object] = [:]
        var resourceVersion: String?
        var lists = 0
        var watches = 0
    }

    let client: KubernetesClient
    public let resource: KubernetesResource
    let namespace: String?
    let selection: KubernetesClient.Selection
    let watchTimeout: Int
    let onChange: @Sendable (Change) -> Void
    let logger: Logger
    private let state = Mutex(State())
    /// Resolved once the first LIST is in the cache.
    public let synced = ReadySignal<Void>()

    /// - Parameters:
    ///   - namespace: one namespace, or nil for all of them.
    ///   - watchTimeout: the `timeoutSeconds` asked of each watch (the server may end it sooner).
    public init(
        client: KubernetesClient, resource: KubernetesResource, namespace: String? = nil, selection: KubernetesClient.Selection = .init(),
        watchTimeout: Int = 300, logger: Logger = Logger(label: "nsm.kubernetes.informer"), onChange: @escaping @Sendable (Change) -> Void = { _ in }
    ) {
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.selection = selection
        self.watchTimeout = watchTimeout
        self.logger = logger
        self.onChange = onChange
    }

    /// The cached objects.
    public var objects: [Object] { state.withLock { Array($0.objects.values) } }
    public func object(namespace: String = "", name: String) -> Object? { state.withLock { $0.objects[Key(namespace: namespace, name: name)] } }
    /// The version the cache is at.
    public var resourceVersion: String? { state.withLock { $0.resourceVersion } }
    /// How many LISTs and WATCHes it made (a re-watch after the server ended one is not a relist).
    public var counts: (lists: Int, watches: Int) { state.withLock { ($0.lists, $0.watches) } }

    static func key(_ object: Object) -> Key { Key(namespace: object.metadata.namespace ?? "", name: object.metadata.name ?? "") }

    /// Keeps the cache current until the task is cancelled.
    public func run() async throws {
        var delay = RetryDelay()
        var needList = true
        while !Task.isCancelled {
            do {
                if needList {
                    try await relist()
                    needList = false
                }
                state.withLock { $0.watches += 1 }
                try await client.watch(Object.self, resource, namespace: namespace, selection: selection,
                                       resourceVersion: resourceVersion, timeoutSeconds: watchTimeout) { event in
                    apply(event)
                }
                delay.reset()  // the server ended the watch: watch again from where it stood
            } catch let error as KubernetesError where error.isExpired {
                logger.info("watch expired; listing again", metadata: ["resource": "\(resource)", "error": "\(error)"])
                needList = true
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let pause = delay.next(after: error)
                logger.warning("list or watch failed; retrying", metadata: ["resource": "\(resource)", "error": "\(error)", "in": "\(pause)"])
                try? await Task.sleep(for: pause)
            }
        }
    }

    private func relist() async throws {
        let list = try await client.listAll(Object.self, resource, namespace: namespace, selection: selection)
        let fresh = Dictionary(list.items.map { (Self.key($0), $0) }, uniquingKeysWith: { _, last in last })
        let changes = state.withLock { state -> [Change] in
            var changes: [Change] = []
            for (key, old) in state.objects where fresh[key] == nil { changes.append(.deleted(old)) }
            for (key, new) in fresh {
                if let old = state.objects[key] {
                    if old.metadata.resourceVersion != new.metadata.resourceVersion { changes.append(.modified(new)) }
                } else {
                    changes.append(.added(new))
                }
            }
            state.objects = fresh
            state.resourceVersion = list.metadata.resourceVersion
            state.lists += 1
            return changes
        }
        for change in changes { onChange(change) }
        synced.resolve()
    }

    private func apply(_ event: WatchEvent<Object>) {
        let change: Change? = state.withLock { state in
            if let version = event.resourceVersion { state.resourceVersion = version }
            guard let object = event.object else { return nil }
            let key = Self.key(object)
            switch event.type {
            case .added, .modified:
                let existed = state.objects.updateValue(object, forKey: key) != nil
                return existed ? .modified(object) : .added(object)
            case .deleted:
                return state.objects.removeValue(forKey: key) != nil ? .deleted(object) : nil
            case .bookmark, .error:
                return nil
            }
        }
        if let change { onChange(change) }
    }
}
