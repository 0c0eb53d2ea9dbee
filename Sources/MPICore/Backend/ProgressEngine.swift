#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Completes the requests behind `async` operations on a thread of its own, so awaiting an MPI
/// operation never blocks a thread of Swift's cooperative pool.
///
/// The thread sleeps on a condition variable while nothing is pending. While requests are
/// pending it tests each in turn and resumes the continuations of those that completed; when a
/// round completes nothing it spins briefly, then yields, then sleeps for growing intervals up to
/// 200 µs, so an idle wait costs little CPU on a machine with few cores.
package final class ProgressEngine: @unchecked Sendable {
    private struct Operation {
        let id: Int
        let handle: RequestHandle
        let continuation: UnsafeContinuation<Status, any Error>
        var cancelIssued = false
    }

    private let backend: any Backend
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wakeup: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var incoming: [Operation] = []
    private var cancelled: Set<Int> = []
    private var nextID = 1
    private var stopping = false
    private var thread: pthread_t?

    package init(backend: any Backend) {
        self.backend = backend
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        wakeup = .allocate(capacity: 1)
        pthread_cond_init(wakeup, nil)
    }

    deinit {
        pthread_cond_destroy(wakeup)
        pthread_mutex_destroy(mutex)
        wakeup.deallocate()
        mutex.deallocate()
    }

    /// Waits for `handle` to complete. When the task is cancelled first, a receive is cancelled
    /// and this throws `CancellationError`; a receive that had already matched completes
    /// normally, and a send always completes (MPI cannot take a started send back).
    package func complete(_ handle: RequestHandle) async throws -> Status {
        let id = register()
        let status = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Status, any Error>) in
                enqueue(Operation(id: id, handle: handle, continuation: continuation))
            }
        } onCancel: {
            locked { _ = cancelled.insert(id) }
        }
        if status.isCancelled { throw CancellationError() }
        return status
    }

    /// Stops the thread once the pending operations are done; called before finalize.
    package func stop() {
        let running: pthread_t? = locked {
            stopping = true
            pthread_cond_signal(wakeup)
            return thread
        }
        if let running { pthread_join(running, nil) }
    }

    private func register() -> Int {
        locked {
            defer { nextID += 1 }
            return nextID
        }
    }

    private func enqueue(_ operation: Operation) {
        locked {
            incoming.append(operation)
            if thread == nil {
                var created = pthread_t()
                let context = Unmanaged.passRetained(self).toOpaque()
                pthread_create(&created, nil, { context in
                    let engine = Unmanaged<ProgressEngine>.fromOpaque(context!).takeRetainedValue()
                    engine.run()
                    return nil
                }, context)
                thread = created
            }
            pthread_cond_signal(wakeup)
        }
    }

    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    private func run() {
        var pending: [Operation] = []
        var idleRounds = 0
        while true {
            var cancelNow: Set<Int> = []
            let stop: Bool = locked {
                while incoming.isEmpty && pending.isEmpty && !stopping {
                    pthread_cond_wait(wakeup, mutex)
                }
                pending.append(contentsOf: incoming)
                incoming.removeAll(keepingCapacity: true)
                cancelNow = cancelled
                return stopping && pending.isEmpty
            }
            if stop { return }

            var completedAny = false
            var index = 0
            while index < pending.count {
                let operation = pending[index]
                if !operation.cancelIssued && cancelNow.contains(operation.id) {
                    try? backend.cancel(operation.handle)
                    pending[index].cancelIssued = true
                }
                do {
                    if let status = try backend.test(operation.handle) {
                        pending.remove(at: index)
                        locked { _ = cancelled.remove(operation.id) }
                        operation.continuation.resume(returning: status)
                        completedAny = true
                        continue
                    }
                } catch {
                    pending.remove(at: index)
                    locked { _ = cancelled.remove(operation.id) }
                    operation.continuation.resume(throwing: error)
                    completedAny = true
                    continue
                }
                index += 1
            }
            if completedAny || pending.isEmpty {
                idleRounds = 0
            } else {
                idleRounds += 1
                if idleRounds > 2000 {
                    var pause = timespec(tv_sec: 0, tv_nsec: min(200_000, 1_000 * (idleRounds - 2000)))
                    nanosleep(&pause, nil)
                } else if idleRounds > 100 {
                    sched_yield()
                }
            }
        }
    }
}
