#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

// Awaiting a request. At `ThreadLevel.multiple` a progress thread tests pending requests and
// resumes the awaiting tasks (`ProgressEngine`), so no thread of the cooperative pool blocks. Below
// it no second thread may call MPI, so the awaiting task drives progress itself: it tests its
// request, and while the operation is pending it yields the thread to other tasks and tests again.
// A process-wide lock makes those tests one at a time (what `.serialized` asks of a program); the
// task never blocks on it, it yields and tries again. The program must not make blocking MPI calls
// from another thread meanwhile (the thread level it chose says so).

extension Request {
    /// Suspends the calling task until the operation completes and returns its status — the
    /// `async` counterpart of ``wait()``, at every thread level.
    ///
    /// When the task is cancelled while a receive is still unmatched, the receive is cancelled
    /// and this throws `CancellationError`; a receive that had already matched completes
    /// normally, and a send always completes (MPI cannot take a started send back).
    @discardableResult
    public mutating func completion() async throws -> Status {
        if let result { return result }
        guard backend.isActive else { throw MPIError.finalized() }
        do {
            let status: Status
            if backend.providedThreadLevel == .multiple {
                status = try await Runtime.progressEngine(for: backend).complete(handle!)
            } else {
                status = try await AwaitingTaskProgress.complete(handle!, on: backend)
            }
            complete(status)
            return status
        } catch let error as CancellationError {
            var status = Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: 0)
            status.isCancelled = true
            complete(status)
            throw error
        } catch {
            complete(Status(source: Communicator.anySource, tag: Communicator.anyTag, error: (error as? MPIError)?.errorClass, byteCount: 0))
            throw error
        }
    }
}

/// Progress driven by the awaiting task, below `ThreadLevel.multiple`.
enum AwaitingTaskProgress {
    /// Held while a task calls the backend, so tasks on different threads take turns.
    static let turn = Atomic<Bool>(false)

    /// Takes the turn if no other task holds it.
    static func takeTurn() -> Bool {
        turn.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    static func giveTurn() { turn.store(false, ordering: .releasing) }

    /// Runs `body`, which calls the backend, once no other task is calling it (below
    /// `.multiple`); the task yields instead of blocking while it waits its turn.
    static func withTurn<R: ~Copyable>(on backend: any Backend, _ body: () throws -> R) async throws -> R {
        if backend.providedThreadLevel == .multiple { return try body() }
        while !takeTurn() { await Task.yield() }
        defer { giveTurn() }
        return try body()
    }

    static func complete(_ handle: RequestHandle, on backend: any Backend) async throws -> Status {
        var cancelIssued = false
        var idle = 0
        while true {
            if takeTurn() {
                defer { giveTurn() }
                if Task.isCancelled && !cancelIssued {
                    try? backend.cancel(handle)
                    cancelIssued = true
                }
                if let status = try backend.test(handle) {
                    if status.isCancelled { throw CancellationError() }
                    return status
                }
            }
            idle += 1
            if idle > 1000 {
                // A long wait: let the core go for a moment instead of spinning through yields.
                try? await Task.sleep(for: .microseconds(min(200, idle / 100)))
            } else {
                await Task.yield()
            }
        }
    }
}

/// Writes `message` to standard error, unbuffered.
func writeToStandardError(_ message: String) {
    var message = message
    message.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Whether a dropped pending request has been reported in this process.
let droppedReported = Atomic<Bool>(false)
/// Whether a matched `Message` dropped without being received has been reported.
let droppedMessageReported = Atomic<Bool>(false)
