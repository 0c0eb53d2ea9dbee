import Glibc

/// Single-copy transfers between processes with `process_vm_readv`/`process_vm_writev` (Linux
/// cross-memory attach, as Open MPI's vader uses). Swift's Glibc module does not export the calls,
/// so they are found with `dlsym`.
package enum CrossMemory {
    private typealias VectorCopy = @convention(c) (
        pid_t, UnsafePointer<iovec>?, UInt, UnsafePointer<iovec>?, UInt, UInt
    ) -> Int
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    private static let readv: VectorCopy? = {
        // A nil handle is RTLD_DEFAULT: search every loaded object.
        guard let symbol = dlsym(nil, "process_vm_readv") else { return nil }
        return unsafeBitCast(symbol, to: VectorCopy.self)
    }()

    private static let writev: VectorCopy? = {
        guard let symbol = dlsym(nil, "process_vm_writev") else { return nil }
        return unsafeBitCast(symbol, to: VectorCopy.self)
    }()

    /// The default threshold: above 16 KiB a message goes by single copy.
    package static let defaultSingleCopyThreshold = 16 << 10
    /// Where the pipeline is faster, single copy still takes messages above 64 MiB.
    package static let pipelinedLimit = 64 << 20

    /// Chooses the large-message protocol for this machine by measuring, in this process, one
    /// core's `memcpy` and one `process_vm_readv` of 1 MiB (best of a few, about a millisecond
    /// in all). A single copy is one core at the second rate; the two-copy pipeline through the
    /// rings has both cores copying and reached 0.44 × the first rate on the AMD EPYC guest (27.7
    /// against 63 GB/s; single copy 15.5 GB/s: the pipeline was 1.7-2.7× faster from 32 KiB to
    /// 4 MiB). So single copy is kept unless the pipeline's estimate beats it by 25 %; and even
    /// then messages above `pipelinedLimit` still go by single copy, because an eager message
    /// that arrives before its receive is posted is held in a heap copy of its full size (a
    /// single-copy send waits for the receive instead), so the pipeline's memory cost per
    /// unexpected message stays bounded.
    /// Returns the single-copy threshold to use.
    package static func calibrate() -> Int {
        let bytes = 1 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer {
            source.deallocate()
            target.deallocate()
        }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        target.initializeMemory(as: UInt8.self, repeating: 2, count: bytes)
        func best(_ body: () -> Bool) -> Double {
            var fastest = Double.infinity
            for _ in 0..<6 {
                var start = timespec(), end = timespec()
                clock_gettime(CLOCK_MONOTONIC, &start)
                guard body() else { return 0 }
                clock_gettime(CLOCK_MONOTONIC, &end)
                fastest = min(fastest, Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9)
            }
            return fastest > 0 ? Double(bytes) / fastest : 0
        }
        let copy = best {
            target.copyMemory(from: source, byteCount: bytes)
            return true
        }
        let single = best { read(from: getpid(), remote: UInt(bitPattern: source), into: target, count: bytes) == 0 }
        let pipelined = 0.44 * copy
        return single > 0 && pipelined < 1.25 * single ? defaultSingleCopyThreshold : pipelinedLimit
    }

    /// Lets sibling ranks read this process's memory where Yama restricts ptrace to ancestors.
    static func allowPeersToRead() {
        guard let symbol = dlsym(nil, "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        let setPtracer: Int32 = 0x5961_6d61  // PR_SET_PTRACER
        _ = prctl(setPtracer, UInt.max /* PR_SET_PTRACER_ANY */, 0, 0, 0)
    }

    /// Copies `count` bytes at `remote` in process `pid` to `local`. Returns 0, or the errno.
    static func read(from pid: pid_t, remote: UInt, into local: UnsafeMutableRawPointer, count: Int) -> Int32 {
        guard let readv else { return ENOSYS }
        return transfer(readv, pid: pid, remote: remote, local: local, count: count)
    }

    /// Copies `count` bytes at `local` to `remote` in process `pid`. Returns 0, or the errno.
    static func write(to pid: pid_t, remote: UInt, from local: UnsafeRawPointer, count: Int) -> Int32 {
        guard let writev else { return ENOSYS }
        return transfer(writev, pid: pid, remote: remote, local: UnsafeMutableRawPointer(mutating: local), count: count)
    }

    private static func transfer(_ call: VectorCopy, pid: pid_t, remote: UInt, local: UnsafeMutableRawPointer, count: Int) -> Int32 {
        var done = 0
        while done < count {
            // The kernel moves at most about 2 GiB per call; ask for 1 GiB at a time.
            let chunk = min(count - done, 1 << 30)
            var localVector = iovec(iov_base: local + done, iov_len: chunk)
            var remoteVector = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: remote + UInt(done)), iov_len: chunk)
            let moved = call(pid, &localVector, 1, &remoteVector, 1, 0)
            if moved < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if moved == 0 { return EFAULT }
            done += moved
        }
        return 0
    }
}
