/// A backend's name for one of its windows.
@usableFromInline
package struct WindowHandle: Hashable, Sendable {
    @usableFromInline package var raw: UInt
    @inlinable package init(raw: UInt) { self.raw = raw }
}

/// How a window's memory came to be (`MPI_WIN_CREATE_FLAVOR`).
public enum WindowFlavor: UInt8, Sendable, CustomStringConvertible {
    /// The backend allocates it (`MPI_Win_allocate`).
    case allocated
    /// The caller's memory (`MPI_Win_create`).
    case created
    /// The backend allocates it in memory every rank of the node can load and store
    /// (`MPI_Win_allocate_shared`).
    case shared

    public var description: String {
        switch self {
        case .allocated: "allocate"
        case .created: "create"
        case .shared: "allocateShared"
        }
    }
}

/// The one-sided (RMA) part of the backend contract, MPI-4.1 chapter 12. Arguments arrive
/// validated by `Window`: the calling process is inside an epoch that allows the call, targets
/// are ranks of the window's communicator (never the null process), and every target access
/// lies inside the target's window. Displacements count in the window's displacement unit.
/// Origin buffers stay valid and untouched (result buffers unread) until the operation completes
/// at the origin: at the closing synchronization call, a flush, or the request's completion.
@usableFromInline
package protocol OneSidedBackend: AnyObject {
    /// Makes a window over `comm`, collectively: `bytes` of this rank's memory with displacement
    /// unit `unit`. `.created` exposes `base`; the other flavors allocate and return the memory.
    func createWindow(
        flavor: WindowFlavor, base: UnsafeMutableRawPointer?, bytes: Int, unit: Int, comm: CommHandle
    ) throws(MPIError) -> (window: WindowHandle, base: UnsafeMutableRawPointer?)
    /// Frees `window` collectively (`MPI_Win_free`); no epoch is open on it any more. `dropped`:
    /// the window's last reference went away (no explicit `free()`), where a backend that can
    /// free without waiting for the other ranks should (a rank leaving a scope with an error
    /// must not hang on them); memory other ranks may still reach stays valid until they free.
    func freeWindow(_ window: WindowHandle, dropped: Bool) throws(MPIError)
    /// Where `rank`'s memory of a `.shared` window is mapped in this process, and its size in
    /// bytes (`MPI_Win_shared_query`).
    func sharedMemory(of rank: Int, in window: WindowHandle) throws(MPIError) -> (base: UnsafeMutableRawPointer?, bytes: Int)

    /// `MPI_Put`, or `MPI_Rput` with `request` (a `nil` handle back: complete already).
    func put(
        _ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle?
    /// `MPI_Get`, or `MPI_Rget` with `request`.
    func get(
        into origin: UnsafeMutableRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle?
    /// `MPI_Accumulate` (`MPI_Raccumulate` with `request`): `target[i] = origin[i] ∘ target[i]`
    /// for a predefined `op`, element-wise atomic against every other accumulate-family call
    /// on the same elements with the same type.
    func accumulate(
        _ origin: UnsafeRawPointer?, count: Int, type: Datatype, target: Int, displacement: Int,
        op: Reduction, window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle?
    /// `MPI_Get_accumulate` (`MPI_Rget_accumulate` with `request`; `MPI_Fetch_and_op` when
    /// `count` is 1): the target's elements into `result`, then accumulated, atomically.
    /// `origin` is `nil` for `.noOp`.
    func getAccumulate(
        _ origin: UnsafeRawPointer?, into result: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        target: Int, displacement: Int, op: Reduction, window: WindowHandle, request: Bool
    ) throws(MPIError) -> RequestHandle?
    /// `MPI_Compare_and_swap` of one element: `result` gets the target's element, which becomes
    /// `value` if it was equal to `compare`.
    func compareAndSwap(
        _ value: UnsafeRawPointer, compare: UnsafeRawPointer, into result: UnsafeMutableRawPointer,
        type: Datatype, target: Int, displacement: Int, window: WindowHandle
    ) throws(MPIError)

    /// `MPI_Win_fence` with `assertions` (`MPI_MODE_*` bits). Collective.
    func fence(_ window: WindowHandle, assertions: Int) throws(MPIError)
    /// `MPI_Win_post`: exposes the window to the `origins` (ranks of the window's communicator).
    func post(_ window: WindowHandle, origins: [Int], assertions: Int) throws(MPIError)
    /// `MPI_Win_start`: an access epoch to the `targets`.
    func start(_ window: WindowHandle, targets: [Int], assertions: Int) throws(MPIError)
    /// `MPI_Win_complete`: ends the access epoch of `start`.
    func complete(_ window: WindowHandle) throws(MPIError)
    /// `MPI_Win_wait` when `blocking`, else `MPI_Win_test`: whether every origin of the exposure
    /// epoch of `post` has completed (the epoch then ends).
    func waitExposure(_ window: WindowHandle, blocking: Bool) throws(MPIError) -> Bool
    /// `MPI_Win_lock`.
    func lock(_ window: WindowHandle, target: Int, type: LockType, assertions: Int) throws(MPIError)
    /// `MPI_Win_unlock`.
    func unlock(_ window: WindowHandle, target: Int) throws(MPIError)
    /// `MPI_Win_lock_all` (shared locks on every rank).
    func lockAll(_ window: WindowHandle, assertions: Int) throws(MPIError)
    /// `MPI_Win_unlock_all`.
    func unlockAll(_ window: WindowHandle) throws(MPIError)
    /// `MPI_Win_flush` (`local`: `MPI_Win_flush_local`) to `target`, or to every target when `nil`
    /// (`MPI_Win_flush_all`, `MPI_Win_flush_local_all`).
    func flush(_ window: WindowHandle, target: Int?, local: Bool) throws(MPIError)
    /// `MPI_Win_sync`: the public and private copies of this process's window agree.
    func sync(_ window: WindowHandle) throws(MPIError)
    /// Tells the implementation the window's name (`MPI_Win_set_name`).
    func setName(_ name: String, of window: WindowHandle)
    /// Where each rank's memory of `window` is mapped in this process, when a put or get on it
    /// outside a general active-target (`start`) epoch may be done by the front end as a plain
    /// copy, complete when it returns, and a flush needs only order this rank's memory accesses;
    /// `nil` when every operation must go through the backend.
    func directMemory(of window: WindowHandle) -> [UnsafeMutableRawPointer]?
}

extension OneSidedBackend {
    /// Backends whose window memory is not mapped in every process go through their calls.
    package func directMemory(of window: WindowHandle) -> [UnsafeMutableRawPointer]? { nil }

    /// Backends with no use for window names ignore them.
    package func setName(_ name: String, of window: WindowHandle) {}
}

/// The kind of a passive-target lock (`MPI_LOCK_EXCLUSIVE`, `MPI_LOCK_SHARED`).
public enum LockType: Sendable, Hashable, CustomStringConvertible {
    /// No other process holds any lock on the target meanwhile.
    case exclusive
    /// Other processes may hold shared locks on the target meanwhile.
    case shared

    public var description: String { self == .exclusive ? "exclusive" : "shared" }
}

/// What the caller promises about a synchronization call, so the implementation may do less
/// (`MPI_MODE_*`, MPI-4.1 §12.5.5). A wrong promise is erroneous; none is always safe.
public struct WindowAssertions: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    @inlinable public init(rawValue: Int) { self.rawValue = rawValue }

    /// The matching calls have completed already, or no conflicting lock is held
    /// (`MPI_MODE_NOCHECK`: `start`, `post`, `lock`, `lockAll`).
    public static let noCheck = WindowAssertions(rawValue: 1)
    /// No one-sided operation precedes this fence (`MPI_MODE_NOPRECEDE`).
    public static let noPrecede = WindowAssertions(rawValue: 2)
    /// The local window is not updated by puts or accumulates until the next synchronization
    /// (`MPI_MODE_NOPUT`: `post`, `fence`).
    public static let noPut = WindowAssertions(rawValue: 4)
    /// The local window was not updated by local stores since the last synchronization
    /// (`MPI_MODE_NOSTORE`: `post`, `fence`).
    public static let noStore = WindowAssertions(rawValue: 8)
    /// No one-sided operation follows this fence: it opens no epoch (`MPI_MODE_NOSUCCEED`).
    public static let noSucceed = WindowAssertions(rawValue: 16)
}
