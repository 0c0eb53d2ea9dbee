import Glibc
import MPICore
import Synchronization

// Parallel I/O on shared memory (MPI-4.1 chapter 14): every rank has its own descriptor of the
// file and moves its data with positioned `pread`/`pwrite`, walking the runs its view maps the
// access to (`FileViewMap`). Ranks of one node see each other's writes at once (one page cache),
// so a collective access needs no data exchange: each rank transfers its own runs, and the file's
// bytes are those MPI-IO writes. Only what MPI makes collective coordinates: open (rank 0 opens
// first, creating the file if asked, then the others; every rank learns every failure), the
// size calls (rank 0 acts, every rank gets its outcome), sync (each rank's fsync, then an
// all-gather of the outcomes) and the shared file pointer, which
// only collective calls move here (ordered accesses and `seekShared`: an all-gather of the
// sizes gives each rank its place), so every rank keeps the same value.
//
// Immediate accesses complete before they return (a page-cache copy has nothing to overlap),
// so their requests are complete at once.

/// One open file on this rank. Reached through `FileHandle.raw` (an unmanaged pointer).
final class SharedFile {
    let descriptor: Int32
    let comm: CommHandle
    let path: String
    let mode: File.AccessMode
    /// The view and both file pointers (in elementary types), guarded for `ThreadLevel.multiple`.
    let state: Mutex<(view: FileViewMap, individual: Int, shared: Int)>

    init(descriptor: Int32, comm: CommHandle, path: String, mode: File.AccessMode, start: Int) {
        self.descriptor = descriptor
        self.comm = comm
        self.path = path
        self.mode = mode
        state = Mutex((FileViewMap.bytes, start, start))
    }
}

extension FileHandle {
    fileprivate init(_ file: SharedFile) { self.init(raw: UInt(bitPattern: Unmanaged.passRetained(file).toOpaque())) }
    fileprivate var file: SharedFile {
        Unmanaged<SharedFile>.fromOpaque(UnsafeRawPointer(bitPattern: raw).unsafelyUnwrapped).takeUnretainedValue()
    }
}

/// The error for a failed system call on a file: its class from `errno` as MPI-IO reports it.
func fileError(_ code: Int32, _ what: String, _ path: String) -> MPIError {
    let errorClass: MPIError.ErrorClass =
        switch code {
        case ENOENT, ENOTDIR: .noSuchFile
        case EACCES, EPERM: .access
        case EEXIST: .fileExists
        case EROFS: .readOnly
        case ENOSPC: .noSpace
        case EDQUOT: .quota
        case EISDIR, ENAMETOOLONG, ELOOP: .badFile
        case EBUSY, ETXTBSY: .fileInUse
        default: .io
        }
    return MPIError(errorClass, "\(what) \(path) failed: \(String(cString: strerror(code)))")
}

extension SharedMemoryBackend {
    /// Runs a collective exchange of the file's communicator under the engine lock.
    private func exchange<R>(_ comm: CommHandle, _ body: (CommunicatorInfo) throws(MPIError) -> R) throws(MPIError) -> R {
        lockEngine()
        defer { unlockEngine() }
        return try body(try info(comm))
    }

    /// Every rank's `outcome` (an `errno`, 0 for success) on every rank; throws the first failure,
    /// naming its rank, on all of them.
    private func failIfAnyRank(_ outcome: Int32, _ comm: CommHandle, _ what: String, _ path: String) throws(MPIError) {
        let outcomes = try exchange(comm) { (info) throws(MPIError) in try allGather(info, (Int(outcome), info.rank)) }
        if let failed = outcomes.first(where: { $0.0 != 0 }) {
            let error = fileError(Int32(failed.0), what, path)
            throw MPIError(error.errorClass, error.message + " on rank \(failed.1)")
        }
    }

    /// Rank 0's outcome of `action` (an `errno`, 0 for success), on every rank.
    private func onRankZero(_ comm: CommHandle, _ action: () -> Int32) throws(MPIError) -> Int32 {
        try exchange(comm) { (info) throws(MPIError) in
            var outcome = (info.rank == 0 ? Int(action()) : 0, 0)
            try broadcastInternal(info, &outcome, tag: 41)
            return Int32(outcome.0)
        }
    }

    package func openFile(_ path: String, mode: Int, comm: CommHandle) throws(MPIError) -> FileHandle {
        let mode = File.AccessMode(rawValue: mode)
        var flags = O_CLOEXEC
        if mode.contains(.readOnly) { flags |= O_RDONLY }
        if mode.contains(.writeOnly) { flags |= O_WRONLY }
        if mode.contains(.readWrite) { flags |= O_RDWR }
        // MPI_MODE_APPEND only places the file pointers; O_APPEND would make pwrite ignore offsets.
        var descriptor: Int32 = -1
        let first = try onRankZero(comm) {
            var creating = flags
            if mode.contains(.create) { creating |= O_CREAT }
            if mode.contains(.exclusive) { creating |= O_EXCL }
            descriptor = Glibc.open(path, creating, 0o666)
            return descriptor < 0 ? errno : 0
        }
        if first != 0 { throw fileError(first, "opening", path) }
        if try info(comm).rank != 0 { descriptor = Glibc.open(path, flags, 0) }
        do {
            try failIfAnyRank(descriptor < 0 ? errno : 0, comm, "opening", path)
        } catch {
            if descriptor >= 0 { Glibc.close(descriptor) }
            throw error
        }
        var start = 0
        if mode.contains(.append) {
            var info = stat()
            if fstat(descriptor, &info) == 0 { start = Int(info.st_size) }
        }
        return FileHandle(SharedFile(descriptor: descriptor, comm: comm, path: path, mode: mode, start: start))
    }

    package func closeFile(_ handle: FileHandle) throws(MPIError) {
        let file = handle.file
        defer { Unmanaged.passUnretained(file).release() }
        let closed = Glibc.close(file.descriptor) == 0 ? 0 : errno
        if file.mode.contains(.deleteOnClose), try info(file.comm).rank == 0 {
            // Descriptors other ranks still hold keep working on an unlinked file, so rank 0
            // need not wait for them (and a rank leaving with an error does not hang on them).
            if unlink(file.path) != 0 && errno != ENOENT { throw fileError(errno, "deleting (on close)", file.path) }
        }
        if closed != 0 { throw fileError(closed, "closing", file.path) }
    }

    package func deleteFile(_ path: String) throws(MPIError) {
        if unlink(path) != 0 { throw fileError(errno, "deleting", path) }
    }

    package func fileSize(_ handle: FileHandle) throws(MPIError) -> Int {
        try size(of: handle.file)
    }

    private func size(of file: SharedFile) throws(MPIError) -> Int {
        var info = stat()
        guard fstat(file.descriptor, &info) == 0 else { throw fileError(errno, "finding the size of", file.path) }
        return Int(info.st_size)
    }

    package func setFileSize(_ handle: FileHandle, bytes: Int) throws(MPIError) {
        let file = handle.file
        let outcome = try onRankZero(file.comm) { ftruncate(file.descriptor, off_t(bytes)) == 0 ? 0 : errno }
        if outcome != 0 { throw fileError(outcome, "setting the size (\(bytes) bytes) of", file.path) }
    }

    package func preallocateFile(_ handle: FileHandle, bytes: Int) throws(MPIError) {
        let file = handle.file
        let outcome = try onRankZero(file.comm) { bytes == 0 ? 0 : posix_fallocate(file.descriptor, 0, off_t(bytes)) }
        if outcome != 0 { throw fileError(outcome, "preallocating \(bytes) bytes of", file.path) }
    }

    package func syncFile(_ handle: FileHandle) throws(MPIError) {
        let file = handle.file
        try failIfAnyRank(fsync(file.descriptor) == 0 ? 0 : errno, file.comm, "syncing", file.path)
    }

    package func setFileView(_ handle: FileHandle, displacement: Int, elementType: Datatype, fileType: Datatype) throws(MPIError) {
        let view = FileViewMap(displacement: displacement, elementType: elementType, fileType: fileType)
        handle.file.state.withLock { $0 = (view, 0, 0) }
    }

    package func fileAccess(
        _ handle: FileHandle, write: Bool, buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        position: FilePositioning, collective: Bool, request: Bool
    ) throws(MPIError) -> (status: Status?, request: RequestHandle?) {
        let file = handle.file
        let bytes = try byteCount(count, type)
        let view = file.state.withLock { $0.view }
        // Where in the view's data stream the access starts.
        let start: Int
        switch position {
        case .explicit(let offset):
            start = offset * view.elementSize
        case .individual:
            start = file.state.withLock { $0.individual } * view.elementSize
        case .ordered:
            let (sizes, rank) = try exchange(file.comm) { (info) throws(MPIError) in (try allGather(info, (bytes, 0)), info.rank) }
            let before = sizes[..<rank].reduce(0) { $0 + $1.0 }
            let total = sizes.reduce(0) { $0 + $1.0 }
            start = file.state.withLock { state in
                defer { state.shared += total / view.elementSize }
                return state.shared * view.elementSize + before
            }
        }
        let transferred = try transfer(file, view, write: write, buffer, count: count, type: type, from: start, bytes: bytes)
        if position == .individual {
            file.state.withLock { $0.individual += transferred / view.elementSize }
        }
        return (Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: transferred), nil)
    }

    /// Moves `bytes` bytes of `count` `type` items between memory and the runs of the view from
    /// stream byte `start` on; returns the bytes moved (fewer than asked when a read meets the
    /// end of the file).
    private func transfer(
        _ file: SharedFile, _ view: FileViewMap, write: Bool, _ buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        from start: Int, bytes: Int
    ) throws(MPIError) -> Int {
        guard bytes > 0, let buffer else { return 0 }
        // Memory whose datatype leaves gaps travels through a packed copy.
        let packed: UnsafeMutableRawPointer = type.isDense ? buffer : .allocate(byteCount: bytes, alignment: 16)
        defer { if !type.isDense { packed.deallocate() } }
        if write && !type.isDense { type.pack(buffer, count: count, into: packed) }
        var moved = 0
        var failure: Int32 = 0
        view.forEachRun(from: start, bytes: bytes) { (offset, at, length) -> Bool in
            var done = 0
            while done < length {
                let result =
                    write
                    ? pwrite(file.descriptor, packed + at + done, length - done, off_t(offset + done))
                    : pread(file.descriptor, packed + at + done, length - done, off_t(offset + done))
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if result == 0 { break }  // the end of the file
                done += result
            }
            moved += done
            return done == length
        }
        if !write && !type.isDense && moved > 0 { type.unpack(packed, bytes: moved, into: buffer) }
        if failure != 0 { throw fileError(failure, write ? "writing \(bytes) bytes to" : "reading \(bytes) bytes from", file.path) }
        return moved
    }

    package func seekFile(_ handle: FileHandle, offset: Int, from origin: FileSeekOrigin, shared: Bool) throws(MPIError) {
        let file = handle.file
        let end = try size(of: file)
        try file.state.withLock { (state) throws(MPIError) in
            let current = shared ? state.shared : state.individual
            let base: Int =
                switch origin {
                case .start: 0
                case .current: current
                case .end: state.view.streamBytes(beforeFileOffset: end) / state.view.elementSize
                }
            let target = base + offset
            guard target >= 0 else {
                throw MPIError(.argument, "seek of \(file.path) to \(offset) from \(origin) reaches \(target), before the start of the view")
            }
            if shared { state.shared = target } else { state.individual = target }
        }
    }

    package func filePosition(_ handle: FileHandle, shared: Bool) throws(MPIError) -> Int {
        handle.file.state.withLock { shared ? $0.shared : $0.individual }
    }

    package func fileByteOffset(_ handle: FileHandle, offset: Int) throws(MPIError) -> Int {
        let view = handle.file.state.withLock { $0.view }
        return view.fileOffset(ofStream: offset * view.elementSize)
    }
}
