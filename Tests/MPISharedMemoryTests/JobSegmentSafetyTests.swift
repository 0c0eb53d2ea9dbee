import Glibc
import MPICore
@testable import MPISharedMemory
import Testing

/// What a crafted, foreign or truncated segment, a process the launcher did not start, and a
/// sweep for stale segments must never do: trap, take a rank's slot, or delete a live job.
@Suite("Job segment safety", .serialized)
struct JobSegmentSafetyTests {
    /// A small deterministic generator (SplitMix64), so a failing case can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Values that break naive arithmetic on header fields.
    static let extremes: [UInt64] = [
        0, 1, 2, 127, 128, 4095, 4096, 1 << 18, 1 << 31, 1 << 32, 3_037_000_499, 3_037_000_500,
        1 << 62, 4_611_686_018_427_387_904 + 1, UInt64(Int.max) - 511, UInt64(Int.max), 1 << 63,
        UInt64.max - 127, UInt64.max,
    ]

    static func field(_ random: inout SplitMix) -> UInt64 {
        switch random.next() % 3 {
        case 0: extremes[Int(random.next() % UInt64(extremes.count))]
        case 1: random.next() >> (random.next() % 64)
        default: random.next()
        }
    }

    /// Random headers, valid magic and version or not, with extreme sizes, against mappings of
    /// random lengths: the parser throws or accepts a header that describes exactly the mapping;
    /// it never traps.
    @Test func theHeaderParserNeverTraps() throws {
        var random = SplitMix(state: 18)
        let capacity = 8192
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var accepted = 0
        for round in 0..<50_000 {
            for offset in stride(from: 0, to: JobSegment.headerBytes, by: 8) {
                buffer.storeBytes(of: random.next(), toByteOffset: offset, as: UInt64.self)
            }
            if round % 4 != 0 {
                buffer.storeBytes(of: JobSegment.magic, toByteOffset: JobSegment.magicOffset, as: UInt64.self)
                buffer.storeBytes(of: round % 8 == 1 ? random.next() : JobSegment.version,
                                  toByteOffset: JobSegment.versionOffset, as: UInt64.self)
                buffer.storeBytes(of: Self.field(&random), toByteOffset: JobSegment.ranksOffset, as: UInt64.self)
                buffer.storeBytes(of: Self.field(&random), toByteOffset: JobSegment.ringBytesOffset, as: UInt64.self)
                buffer.storeBytes(of: Self.field(&random), toByteOffset: JobSegment.totalBytesOffset, as: UInt64.self)
            }
            // The mapping's size is what fstat says: anything, including sizes the header claims.
            let claimed = buffer.load(fromByteOffset: JobSegment.totalBytesOffset, as: UInt64.self)
            let size = round % 5 == 0 ? Int(truncatingIfNeeded: claimed) : Int(random.next() % UInt64(capacity))
            guard size >= JobSegment.headerBytes, size <= capacity else {
                // Too small: refused before anything is read. Larger than the buffer: the header
                // alone is read, which is what the parser may touch.
                if size < JobSegment.headerBytes {
                    #expect(throws: JobSegment.HeaderError.self) { try JobSegment.Header(reading: buffer, size: size) }
                    continue
                }
                _ = try? JobSegment.Header(reading: buffer, size: size)
                continue
            }
            if let header = try? JobSegment.Header(reading: buffer, size: size) {
                accepted += 1
                #expect(header.totalBytes == size)
                #expect(JobSegment.byteCount(ranks: header.ranks, ringBytes: header.ringBytes) == size)
            }
        }
        // A consistent header for a small job, to show the parser accepts what it should.
        let total = JobSegment.totalBytes(ranks: 1, ringBytes: 4096)
        buffer.storeBytes(of: JobSegment.magic, toByteOffset: JobSegment.magicOffset, as: UInt64.self)
        buffer.storeBytes(of: JobSegment.version, toByteOffset: JobSegment.versionOffset, as: UInt64.self)
        buffer.storeBytes(of: 1, toByteOffset: JobSegment.ranksOffset, as: UInt64.self)
        buffer.storeBytes(of: 4096, toByteOffset: JobSegment.ringBytesOffset, as: UInt64.self)
        buffer.storeBytes(of: UInt64(total), toByteOffset: JobSegment.totalBytesOffset, as: UInt64.self)
        let header = try JobSegment.Header(reading: buffer, size: total)
        #expect(header.ranks == 1 && header.ringBytes == 4096 && header.totalBytes == total)
        #expect(accepted == 0, "random headers should not describe their mapping by chance")
    }

    /// Sizes no segment can have are argument errors, not overflow traps.
    @Test func impossibleSizesAreErrors() {
        #expect(JobSegment.byteCount(ranks: 5_000_000_000, ringBytes: 1 << 18) == nil)
        #expect(JobSegment.byteCount(ranks: 2, ringBytes: 1 << 62) == nil)
        #expect(JobSegment.byteCount(ranks: Int.max, ringBytes: 0) == nil)
        #expect(JobSegment.byteCount(ranks: 2, ringBytes: Int.max) == nil)
        #expect(JobSegment.byteCount(ranks: 0, ringBytes: 4096) == nil)
        #expect(JobSegment.byteCount(ranks: 2, ringBytes: 4096) == 512 + 2 * (128 + 64 * 4096) + 4 * (128 + 4096))
        #expect(JobSegment.byteCount(ranks: 2, ringBytes: 1 << 16) == 512 + 2 * 128 + 4 * (128 + (1 << 16)))
        #expect(JobSegment.defaultRingBytes(ranks: 8) == 1 << 18 && JobSegment.defaultRingBytes(ranks: 16) == 1 << 16)
        #expect(JobSegment.defaultRingBytes(ranks: 64) == 4096 && JobSegment.defaultRingBytes(ranks: 1000) == 4096)
        #expect(JobSegment.byteCount(ranks: 64, ringBytes: JobSegment.defaultRingBytes(ranks: 64))! < 40 << 20)
        for (ranks, ring) in [(5_000_000_000, 1 << 18), (2, 1 << 62), (0, 4096), (2, 1000)] {
            #expect {
                _ = try JobSegment.create(ranks: ranks, ringBytes: ring)
            } throws: { ($0 as? MPIError)?.errorClass == .argument }
        }
    }

    /// The abort word is arithmetic on a word anyone with the segment can write: extreme codes
    /// and words are codes, not overflow traps.
    @Test func extremeAbortWordsAreCodes() throws {
        let created = try JobSegment.create(ranks: 1, ringBytes: 1 << 12)
        defer { created.remove() }
        created.segment.markAborted(code: Int.max)
        #expect(created.segment.abortCode == Int.max)
        created.segment.abortWord.pointee.store(Int.min, ordering: .releasing)
        #expect(created.segment.abortCode == Int.max)
        #expect(JobSegment.abortCode(name: created.name) == Int.max)
    }

    /// A segment file cut short (by a foreign process, or a launcher that died while making it)
    /// is refused when a rank attaches.
    @Test func aTruncatedSegmentIsRefused() throws {
        let created = try JobSegment.create(ranks: 2, ringBytes: 1 << 12)
        defer { created.remove() }
        let total = created.segment.totalBytes
        for size in [total - 1, total / 2, JobSegment.headerBytes, JobSegment.headerBytes - 1, 8, 0] {
            let fd = shm_open("/" + created.name, O_RDWR, 0)
            try #require(fd >= 0)
            ftruncate(fd, off_t(size))
            close(fd)
            #expect {
                _ = try JobSegment(attaching: created.name, expectRanks: 2)
            } throws: { ($0 as? MPIError)?.errorClass == .segment }
        }
    }

    /// A rank's slot goes only to the process holding the secret the launcher gave that rank.
    @Test func aSlotIsClaimedOnlyWithItsSecret() throws {
        let created = try JobSegment.create(ranks: 2, ringBytes: 1 << 12)
        defer { created.remove() }
        let segment = try JobSegment(attaching: created.name, expectRanks: 2)
        defer { segment.detach() }
        #expect(created.secrets.count == 2 && created.secrets[0] != created.secrets[1])
        #expect(created.secrets.allSatisfy { $0.count == 32 })

        func refusal(rank: Int, secret: String?, _ text: String) {
            #expect {
                try segment.claim(rank: rank, secret: secret)
            } throws: { error in
                guard let error = error as? MPIError else { return false }
                return error.errorClass == .segment && error.message.contains(text)
            }
        }
        refusal(rank: 1, secret: nil, "SWIFTMPI_SECRET is not set")
        refusal(rank: 1, secret: String(repeating: "0", count: 32), "is not the secret swift-mpiexec gave that rank")
        refusal(rank: 1, secret: created.secrets[0], "is not the secret swift-mpiexec gave that rank")
        #expect(segment.state(of: 1) == .empty)

        try segment.claim(rank: 1, secret: created.secrets[1])
        #expect(segment.state(of: 1) == .claimed)
        refusal(rank: 1, secret: created.secrets[1], "already taken")
    }

    /// Staleness is the lock, never the pid: a locked segment whose name carries a dead pid (a
    /// launcher in another PID namespace) stays, an unlocked one whose pid is alive goes.
    @Test func theSweepGoesByTheLockNotThePid() throws {
        // Int32.max is above any pid_max: no process here has that pid, so a sweep by pid
        // (the old one) removes it.
        let live = "\(JobSegment.namePrefix)\(Int32.max)-0123456789abcdef0123456789abcdef"
        let stale = "\(JobSegment.namePrefix)\(getpid())-fedcba9876543210fedcba9876543210"
        let liveFD = shm_open("/" + live, O_CREAT | O_EXCL | O_RDWR, 0o600)
        try #require(liveFD >= 0)
        defer { shm_unlink("/" + live); close(liveFD) }
        #expect(flock(liveFD, LOCK_EX) == 0)
        let staleFD = shm_open("/" + stale, O_CREAT | O_EXCL | O_RDWR, 0o600)
        try #require(staleFD >= 0)
        close(staleFD)
        defer { shm_unlink("/" + stale) }
        let created = try JobSegment.create(ranks: 1, ringBytes: 1 << 12)
        defer { created.remove() }

        let removed = JobSegment.removeStale()
        #expect(removed.contains(stale))
        #expect(!removed.contains(live))
        #expect(!removed.contains(created.name))
        #expect(access("/dev/shm/" + live, F_OK) == 0)
        #expect(access("/dev/shm/" + created.name, F_OK) == 0)
        #expect(access("/dev/shm/" + stale, F_OK) != 0)
    }
}
