import Glibc
import MPICore
import Synchronization

/// How a rank waits for a peer: spin while a reply is likely within a cache-line transfer, then
/// yield the core, then sleep, so that more ranks than cores still progress. Every so often it
/// checks that the job is still alive, so a dead peer or launcher ends the wait with an error.
struct Backoff {
    private let spinLimit: Int
    private let yieldLimit: Int
    /// The job's abort word (a raw pointer, not the segment: a wait copies its backoff, and a
    /// copy that retained the segment's name cost an atomic retain and release per message).
    private let abortWord: UnsafeMutablePointer<Atomic<Int>>?
    private let launcherPid: pid_t
    private var idleRounds = 0

    init(oversubscribed: Bool, segment: JobSegment) {
        spinLimit = oversubscribed ? 16 : 4096
        yieldLimit = spinLimit + (oversubscribed ? 20_000 : 50_000)
        abortWord = segment.abortWord
        launcherPid = segment.name == nil ? 0 : segment.launcherPid
    }

    @inline(__always)
    mutating func reset() { idleRounds = 0 }

    /// Waits a little; returns `true` on the rounds (one in 1024) that also checked the job, when
    /// the caller should look for waits other ranks' state has made hopeless.
    @inline(__always)
    @discardableResult
    mutating func idle() throws(MPIError) -> Bool {
        idleRounds &+= 1
        let check = idleRounds & 1023 == 0
        if check { try checkJob() }
        if idleRounds < spinLimit { return check }
        if idleRounds < yieldLimit {
            sched_yield()
        } else {
            var pause = timespec(tv_sec: 0, tv_nsec: 50_000)
            nanosleep(&pause, nil)
        }
        return check
    }

    /// Throws when another rank aborted the job or the launcher is gone.
    func checkJob() throws(MPIError) {
        if let word = abortWord?.pointee.load(ordering: .acquiring), word != 0 {
            throw MPIError(.processFailed, "the job was aborted by another rank with code \(word &- 1)")
        }
        if launcherPid != 0 && getppid() != launcherPid {
            throw MPIError(.processFailed, "the launcher (pid \(launcherPid)) is gone; ending this rank")
        }
    }
}
