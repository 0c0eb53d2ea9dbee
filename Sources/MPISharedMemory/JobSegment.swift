import Glibc
import MPICore
import Synchronization

/// The named shared-memory segment through which the ranks of one `swift-mpiexec` job talk.
///
/// Layout (every offset a multiple of 128 bytes, so no two writers share a cache-line pair):
/// ```
/// header      magic, version, ranks, sizes, launcher pid, abort word, context-id counter
/// rank slots  one 128-byte slot per rank: pid, state, CMA probe word, the rank's secret
/// pools       one fragment pool per rank (its sends' payloads), when rings are small
/// rings       one ring per ordered (source, destination) pair, index destination * ranks + source
/// ```
/// The rings are the quadratic part, so their size shrinks as the rank count grows
/// (``defaultRingBytes(ranks:)``); a ring too small for an eager message's fragments comes with
/// a per-sender pool of 4 KiB chunks, which grows linearly.
/// The launcher creates the segment (mode 0600, an unguessable name that embeds its pid), holds
/// an exclusive `flock` on it for the job's life and unlinks it whatever happens. A segment
/// nobody holds locked is stale and the next launch removes it: a lock, unlike a pid, means the
/// same thing in every PID namespace that shares `/dev/shm`. A rank checks magic, version, rank
/// count and size before it trusts anything else, and claims its slot with the secret the
/// launcher gave it.
package struct JobSegment: @unchecked Sendable {
    package static let magic: UInt64 = 0x4D48_5349_504D_5753  // "SWMPISHM" little-endian
    /// Layout version 5: each slot's wake word (a futex a rank sleeps on and senders wake).
    /// Version 4: the launcher's request for reports of where ranks are stuck, and each
    /// slot's answer (version 3: per-rank fragment pools after the slots; version 2: slots carry
    /// the rank's secret and a `claimed` state).
    package static let version: UInt64 = 5
    package static let namePrefix = "swiftmpi-"
    /// Largest default of message data per ring (a power of two): jobs of up to 8 ranks get it.
    static let largestDefaultRingBytes = 1 << 18
    /// Smallest ring (a power of two): 64 cells.
    package static let minimumRingBytes = 1 << 12
    /// What the default rings of a job may occupy together at most, before they reach the
    /// minimum size: 16 MiB.
    static let ringBudget = 1 << 24

    /// The default ring size for a job of `ranks` ranks: the largest power of two from
    /// ``minimumRingBytes`` to ``largestDefaultRingBytes`` whose `ranks²` rings fit in 16 MiB (256 KiB
    /// up to 8 ranks, 64 KiB at 16, 16 KiB at 32, 4 KiB from 64 on).
    package static func defaultRingBytes(ranks: Int) -> Int {
        var ring = largestDefaultRingBytes
        while ring > minimumRingBytes && ranks > 0 && ranks > ringBudget / ranks / ring { ring >>= 1 }
        return ring
    }

    /// Bytes of one chunk of a fragment pool: a line holding the chunk's busy word, then the payload.
    package static let chunkBytes = 4096
    /// Bytes before a chunk's payload: the cache line of its busy word.
    package static let chunkHeaderBytes = 64
    /// Payload bytes one pool chunk carries.
    package static let chunkPayloadBytes = chunkBytes - chunkHeaderBytes
    /// Chunks in each rank's pool when its rings need one.
    static let poolChunkCount = 64

    /// Chunks in each rank's fragment pool for rings of `ringBytes`: none when a ring record
    /// already carries a chunk's worth of payload (a quarter of the ring, less the record
    /// header), else ``poolChunkCount``.
    package static func poolChunks(ringBytes: Int) -> Int {
        ringBytes / 4 - Record.headerBytes >= chunkPayloadBytes ? 0 : poolChunkCount
    }
    /// The environment variable through which the launcher hands each rank its secret.
    package static let secretVariable = "SWIFTMPI_SECRET"

    // Header field offsets.
    static let magicOffset = 0
    static let versionOffset = 8
    static let ranksOffset = 16
    static let totalBytesOffset = 24
    static let ringBytesOffset = 32
    static let launcherPidOffset = 40
    static let jobIDOffset = 48
    static let singleCopyThresholdOffset = 64  // Int: single copy above it (0: the library's default); set by the launcher before ranks start
    static let abortOffset = 128       // atomic: 0, or abort code + 1 (wrapping: any word a foreign writer leaves is a code)
    static let contextCounterOffset = 256  // atomic: next free communicator context id
    static let reportRequestOffset = 384   // atomic: nonzero once the launcher asks the ranks where they are stuck
    static let headerBytes = 512

    static let slotBytes = 128
    static let slotPidOffset = 0        // atomic: pid once attached
    static let slotStateOffset = 8      // atomic: RankState
    static let slotCMAOffset = 16       // atomic: CMA probe word and result
    static let slotSecretOffset = 32    // 16 bytes: the secret the rank must present, set by the launcher
    static let slotReportedOffset = 64  // atomic: 1 once the rank has said where it is stuck
    static let slotWakeOffset = 96      // atomic UInt32 futex word: 1 while the rank sleeps waiting

    /// A ring's control block: consumer position on its own 128 bytes.
    package static let ringControlBytes = 128

    package let base: UnsafeMutableRawPointer
    package let totalBytes: Int
    package let ranks: Int
    package let ringBytes: Int
    package let name: String?

    /// Where a rank is in its life, as its slot records it. The launcher reads it when a rank
    /// exits 0, to tell a rank that finalized from one that left the job in the middle.
    package enum RankState: Int {
        /// Nobody has claimed the slot: the rank has not initialized (or is not a swift-mpi program).
        case empty = 0
        /// A process presented the slot's secret and owns it; it is still starting up.
        case claimed = 1
        /// The rank has initialized: its pid and probe word are valid.
        case attached = 2
        /// The rank has finalized.
        case finalized = 3
    }

    /// Bytes a segment for `ranks` ranks with `ringBytes` per ring occupies, for sizes known to
    /// fit (see ``byteCount(ranks:ringBytes:)`` for sizes that may not).
    package static func totalBytes(ranks: Int, ringBytes: Int) -> Int {
        byteCount(ranks: ranks, ringBytes: ringBytes)!
    }

    /// Bytes a segment for `ranks` ranks with `ringBytes` per ring occupies, or `nil` when that is
    /// not a positive `Int` (a rank count or ring size no segment can have):
    /// `512 + 128·ranks + ranks·pool + ranks²·(ringBytes + 128)`, where `pool` is
    /// `64 × 4096` bytes for rings of 8 KiB or less and 0 for larger ones.
    package static func byteCount(ranks: Int, ringBytes: Int) -> Int? {
        guard ranks >= 1, ringBytes >= 0 else { return nil }
        let (pairs, pairsOverflow) = ranks.multipliedReportingOverflow(by: ranks)
        let (ring, ringOverflow) = ringBytes.addingReportingOverflow(ringControlBytes)
        let (rings, ringsOverflow) = pairs.multipliedReportingOverflow(by: ring)
        let (perRank, perRankOverflow) = ranks.multipliedReportingOverflow(by: slotBytes + poolBytes(ringBytes: ringBytes))
        let (fixed, fixedOverflow) = perRank.addingReportingOverflow(headerBytes)
        let (total, totalOverflow) = fixed.addingReportingOverflow(rings)
        guard !(pairsOverflow || ringOverflow || ringsOverflow || perRankOverflow || fixedOverflow || totalOverflow)
        else { return nil }
        return total
    }

    /// Bytes of one rank's fragment pool.
    package static func poolBytes(ringBytes: Int) -> Int { poolChunks(ringBytes: ringBytes) * chunkBytes }

    /// Checks that a job of `ranks` ranks with `ringBytes` per ring can have a segment, and
    /// returns its size; throws `MPIError(.argument)` saying what is wrong otherwise.
    package static func checkedByteCount(ranks: Int, ringBytes: Int) throws(MPIError) -> Int {
        guard ranks >= 1 else { throw MPIError(.argument, "a job needs at least one rank, got \(ranks)") }
        guard ringBytes >= minimumRingBytes, ringBytes & (ringBytes - 1) == 0 else {
            throw MPIError(.argument, "ring size \(ringBytes) must be a power of two of at least \(minimumRingBytes) bytes")
        }
        guard let total = byteCount(ranks: ranks, ringBytes: ringBytes) else {
            throw MPIError(.argument, "a job of \(ranks) ranks with \(ringBytes)-byte rings would need a segment of more than \(Int.max) bytes")
        }
        return total
    }

    static func path(_ name: String) -> String { name.hasPrefix("/") ? name : "/" + name }

    // MARK: Launcher side

    /// A segment this process created: mapped, locked for as long as it lives (which is what
    /// keeps other launchers' sweeps away from it), with the secret each rank must present.
    package final class Created {
        /// The segment's name, without the leading `/`, as ranks get it in `SWIFTMPI_SEGMENT`.
        package let name: String
        /// The creator's mapping of the segment.
        package let segment: JobSegment
        /// For each rank, the secret (32 hex digits) it must present to claim its slot.
        package let secrets: [String]
        private var lockDescriptor: Int32

        fileprivate init(name: String, segment: JobSegment, secrets: [String], lockDescriptor: Int32) {
            self.name = name
            self.segment = segment
            self.secrets = secrets
            self.lockDescriptor = lockDescriptor
        }

        /// Unlinks the segment, unmaps it and releases its lock; idempotent.
        package func remove() {
            guard lockDescriptor >= 0 else { return }
            JobSegment.unlink(name: name)
            JobSegment.removeWindows(of: name)
            segment.detach()
            close(lockDescriptor)
            lockDescriptor = -1
        }

        deinit { remove() }
    }

    /// Creates and initializes a new segment for `ranks` ranks, locked by the returned value for
    /// as long as it lives.
    ///
    /// The segment's memory is reserved here (`posix_fallocate`), so a `/dev/shm` too small for
    /// it is an error now, naming the size needed, never a SIGBUS in a rank later.
    package static func create(ranks: Int, ringBytes: Int? = nil) throws(MPIError) -> Created {
        let ringBytes = ringBytes ?? defaultRingBytes(ranks: ranks)
        let total = try checkedByteCount(ranks: ranks, ringBytes: ringBytes)
        var random = SystemRandomNumberGenerator()
        let (name, fd) = try createLocked(random: &random)
        guard ftruncate(fd, off_t(total)) == 0 else {
            let error = systemError("ftruncate(\(name), \(total))")
            shm_unlink(path(name))
            close(fd)
            throw error
        }
        let reserved = posix_fallocate(fd, 0, off_t(total))
        guard reserved == 0 else {
            shm_unlink(path(name))
            close(fd)
            throw reservationError(reserved, total: total, ranks: ranks, ringBytes: ringBytes)
        }
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let error = systemError("mmap(\(name))")
            shm_unlink(path(name))
            close(fd)
            throw error
        }
        base.storeBytes(of: version, toByteOffset: versionOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(ranks), toByteOffset: ranksOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(total), toByteOffset: totalBytesOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(ringBytes), toByteOffset: ringBytesOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(getpid()), toByteOffset: launcherPidOffset, as: UInt64.self)
        base.storeBytes(of: random.next() as UInt64, toByteOffset: jobIDOffset, as: UInt64.self)
        // Context ids 0 and 1 belong to the world and the self communicator.
        base.storeBytes(of: 2, toByteOffset: contextCounterOffset, as: Int.self)
        var secrets: [String] = []
        secrets.reserveCapacity(ranks)
        for rank in 0..<ranks {
            let secret = (random.next() as UInt64, random.next() as UInt64)
            let slot = base + headerBytes + rank * slotBytes + slotSecretOffset
            slot.storeBytes(of: secret.0, as: UInt64.self)
            slot.storeBytes(of: secret.1, toByteOffset: 8, as: UInt64.self)
            secrets.append(hex(secret.0) + hex(secret.1))
        }
        // The magic goes last: a rank that sees it sees a complete header.
        atomic(base + magicOffset).pointee.store(Int(bitPattern: UInt(magic)), ordering: .releasing)
        let segment = JobSegment(base: base, totalBytes: total, ranks: ranks, ringBytes: ringBytes, name: name)
        return Created(name: name, segment: segment, secrets: secrets, lockDescriptor: fd)
    }

    /// The error for a segment whose memory `posix_fallocate` could not reserve (`code`).
    static func reservationError(_ code: Int32, total: Int, ranks: Int, ringBytes: Int) -> MPIError {
        var free = statvfs()
        let available = statvfs("/dev/shm", &free) == 0 ? Int(free.f_bavail) &* Int(free.f_frsize) : -1
        let mib = { (bytes: Int) in "\(bytes >> 20).\((bytes & 0xFFFFF) * 10 >> 20) MiB" }
        let have = available >= 0 ? "; /dev/shm has \(mib(available)) free" : ""
        guard code == ENOSPC else {
            return MPIError(.segment, "cannot reserve the \(mib(total)) job segment in /dev/shm: \(String(cString: strerror(code)))\(have)")
        }
        let smaller = ringBytes > minimumRingBytes ? ", or pass a smaller --ring-bytes" : ""
        return MPIError(.segment, "a job of \(ranks) ranks with \(ringBytes)-byte rings needs a \(mib(total)) segment in /dev/shm\(have): enlarge /dev/shm (for Docker: --shm-size)\(smaller); docs/launcher.md gives the formula")
    }

    /// Creates an empty segment file under a fresh name and locks it. A sweep by another
    /// launcher can take the lock in the instant between creation and locking and unlink the
    /// name; the lock is then on a file nobody can open, so this checks that the name still
    /// leads to the locked file, and starts again under a new name if not.
    private static func createLocked(random: inout SystemRandomNumberGenerator) throws(MPIError) -> (String, Int32) {
        while true {
            let name = "\(namePrefix)\(getpid())-\(hex(random.next()))\(hex(random.next()))"
            let fd = shm_open(path(name), O_CREAT | O_EXCL | O_RDWR, 0o600)
            guard fd >= 0 else { throw systemError("shm_open(\(name))") }
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let error = systemError("flock(\(name))")
                    shm_unlink(path(name))
                    close(fd)
                    throw error
                }
            }
            if isStillNamed(name, fd) { return (name, fd) }
            close(fd)
        }
    }

    /// Whether `/dev/shm/<name>` is the regular file open as `fd`.
    private static func isStillNamed(_ name: String, _ fd: Int32) -> Bool {
        var opened = stat()
        var named = stat()
        return fstat(fd, &opened) == 0 && stat("/dev/shm" + path(name), &named) == 0
            && opened.st_mode & S_IFMT == S_IFREG
            && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    /// What joins a job segment's name and a window's number in the name of the file a window
    /// of that job is created through (`swiftmpi-…-w7`).
    static let windowInfix = "-w"

    /// The name of the file through which window `id` of the job in segment `name` is created.
    static func windowName(job name: String, id: Int) -> String { "\(name)\(windowInfix)\(id)" }

    /// Removes the window files of the job in segment `name` that ranks left behind (one that
    /// died while its window was being created); the launcher calls it when the job ends.
    package static func removeWindows(of name: String) {
        guard let dir = opendir("/dev/shm") else { return }
        defer { closedir(dir) }
        let prefix = name + windowInfix
        var found: [String] = []
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if entryName.hasPrefix(prefix) { found.append(entryName) }
        }
        for entryName in found { shm_unlink(path(entryName)) }
    }

    /// Removes the segment `name`; missing segments are not an error.
    package static func unlink(name: String) {
        shm_unlink(path(name))
    }

    /// Whether the job in segment `name` was aborted, and with which code.
    package static func abortCode(name: String) -> Int? {
        guard let segment = try? JobSegment(attaching: name, expectRanks: nil) else { return nil }
        defer { segment.detach() }
        return segment.abortCode
    }

    /// Removes segments in /dev/shm that no launcher holds locked (their launcher died before
    /// cleaning up); returns their names. Whether a segment's launcher is alive is decided by its
    /// lock alone, never by the pid in its name: a launcher in another PID namespace that shares
    /// `/dev/shm` has a pid that means nothing here, but its lock is the same lock.
    @discardableResult
    package static func removeStale() -> [String] {
        guard let dir = opendir("/dev/shm") else { return [] }
        defer { closedir(dir) }
        var removed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard name.hasPrefix(namePrefix) else { continue }
            let parts = name.split(separator: "-", omittingEmptySubsequences: false)
            if let last = parts.last, last.hasPrefix("w") {
                // A window's file exists only while its job creates the window; it is stale
                // when its job's segment is gone or no launcher holds that segment locked.
                let job = parts.dropLast().joined(separator: "-")
                let fd = shm_open(path(job), O_RDONLY, 0)
                if fd >= 0 {
                    defer { close(fd) }
                    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
                    flock(fd, LOCK_UN)
                }
                shm_unlink(path(name))
                removed.append(name)
                continue
            }
            // Another user's segment cannot be opened: it is not ours to judge.
            let fd = shm_open(path(name), O_RDONLY, 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if isStillNamed(name, fd) {
                shm_unlink(path(name))
                removed.append(name)
            }
        }
        return removed
    }

    // MARK: Rank side

    /// The fields of a segment's header a rank relies on, checked against each other and against
    /// the size of the mapping. Every check is done without trapping arithmetic, so a crafted or
    /// foreign header is an error, never a crash.
    struct Header: Equatable {
        var ranks: Int
        var ringBytes: Int
        var totalBytes: Int

        /// Reads the header at `base`, a mapping of `size` bytes (at least ``headerBytes``,
        /// 8-byte aligned); the error message says what is wrong, without the segment's name.
        init(reading base: UnsafeRawPointer, size: Int) throws(HeaderError) {
            guard size >= JobSegment.headerBytes else {
                throw HeaderError("is \(size) bytes, too small to be a swift-mpi segment")
            }
            let magic = UInt64(UInt(bitPattern: JobSegment.atomic(UnsafeMutableRawPointer(mutating: base) + JobSegment.magicOffset)
                .pointee.load(ordering: .acquiring)))
            let version = base.load(fromByteOffset: JobSegment.versionOffset, as: UInt64.self)
            let rawRanks = base.load(fromByteOffset: JobSegment.ranksOffset, as: UInt64.self)
            let rawTotal = base.load(fromByteOffset: JobSegment.totalBytesOffset, as: UInt64.self)
            let rawRing = base.load(fromByteOffset: JobSegment.ringBytesOffset, as: UInt64.self)
            guard magic == JobSegment.magic else { throw HeaderError("is not a swift-mpi segment (bad magic)") }
            guard version == JobSegment.version else {
                throw HeaderError("has layout version \(version); this library speaks version \(JobSegment.version)")
            }
            let inconsistent = HeaderError("has an inconsistent header (size \(size), ranks \(rawRanks), ring \(rawRing), total \(rawTotal))")
            guard let ranks = Int(exactly: rawRanks), let ringBytes = Int(exactly: rawRing),
                let total = Int(exactly: rawTotal), ringBytes >= JobSegment.minimumRingBytes, ringBytes & (ringBytes - 1) == 0,
                let expected = JobSegment.byteCount(ranks: ranks, ringBytes: ringBytes),
                total == expected, total == size
            else { throw inconsistent }
            self.ranks = ranks
            self.ringBytes = ringBytes
            self.totalBytes = total
        }
    }

    /// Why a header was refused.
    struct HeaderError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// Maps an existing segment and checks that it is a swift-mpi job segment of this version
    /// (and for `expectRanks` ranks, when given).
    package init(attaching name: String, expectRanks: Int?) throws(MPIError) {
        let fd = shm_open(JobSegment.path(name), O_RDWR, 0)
        guard fd >= 0 else {
            throw MPIError(.segment, "cannot open job segment \(name): \(String(cString: strerror(errno))) (was the launcher killed, or is SWIFTMPI_SEGMENT stale?)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw JobSegment.systemError("fstat(\(name))") }
        let size = Int(info.st_size)
        guard size >= JobSegment.headerBytes else {
            throw MPIError(.segment, "job segment \(name) is \(size) bytes, too small to be a swift-mpi segment")
        }
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw JobSegment.systemError("mmap(\(name))")
        }
        let header: Header
        do {
            header = try Header(reading: base, size: size)
        } catch {
            munmap(base, size)
            throw MPIError(.segment, "job segment \(name) \(error.message)")
        }
        if let expectRanks, expectRanks != header.ranks {
            munmap(base, size)
            throw MPIError(.segment, "job segment \(name) was made for \(header.ranks) ranks, but this process was told the job has \(expectRanks)")
        }
        self.init(base: base, totalBytes: size, ranks: header.ranks, ringBytes: header.ringBytes, name: name)
    }

    private init(base: UnsafeMutableRawPointer, totalBytes: Int, ranks: Int, ringBytes: Int, name: String?) {
        self.base = base
        self.totalBytes = totalBytes
        self.ranks = ranks
        self.ringBytes = ringBytes
        self.name = name
    }

    /// A private segment for a world of one process (no launcher, no name).
    package init(privateRingBytes ringBytes: Int = 1 << 16) throws(MPIError) {
        let total = JobSegment.totalBytes(ranks: 1, ringBytes: ringBytes)
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
            base != MAP_FAILED
        else { throw JobSegment.systemError("mmap(private segment)") }
        base.storeBytes(of: 2, toByteOffset: JobSegment.contextCounterOffset, as: Int.self)
        self.init(base: base, totalBytes: total, ranks: 1, ringBytes: ringBytes, name: nil)
    }

    package func detach() {
        munmap(base, totalBytes)
    }

    /// Makes rank `rank`'s slot this process's, if `secret` (the value of `SWIFTMPI_SECRET`) is
    /// the one the launcher gave that rank and no process has claimed the slot yet. Refuses a
    /// process the launcher did not start for this rank (started by hand with a copy of a rank's
    /// environment, say), so it cannot take the place of a rank that is late to start.
    package func claim(rank: Int, secret: String?) throws(MPIError) {
        let jobName = name ?? "(private)"
        guard rank >= 0, rank < ranks else {
            throw MPIError(.rank, "rank \(rank) is not in job segment \(jobName) of \(ranks) ranks")
        }
        guard let secret else {
            throw MPIError(.segment, "\(JobSegment.secretVariable) is not set, so this process cannot claim rank \(rank) of job segment \(jobName): only the ranks swift-mpiexec starts can join its job")
        }
        let slot = base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotSecretOffset
        let expected = JobSegment.hex(slot.load(as: UInt64.self)) + JobSegment.hex(slot.load(fromByteOffset: 8, as: UInt64.self))
        guard secret == expected else {
            throw MPIError(.segment, "rank \(rank) of job segment \(jobName) refused this process: its \(JobSegment.secretVariable) is not the secret swift-mpiexec gave that rank (was the process started by hand, or with another rank's environment?)")
        }
        guard slotState(rank).pointee.compareExchange(
            expected: RankState.empty.rawValue, desired: RankState.claimed.rawValue, ordering: .acquiringAndReleasing
        ).exchanged else {
            throw MPIError(.segment, "rank \(rank) of job segment \(jobName) is already taken: is SWIFTMPI_SEGMENT stale?")
        }
    }

    /// The state rank `rank`'s slot records.
    package func state(of rank: Int) -> RankState {
        RankState(rawValue: slotState(rank).pointee.load(ordering: .acquiring)) ?? .empty
    }

    // MARK: Fields

    package var launcherPid: pid_t {
        pid_t(truncatingIfNeeded: base.load(fromByteOffset: JobSegment.launcherPidOffset, as: UInt64.self))
    }

    package var abortWord: UnsafeMutablePointer<Atomic<Int>> { JobSegment.atomic(base + JobSegment.abortOffset) }

    /// The code the job was aborted with, if a rank aborted it.
    package var abortCode: Int? {
        let word = abortWord.pointee.load(ordering: .acquiring)
        return word == 0 ? nil : word &- 1
    }

    /// Records that the job is aborted with `code`; the first abort wins.
    package func markAborted(code: Int) {
        _ = abortWord.pointee.compareExchange(expected: 0, desired: code &+ 1, ordering: .acquiringAndReleasing)
    }

    /// Asks every rank to say on its standard error where it is stuck (the launcher, at a timeout).
    package func requestReports() {
        JobSegment.atomic(base + JobSegment.reportRequestOffset).pointee.store(1, ordering: .releasing)
    }

    /// Whether the launcher has asked the ranks where they are stuck.
    package var reportsRequested: Bool {
        JobSegment.atomic(base + JobSegment.reportRequestOffset).pointee.load(ordering: .acquiring) != 0
    }

    /// Set by rank `rank` once it has said where it is stuck.
    package func slotReported(_ rank: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotReportedOffset)
    }

    /// Whether rank `rank` has said where it is stuck.
    package func hasReported(_ rank: Int) -> Bool { slotReported(rank).pointee.load(ordering: .acquiring) != 0 }

    package var contextCounter: UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.contextCounterOffset)
    }

    /// Messages larger than this go by single copy (cross-memory attach) when ranks may use it;
    /// `nil` when the launcher did not choose (the engine's default then applies). The launcher
    /// chooses by measuring the machine (`CrossMemory.calibrate()`).
    package var singleCopyThreshold: Int? {
        let value = base.load(fromByteOffset: JobSegment.singleCopyThresholdOffset, as: Int.self)
        return value > 0 ? value : nil
    }

    /// Records the launcher's choice of `singleCopyThreshold`, before any rank starts.
    package func setSingleCopyThreshold(_ bytes: Int) {
        base.storeBytes(of: bytes, toByteOffset: JobSegment.singleCopyThresholdOffset, as: Int.self)
    }

    /// Rank `rank`'s wake word: 1 while the rank sleeps in a wait (a futex), set back to 0 by
    /// whoever wakes it (`Engine.wake(_:)`, after publishing a record for it).
    package func slotWake(_ rank: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotWakeOffset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    package func slotPid(_ rank: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotPidOffset)
    }

    package func slotState(_ rank: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotStateOffset)
    }

    package func slotCMA(_ rank: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotCMAOffset)
    }

    /// Chunks in each rank's fragment pool (0: the rings carry every fragment themselves).
    package var poolChunks: Int { JobSegment.poolChunks(ringBytes: ringBytes) }

    /// Start of rank `rank`'s fragment pool: ``poolChunks`` chunks of ``chunkBytes``.
    package func pool(of rank: Int) -> UnsafeMutableRawPointer {
        base + JobSegment.headerBytes + JobSegment.slotBytes * ranks + rank * JobSegment.poolBytes(ringBytes: ringBytes)
    }

    /// Start of the ring carrying messages from `source` to `destination` (its control block).
    package func ring(from source: Int, to destination: Int) -> UnsafeMutableRawPointer {
        let index = destination * ranks + source
        return base + JobSegment.headerBytes + (JobSegment.slotBytes + JobSegment.poolBytes(ringBytes: ringBytes)) * ranks
            + index * (JobSegment.ringControlBytes + ringBytes)
    }

    // MARK: Helpers

    @inline(__always)
    package static func atomic(_ pointer: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Atomic<Int>> {
        pointer.assumingMemoryBound(to: Atomic<Int>.self)
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func systemError(_ what: String) -> MPIError {
        MPIError(.other, "\(what) failed: \(String(cString: strerror(errno)))")
    }
}

extension JobSegment {
    static let slotCrossMemoryResultOffset = 24  // atomic: 0 unknown, 1 can read its peer, 2 cannot

    package func slotCrossMemoryResult(_ rank: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.headerBytes + rank * JobSegment.slotBytes + JobSegment.slotCrossMemoryResultOffset)
    }
}
