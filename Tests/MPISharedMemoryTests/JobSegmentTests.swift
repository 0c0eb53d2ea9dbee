import Glibc
import MPICore
@testable import MPISharedMemory
import Testing

/// A rank pointed at a missing, stale or foreign segment fails with a clear error.
@Suite("Job segment checks", .serialized)
struct JobSegmentTests {
    @Test func aMissingSegmentIsAClearError() {
        #expect {
            _ = try JobSegment(attaching: "swiftmpi-1-doesnotexist", expectRanks: 2)
        } throws: { error in
            guard let error = error as? MPIError else { return false }
            return error.errorClass == .segment && error.message.contains("cannot open job segment")
        }
    }

    @Test func aForeignSegmentIsRejectedByItsMagic() throws {
        let name = "swiftmpi-\(getpid())-foreign-test"
        let fd = shm_open("/" + name, O_CREAT | O_RDWR, 0o600)
        try #require(fd >= 0)
        // Locked, like a live segment, so a launch running meanwhile does not sweep it.
        flock(fd, LOCK_EX)
        defer { shm_unlink("/" + name); close(fd) }
        ftruncate(fd, 1 << 16)
        let junk = [UInt8](repeating: 0x5A, count: 4096)
        _ = junk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #expect {
            _ = try JobSegment(attaching: name, expectRanks: 1)
        } throws: { error in
            (error as? MPIError)?.errorClass == .segment && "\(error)".contains("bad magic")
        }
    }

    @Test func aSegmentForAnotherJobSizeIsRejected() throws {
        let created = try JobSegment.create(ranks: 3, ringBytes: 1 << 12)
        defer { created.remove() }
        let name = created.name
        #expect {
            _ = try JobSegment(attaching: name, expectRanks: 4)
        } throws: { error in
            (error as? MPIError)?.errorClass == .segment && "\(error)".contains("3 ranks")
        }
        let segment = try JobSegment(attaching: name, expectRanks: 3)
        #expect(segment.ranks == 3 && segment.ringBytes == 1 << 12)
        segment.detach()
    }

    @Test func aSegmentWithAnotherLayoutVersionIsRejected() throws {
        let created = try JobSegment.create(ranks: 1, ringBytes: 1 << 12)
        defer { created.remove() }
        let name = created.name
        let segment = try JobSegment(attaching: name, expectRanks: 1)
        segment.base.storeBytes(of: JobSegment.version + 1, toByteOffset: 8, as: UInt64.self)
        segment.detach()
        #expect {
            _ = try JobSegment(attaching: name, expectRanks: 1)
        } throws: { error in
            (error as? MPIError)?.errorClass == .segment && "\(error)".contains("layout version")
        }
    }

    @Test func theSegmentIsPrivateToItsOwner() throws {
        let created = try JobSegment.create(ranks: 2, ringBytes: 1 << 12)
        defer { created.remove() }
        let name = created.name
        var info = stat()
        #expect(stat("/dev/shm/" + name, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(name.count > 40, "the name \(name) should carry 128 random bits")
    }
}
