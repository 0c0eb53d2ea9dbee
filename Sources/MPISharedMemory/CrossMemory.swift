import Glibc

/// Single-copy transfers between processes with `process_vm_readv` (Linux cross-memory attach,
/// as Open MPI's vader uses). Swift's Glibc module does not export the call, so it is found with
/// `dlsym`.
enum CrossMemory {
    private typealias ReadV = @convention(c) (
        pid_t, UnsafePointer<iovec>?, UInt, UnsafePointer<iovec>?, UInt, UInt
    ) -> Int
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    private static let readv: ReadV? = {
        // A nil handle is RTLD_DEFAULT: search every loaded object.
        guard let symbol = dlsym(nil, "process_vm_readv") else { return nil }
        return unsafeBitCast(symbol, to: ReadV.self)
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
        var done = 0
        while done < count {
            // The kernel moves at most about 2 GiB per call; ask for 1 GiB at a time.
            let chunk = min(count - done, 1 << 30)
            var localVector = iovec(iov_base: local + done, iov_len: chunk)
            var remoteVector = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: remote + UInt(done)), iov_len: chunk)
            let moved = readv(pid, &localVector, 1, &remoteVector, 1, 0)
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
