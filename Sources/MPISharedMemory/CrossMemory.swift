import Glibc

/// Single-copy transfers between processes with `process_vm_readv`/`process_vm_writev` (Linux
/// cross-memory attach, as Open MPI's vader uses). Swift's Glibc module does not export the calls,
/// so they are found with `dlsym`.
enum CrossMemory {
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
