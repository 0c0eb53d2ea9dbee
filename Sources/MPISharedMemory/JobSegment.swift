import Glibc
import MPICore
import Synchronization

/// The named shared-memory segment through which the ranks of one `swift-mpiexec` job talk.
///
/// Layout (every offset a multiple of 128 bytes, so no two writers share a cache-line pair):
/// ```
/// header      magic, version, ranks, sizes, launcher pid, abort word, context-id counter
/// rank slots  one 128-byte slot per rank: pid, state, CMA probe word
/// rings       one ring per ordered (source, destination) pair, index destination * ranks + source
/// ```
/// The launcher creates the segment (mode 0600, an unguessable name that embeds its pid) and
/// unlinks it whatever happens; a segment whose launcher pid is dead is stale and the next launch
/// removes it. A rank checks magic, version, rank count and size before it trusts anything else.
package struct JobSegment: @unchecked Sendable {
    package static let magic: UInt64 = 0x4D48_5349_504D_5753  // "SWMPISHM" little-endian
    package static let version: UInt64 = 1
    package static let namePrefix = "swiftmpi-"
    /// Default bytes of message data per ring (a power of two).
    package static let defaultRingBytes = 1 << 18

    // Header field offsets.
    static let magicOffset = 0
    static let versionOffset = 8
    static let ranksOffset = 16
    static let totalBytesOffset = 24
    static let ringBytesOffset = 32
    static let launcherPidOffset = 40
    static let jobIDOffset = 48
    static let abortOffset = 128       // atomic: 0, or abort code + 1
    static let contextCounterOffset = 256  // atomic: next free communicator context id
    static let headerBytes = 512

    static let slotBytes = 128
    static let slotPidOffset = 0        // atomic: pid once attached
    static let slotStateOffset = 8      // atomic: RankState
    static let slotCMAOffset = 16       // atomic: CMA probe word and result

    /// A ring's control block: consumer position on its own 128 bytes.
    package static let ringControlBytes = 128

    package let base: UnsafeMutableRawPointer
    package let totalBytes: Int
    package let ranks: Int
    package let ringBytes: Int
    package let name: String?

    package enum RankState: Int {
        case empty = 0, attached = 1, finalized = 2
    }

    /// Bytes a segment for `ranks` ranks with `ringBytes` per ring occupies.
    package static func totalBytes(ranks: Int, ringBytes: Int) -> Int {
        headerBytes + slotBytes * ranks + ranks * ranks * (ringControlBytes + ringBytes)
    }

    static func path(_ name: String) -> String { name.hasPrefix("/") ? name : "/" + name }

    // MARK: Launcher side

    /// Creates and initializes a new segment for `ranks` ranks; returns its name.
    package static func create(ranks: Int, ringBytes: Int = defaultRingBytes) throws(MPIError) -> String {
        guard ranks >= 1 else { throw MPIError(.argument, "a job needs at least one rank, got \(ranks)") }
        guard ringBytes >= 4096, ringBytes & (ringBytes - 1) == 0 else {
            throw MPIError(.argument, "ring size \(ringBytes) must be a power of two of at least 4096 bytes")
        }
        let random = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
        let name = "\(namePrefix)\(getpid())-\(hex(random.0))\(hex(random.1))"
        let total = totalBytes(ranks: ranks, ringBytes: ringBytes)
        let fd = shm_open(path(name), O_CREAT | O_EXCL | O_RDWR, 0o600)
        guard fd >= 0 else { throw systemError("shm_open(\(name))") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(total)) == 0 else {
            let error = systemError("ftruncate(\(name), \(total))")
            shm_unlink(path(name))
            throw error
        }
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let error = systemError("mmap(\(name))")
            shm_unlink(path(name))
            throw error
        }
        defer { munmap(base, total) }
        base.storeBytes(of: version, toByteOffset: versionOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(ranks), toByteOffset: ranksOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(total), toByteOffset: totalBytesOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(ringBytes), toByteOffset: ringBytesOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(getpid()), toByteOffset: launcherPidOffset, as: UInt64.self)
        base.storeBytes(of: random.0 ^ random.1, toByteOffset: jobIDOffset, as: UInt64.self)
        // Context ids 0 and 1 belong to the world and the self communicator.
        base.storeBytes(of: 2, toByteOffset: contextCounterOffset, as: Int.self)
        // The magic goes last: a rank that sees it sees a complete header.
        atomic(base + magicOffset).pointee.store(Int(bitPattern: UInt(magic)), ordering: .releasing)
        return name
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

    /// Removes segments in /dev/shm left by launchers that died before cleaning up; returns their
    /// names.
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
            let rest = name.dropFirst(namePrefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                shm_unlink(path(name))
                removed.append(name)
            }
        }
        return removed
    }

    // MARK: Rank side

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
        let magic = UInt64(UInt(bitPattern: JobSegment.atomic(base + JobSegment.magicOffset).pointee.load(ordering: .acquiring)))
        let version = base.load(fromByteOffset: JobSegment.versionOffset, as: UInt64.self)
        let ranks = Int(base.load(fromByteOffset: JobSegment.ranksOffset, as: UInt64.self))
        let total = Int(base.load(fromByteOffset: JobSegment.totalBytesOffset, as: UInt64.self))
        let ringBytes = Int(base.load(fromByteOffset: JobSegment.ringBytesOffset, as: UInt64.self))
        func fail(_ message: String) -> MPIError {
            munmap(base, size)
            return MPIError(.segment, "job segment \(name) \(message)")
        }
        guard magic == JobSegment.magic else { throw fail("is not a swift-mpi segment (bad magic)") }
        guard version == JobSegment.version else {
            throw fail("has layout version \(version); this library speaks version \(JobSegment.version)")
        }
        guard ranks >= 1, ringBytes > 0, total == JobSegment.totalBytes(ranks: ranks, ringBytes: ringBytes),
            total == size
        else { throw fail("has an inconsistent header (size \(size), ranks \(ranks), ring \(ringBytes))") }
        if let expectRanks, expectRanks != ranks {
            throw fail("was made for \(ranks) ranks, but this process was told the job has \(expectRanks)")
        }
        self.base = base
        self.totalBytes = size
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
        self.base = base
        self.totalBytes = total
        self.ranks = 1
        self.ringBytes = ringBytes
        self.name = nil
    }

    package func detach() {
        munmap(base, totalBytes)
    }

    // MARK: Fields

    package var launcherPid: pid_t {
        pid_t(truncatingIfNeeded: base.load(fromByteOffset: JobSegment.launcherPidOffset, as: UInt64.self))
    }

    package var abortWord: UnsafeMutablePointer<Atomic<Int>> { JobSegment.atomic(base + JobSegment.abortOffset) }

    /// The code the job was aborted with, if a rank aborted it.
    package var abortCode: Int? {
        let word = abortWord.pointee.load(ordering: .acquiring)
        return word == 0 ? nil : word - 1
    }

    /// Records that the job is aborted with `code`; the first abort wins.
    package func markAborted(code: Int) {
        _ = abortWord.pointee.compareExchange(expected: 0, desired: code + 1, ordering: .acquiringAndReleasing)
    }

    package var contextCounter: UnsafeMutablePointer<Atomic<Int>> {
        JobSegment.atomic(base + JobSegment.contextCounterOffset)
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

    /// Start of the ring carrying messages from `source` to `destination` (its control block).
    package func ring(from source: Int, to destination: Int) -> UnsafeMutableRawPointer {
        let index = destination * ranks + source
        return base + JobSegment.headerBytes + JobSegment.slotBytes * ranks
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
