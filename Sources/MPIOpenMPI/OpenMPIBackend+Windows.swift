#if OpenMPI
import CMPI
import MPICore

// One-sided communication (MPI-4.1 chapter 12) on Open MPI: each backend call is one `MPI_Win_*`
// or RMA call. A window's handle is its `MPI_Win`'s bits; Open MPI keeps everything else a window
// needs (its group, its epochs), so the backend keeps no table of its own.
//
// Windows start with `MPI_ERRORS_RETURN`, set right after creation: a window does not inherit its
// communicator's handler, and Open MPI's default for windows aborts the job.
//
// Arguments arrive validated by `Window` (epochs, ranks, displacements against the target's
// window size, the operation for the element type), so out-of-range accesses never reach Open MPI,
// whose `osc` components do not all report them. Origin and target datatypes are the same: both
// sides see `count` elements of `WireType`'s datatype (a predefined datatype for dense elements,
// the cached derived datatype for a composed one). A request-based operation's handle is made like
// an immediate send's (the request's bits), so completing it reports the empty send status.

extension WindowHandle {
    /// The handle naming Open MPI window `win`: the pointer's bits.
    @inline(__always)
    init(_ win: MPI_Win) { self.init(raw: UInt(bitPattern: win)) }

    /// The Open MPI window this handle names.
    @inline(__always)
    var mpi: MPI_Win { MPI_Win(bitPattern: raw).unsafelyUnwrapped }
}

extension OpenMPIBackend {
    // MARK: Windows

    package func createWindow(
        flavor: WindowFlavor, base: UnsafeMutableRawPointer?, bytes: Int, unit: Int, comm: CommHandle
    ) throws(MPIError) -> (window: WindowHandle, base: UnsafeMutableRawPointer?) {
        guard let dispUnit = Int32(exactly: unit) else {
            throw MPIError(.displacement, "a displacement unit of \(unit) bytes does not fit Open MPI's int")
        }
        let size = MPI_Aint(bytes)
        var win: MPI_Win?
        var memory: UnsafeMutableRawPointer? = base
        let context = "\(bytes) bytes, displacement unit \(unit)"
        do {
            switch flavor {
            case .allocated:
                try check(MPI_Win_allocate(size, dispUnit, cmpi_info_null(), comm.mpi, &memory, &win), "MPI_Win_allocate", context)
            case .created:
                try check(MPI_Win_create(base, size, dispUnit, cmpi_info_null(), comm.mpi, &win), "MPI_Win_create", context)
            case .shared:
                // No `alloc_shared_noncontig`: the ranks' parts are contiguous, in rank order.
                try check(MPI_Win_allocate_shared(size, dispUnit, cmpi_info_null(), comm.mpi, &memory, &win),
                    "MPI_Win_allocate_shared", context)
            }
        } catch where error.errorClass == .window && providedThreadLevel == .multiple && flavor != .shared {
            // Open MPI 4.1's osc pt2pt (windows over caller memory, and every window across
            // nodes) refuses MPI_THREAD_MULTIPLE, and osc rdma cannot run with the single-copy
            // guard's BTL settings: no component is left (docs/openmpi-backend.md).
            throw MPIError(.unsupported, "Window.\(flavor) is not supported by the Open MPI backend at ThreadLevel.multiple here: Open MPI 4.1's osc pt2pt component refuses MPI_THREAD_MULTIPLE and no other one-sided component can serve this window (\(error.message)); Window.allocate within one node works, as does a lower thread level")
        }
        let made = win.unsafelyUnwrapped
        do {
            try check(MPI_Win_set_errhandler(made, cmpi_errors_return()), "MPI_Win_set_errhandler", "a new window")
        } catch {
            try? check(MPI_Win_free(&win), "MPI_Win_free")
            throw error
        }
        return (WindowHandle(made), memory)
    }

    /// `MPI_Win_free` synchronizes on every component (it must not return while others may still
    /// reach this rank's memory), dropped or not.
    package func freeWindow(_ window: WindowHandle, dropped: Bool) throws(MPIError) {
        var win: MPI_Win? = window.mpi
        try check(MPI_Win_free(&win), "MPI_Win_free")
    }

    package func sharedMemory(of rank: Int, in window: WindowHandle) throws(MPIError) -> (base: UnsafeMutableRawPointer?, bytes: Int) {
        var size: MPI_Aint = 0
        var unit: Int32 = 0
        var base: UnsafeMutableRawPointer?
        try check(MPI_Win_shared_query(window.mpi, mpiRank(rank), &size, &unit, &base), "MPI_Win_shared_query", "rank \(rank)")
        return (size == 0 ? nil : base, Int(size))
    }

    package func setName(_ name: String, of window: WindowHandle) {
        guard isActive else { return }
        withObjectName(name) { _ = MPI_Win_set_name(window.mpi, $0) }
    }

    // MARK: Communication

    package func put(
        _ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        let rank = mpiRank(target)
        let disp = MPI_Aint(displacement)
        guard request else {
            try check(MPI_Put(origin, wire.count, wire.datatype, rank, disp, wire.count, wire.datatype, window.mpi),
                "MPI_Put", rmaContext(count: count, type: type, target: target, displacement: displacement))
            return nil
        }
        var handle: MPI_Request?
        try check(MPI_Rput(origin, wire.count, wire.datatype, rank, disp, wire.count, wire.datatype, window.mpi, &handle),
            "MPI_Rput", rmaContext(count: count, type: type, target: target, displacement: displacement))
        return RequestHandle(send: handle)
    }

    package func get(
        into origin: UnsafeMutableRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        let rank = mpiRank(target)
        let disp = MPI_Aint(displacement)
        guard request else {
            try check(MPI_Get(origin, wire.count, wire.datatype, rank, disp, wire.count, wire.datatype, window.mpi),
                "MPI_Get", rmaContext(count: count, type: type, target: target, displacement: displacement))
            return nil
        }
        var handle: MPI_Request?
        try check(MPI_Rget(origin, wire.count, wire.datatype, rank, disp, wire.count, wire.datatype, window.mpi, &handle),
            "MPI_Rget", rmaContext(count: count, type: type, target: target, displacement: displacement))
        return RequestHandle(send: handle)
    }

    package func accumulate(
        _ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        op: Reduction, window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        let operation = try accumulateOperation(op, on: type, request ? "immediateAccumulate" : "accumulate")
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        let rank = mpiRank(target)
        let disp = MPI_Aint(displacement)
        guard request else {
            try check(MPI_Accumulate(origin, wire.count, wire.datatype, rank, disp, wire.count, wire.datatype, operation, window.mpi),
                "MPI_Accumulate", rmaContext(count: count, type: type, target: target, displacement: displacement, op: op))
            return nil
        }
        var handle: MPI_Request?
        try check(
            MPI_Raccumulate(origin, wire.count, wire.datatype, rank, disp, wire.count, wire.datatype, operation, window.mpi, &handle),
            "MPI_Raccumulate", rmaContext(count: count, type: type, target: target, displacement: displacement, op: op))
        return RequestHandle(send: handle)
    }

    package func getAccumulate(
        _ origin: UnsafeRawPointer?, into result: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        target: Int, displacement: Int, op: Reduction, window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle? {
        let what = request ? "immediateGetAccumulate" : "getAccumulate"
        let operation = try accumulateOperation(op, on: type, what)
        let rank = mpiRank(target)
        let disp = MPI_Aint(displacement)
        // MPI ignores the origin buffer of MPI_NO_OP (MPI-4.1 §12.3.4), but Open MPI's argument
        // checks want an address with the count: the result buffer serves.
        let source = origin ?? UnsafeRawPointer(result)
        if count == 1 && !request && type.isPredefined {
            try check(MPI_Fetch_and_op(source, result, type.builtin.mpi, rank, disp, operation, window.mpi),
                "MPI_Fetch_and_op", rmaContext(count: count, type: type, target: target, displacement: displacement, op: op))
            return nil
        }
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        guard request else {
            try check(
                MPI_Get_accumulate(source, wire.count, wire.datatype, result, wire.count, wire.datatype, rank, disp,
                    wire.count, wire.datatype, operation, window.mpi),
                "MPI_Get_accumulate", rmaContext(count: count, type: type, target: target, displacement: displacement, op: op))
            return nil
        }
        var handle: MPI_Request?
        try check(
            MPI_Rget_accumulate(source, wire.count, wire.datatype, result, wire.count, wire.datatype, rank, disp,
                wire.count, wire.datatype, operation, window.mpi, &handle),
            "MPI_Rget_accumulate", rmaContext(count: count, type: type, target: target, displacement: displacement, op: op))
        return RequestHandle(send: handle)
    }

    package func compareAndSwap(
        _ value: UnsafeRawPointer, compare: UnsafeRawPointer, into result: UnsafeMutableRawPointer,
        type: Datatype, target: Int, displacement: Int, window: WindowHandle
    ) throws(MPIError) {
        guard type.isPredefined else {
            throw MPIError(.type, "compareAndSwap needs a predefined integer or Bool element; \(type) is none")
        }
        try check(
            MPI_Compare_and_swap(value, compare, result, type.builtin.mpi, mpiRank(target), MPI_Aint(displacement), window.mpi),
            "MPI_Compare_and_swap", rmaContext(count: 1, type: type, target: target, displacement: displacement))
    }

    // MARK: Synchronization

    package func fence(_ window: WindowHandle, assertions: Int) throws(MPIError) {
        try check(MPI_Win_fence(mpiAssertions(assertions), window.mpi), "MPI_Win_fence", assertionContext(assertions))
    }

    package func post(_ window: WindowHandle, origins: [Int], assertions: Int) throws(MPIError) {
        var group = try windowGroup(window, ranks: origins, "post")
        defer { freeGroup(&group) }
        try check(MPI_Win_post(group, mpiAssertions(assertions), window.mpi), "MPI_Win_post",
            "origins \(origins)\(assertionContext(assertions, separator: ", "))")
    }

    package func start(_ window: WindowHandle, targets: [Int], assertions: Int) throws(MPIError) {
        var group = try windowGroup(window, ranks: targets, "start")
        defer { freeGroup(&group) }
        try check(MPI_Win_start(group, mpiAssertions(assertions), window.mpi), "MPI_Win_start",
            "targets \(targets)\(assertionContext(assertions, separator: ", "))")
    }

    package func complete(_ window: WindowHandle) throws(MPIError) {
        try check(MPI_Win_complete(window.mpi), "MPI_Win_complete")
    }

    package func waitExposure(_ window: WindowHandle, blocking: Bool) throws(MPIError) -> Bool {
        if blocking {
            try check(MPI_Win_wait(window.mpi), "MPI_Win_wait")
            return true
        }
        var flag: Int32 = 0
        try check(MPI_Win_test(window.mpi, &flag), "MPI_Win_test")
        return flag != 0
    }

    package func lock(_ window: WindowHandle, target: Int, type: LockType, assertions: Int) throws(MPIError) {
        let lockType = type == .exclusive ? MPI_LOCK_EXCLUSIVE : MPI_LOCK_SHARED
        try check(MPI_Win_lock(lockType, mpiRank(target), mpiAssertions(assertions), window.mpi), "MPI_Win_lock",
            "\(type) lock on rank \(target)\(assertionContext(assertions, separator: ", "))")
    }

    package func unlock(_ window: WindowHandle, target: Int) throws(MPIError) {
        try check(MPI_Win_unlock(mpiRank(target), window.mpi), "MPI_Win_unlock", "rank \(target)")
    }

    package func lockAll(_ window: WindowHandle, assertions: Int) throws(MPIError) {
        try check(MPI_Win_lock_all(mpiAssertions(assertions), window.mpi), "MPI_Win_lock_all", assertionContext(assertions))
    }

    package func unlockAll(_ window: WindowHandle) throws(MPIError) {
        try check(MPI_Win_unlock_all(window.mpi), "MPI_Win_unlock_all")
    }

    package func flush(_ window: WindowHandle, target: Int?, local: Bool) throws(MPIError) {
        switch (target, local) {
        case (let target?, false): try check(MPI_Win_flush(mpiRank(target), window.mpi), "MPI_Win_flush", "rank \(target)")
        case (let target?, true): try check(MPI_Win_flush_local(mpiRank(target), window.mpi), "MPI_Win_flush_local", "rank \(target)")
        case (nil, false): try check(MPI_Win_flush_all(window.mpi), "MPI_Win_flush_all")
        case (nil, true): try check(MPI_Win_flush_local_all(window.mpi), "MPI_Win_flush_local_all")
        }
    }

    package func sync(_ window: WindowHandle) throws(MPIError) {
        try check(MPI_Win_sync(window.mpi), "MPI_Win_sync")
    }

    // MARK: Helpers

    /// Open MPI's operation for accumulating `type` with `op`: `MPI_REPLACE` and `MPI_NO_OP`
    /// for any datatype, otherwise the predefined operation `nativeOperation(on:)` gives.
    private func accumulateOperation(_ op: Reduction, on type: Datatype, _ what: String) throws(MPIError) -> MPI_Op {
        switch op.builtin {
        case .replace?: return cmpi_op_replace()
        case .noOp?: return cmpi_op_no_op()
        default:
            if let native = op.nativeOperation(on: type) { return native }
            let name = op.builtin.map { "\($0)" } ?? "a Swift reduction"
            let reason: String
            if op.builtin == nil {
                reason = "MPI allows only predefined operations in one-sided accumulates"
            } else if type.builtin == .float16 {
                reason = "Open MPI 4.1 has no half-precision datatype to accumulate on"
            } else if type.isBytes {
                reason = "its elements travel as bytes, which only .replace and .noOp can accumulate"
            } else if op.builtin == .sum {
                reason = "Open MPI 4.1 saturates 8- and 16-bit integer sums instead of wrapping (open-mpi/ompi#8045)"
            } else {
                reason = "Open MPI has no such predefined operation for it"
            }
            throw MPIError(.unsupported, "\(what) with \(name) on \(type) elements is not supported by the Open MPI backend: \(reason)")
        }
    }

    /// The group of `ranks` of `window`'s group (`MPI_Win_get_group`, `MPI_Group_incl`), for
    /// `freeGroup` once the call that takes it has returned (Open MPI keeps its own reference).
    private func windowGroup(_ window: WindowHandle, ranks: [Int], _ what: String) throws(MPIError) -> MPI_Group? {
        var whole: MPI_Group?
        try check(MPI_Win_get_group(window.mpi, &whole), "MPI_Win_get_group", "for \(what)")
        defer { freeGroup(&whole) }
        var members = ranks.map { Int32(truncatingIfNeeded: $0) }
        var group: MPI_Group?
        try check(MPI_Group_incl(whole, Int32(members.count), &members, &group), "MPI_Group_incl", "ranks \(ranks) for \(what)")
        return group
    }

    /// Frees a group, except `MPI_GROUP_EMPTY` (what `MPI_Group_incl` of no ranks returns).
    private func freeGroup(_ group: inout MPI_Group?) {
        guard let handle = group, handle != cmpi_group_empty() else { return }
        // A failed free leaks one group handle; the call that used it already succeeded or threw.
        try? check(MPI_Group_free(&group), "MPI_Group_free")
    }

    /// Open MPI's `MPI_MODE_*` bits for the front end's `WindowAssertions` bits.
    private func mpiAssertions(_ bits: Int) -> Int32 {
        let assertions = WindowAssertions(rawValue: bits)
        var mode: Int32 = 0
        if assertions.contains(.noCheck) { mode |= MPI_MODE_NOCHECK }
        if assertions.contains(.noPrecede) { mode |= MPI_MODE_NOPRECEDE }
        if assertions.contains(.noPut) { mode |= MPI_MODE_NOPUT }
        if assertions.contains(.noStore) { mode |= MPI_MODE_NOSTORE }
        if assertions.contains(.noSucceed) { mode |= MPI_MODE_NOSUCCEED }
        return mode
    }

    private func assertionContext(_ bits: Int, separator: String = "") -> String {
        bits == 0 ? "" : "\(separator)assertions 0x\(String(bits, radix: 16))"
    }

    private func rmaContext(count: Int, type: Datatype, target: Int, displacement: Int, op: Reduction? = nil) -> String {
        var text = "\(count) × \(type) at displacement \(displacement) of rank \(target)'s window"
        if let op { text += op.builtin.map { ", operation \($0)" } ?? ", a Swift reduction" }
        return text
    }
}
#endif
