import Glibc

/// Runs a closure to completion on a fresh OS thread and returns its result.
///
/// Used for work that changes per-thread kernel state (`setns`): such work must never run on
/// a Swift concurrency cooperative thread, which other tasks would then inherit.
enum DedicatedThread {
    private final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        var outcome: Result<T, E>?
        withoutActuallyEscaping(body) { escapable in
            let job = Job {
                do throws(E) { outcome = .success(try escapable()) } catch { outcome = .failure(error) }
            }
            let context = Unmanaged.passRetained(job).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.body()
                return nil
            }, context)
            if created != 0 {
                // No thread could be made: run inline is not an option (could be a cooperative
                // thread), so fail loudly; this only happens when the process is out of threads.
                Unmanaged<Job>.fromOpaque(context).release()
                fatalError("pthread_create failed with \(created)")
            }
            pthread_join(thread, nil)
        }
        return try outcome!.get()
    }
}
