import CLinuxSystem
import Glibc
import MPICore
import Synchronization

/// How a rank waits for a peer: spin while a reply is likely within a cache-line transfer, then
/// yield the core, then sleep, so that more ranks than cores still progress. Every so often it
/// checks that the job is still alive, so a dead peer or launcher ends the wait with an error.
///
/// The sleep is on the rank's wake word (a futex in its slot of the job segment): the rank sets
/// the word, looks once more for a record in its incoming rings, and sleeps at most `sleepNanoseconds`;
/// a peer that publishes a record for it and finds the word set clears it and wakes it
/// (`Engine.wake(_:)`), so a message that arrives during the sleep ends it at once. Waits for
/// anything that is not a record (ring space, window locks) end at the timeout, as before.
struct Backoff {
    /// The longest sleep of one idle round.
    static let sleepNanoseconds = 50_000
    private let spinLimit: Int
    private let yieldLimit: Int
    /// This rank's wake word and its incoming rings, or `nil` before the engine exists.
    private let wakeWord: UnsafeMutablePointer<Atomic<UInt32>>?
    private let incoming: UnsafeMutablePointer<RingConsumer>?
    private let incomingCount: Int
    /// The job's abort word (a raw pointer, not the segment: a wait copies its backoff, and a
    /// copy that retained the segment's name cost an atomic retain and release per message).
    private let abortWord: UnsafeMutablePointer<Atomic<Int>>?
    private let launcherPid: pid_t
    private var idleRounds = 0

    init(
        oversubscribed: Bool, segment: JobSegment, wakeWord: UnsafeMutablePointer<Atomic<UInt32>>? = nil,
        incoming: UnsafeMutablePointer<RingConsumer>? = nil, incomingCount: Int = 0
    ) {
        spinLimit = oversubscribed ? 16 : 4096
        // How long to yield before sleeping was measured again once sleeps woke on arrival
        // (docs/DESIGN.md, "Waiting"): with 4 ranks on 2 cores, 200 yields halve an 8-byte
        // ping-pong's latency (the ranks waiting in a barrier give their cores away sooner) but
        // cost 25-37 % at 64 KiB-1 MiB; 0 yields cost a futex round trip per message (23 µs). So
        // the counts stay what they were.
        yieldLimit = spinLimit + (oversubscribed ? 20_000 : 50_000)
        abortWord = segment.abortWord
        launcherPid = segment.name == nil ? 0 : segment.launcherPid
        self.wakeWord = wakeWord
        self.incoming = incoming
        self.incomingCount = incomingCount
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
        } else if let wakeWord {
            sleep(on: wakeWord)
        } else {
            var pause = timespec(tv_sec: 0, tv_nsec: Backoff.sleepNanoseconds)
            nanosleep(&pause, nil)
        }
        return check
    }

    /// One sleep on the wake word, unless a record is already waiting.
    @inline(never)
    private func sleep(on word: UnsafeMutablePointer<Atomic<UInt32>>) {
        word.pointee.store(1, ordering: .sequentiallyConsistent)
        if let incoming {
            for source in 0..<incomingCount where incoming[source].hasWaitingRecord() {
                word.pointee.store(0, ordering: .relaxed)
                return
            }
        }
        _ = swiftmpi_futex_wait(UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self), 1, Backoff.sleepNanoseconds)
        word.pointee.store(0, ordering: .relaxed)
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
