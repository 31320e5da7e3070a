import Glibc

/// One long-lived OS thread that runs short jobs which must switch network namespace
/// (`setns`, then create a socket or write a sysctl, then switch back).
///
/// Handing a job to a running thread costs two wake-ups (~10 µs) where creating a thread
/// costs several times that. Jobs run one at a time; a job that itself needs the hopper
/// (nesting) runs on a fresh ``DedicatedThread`` instead of deadlocking.
final class NamespaceHopper: @unchecked Sendable {
    // @unchecked: `queue` and each job's `done` are only touched with `mutex` held; the
    // pthread primitives are allocated once and never freed (the hopper lives for the process).
    static let shared = NamespaceHopper()

    private final class Job {
        /// Cleared by the worker once run, so the caller's non-escaping closure is released
        /// before the caller wakes up (`withoutActuallyEscaping` checks that).
        var body: (() -> Void)?
        var done = false
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let workAvailable: UnsafeMutablePointer<pthread_cond_t>
    private let workDone: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [Job] = []
    private var worker = pthread_t()

    private init() {
        mutex = .allocate(capacity: 1)
        workAvailable = .allocate(capacity: 1)
        workDone = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(workAvailable, nil)
        pthread_cond_init(workDone, nil)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let created = pthread_create(&worker, nil, { raw in
            Unmanaged<NamespaceHopper>.fromOpaque(raw!).takeUnretainedValue().loop()
            return nil
        }, context)
        precondition(created == 0, "could not start the namespace thread: \(created)")
        pthread_detach(worker)
    }

    private func loop() -> Never {
        while true {
            pthread_mutex_lock(mutex)
            while queue.isEmpty { pthread_cond_wait(workAvailable, mutex) }
            let job = queue.removeFirst()
            pthread_mutex_unlock(mutex)
            job.body?()
            job.body = nil
            pthread_mutex_lock(mutex)
            job.done = true
            pthread_cond_broadcast(workDone)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Queues `job` for the hopper thread and returns at once (the job reports back itself).
    func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        queue.append(Job(job))
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` on the hopper thread and returns its result.
    func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        if pthread_equal(pthread_self(), worker) != 0 {
            return try DedicatedThread.run(body)
        }
        var outcome: Result<T, E>?
        withoutActuallyEscaping(body) { escapable in
            let job = Job {
                do throws(E) { outcome = .success(try escapable()) } catch { outcome = .failure(error) }
            }
            pthread_mutex_lock(mutex)
            queue.append(job)
            pthread_cond_signal(workAvailable)
            while !job.done { pthread_cond_wait(workDone, mutex) }
            pthread_mutex_unlock(mutex)
        }
        return try outcome!.get()
    }
}
