import Glibc

/// Binding ranks to cores, as `mpirun` does by default when the job does not oversubscribe the
/// machine: rank r runs only on the r-th CPU the launcher may use, so it keeps its caches and
/// never migrates. Each rank inherits its mask at spawn: the launcher's spawning thread takes
/// the rank's mask just before it forks the rank and gets its own back afterwards. (Swift's Glibc
/// module does not export the GNU affinity calls, so they are found with `dlsym`.)
struct CoreBinding {
    private typealias Affinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
    /// Bytes of a CPU mask (glibc's `cpu_set_t`: 1024 bits).
    private static let maskBytes = 128

    /// The CPUs this process may run on, in order.
    let cpus: [Int]
    private let original: [UInt8]
    private let set: Affinity

    /// The launcher's current mask; `nil` if it cannot be read.
    init?() {
        guard let get = dlsym(nil, "sched_getaffinity"), let set = dlsym(nil, "sched_setaffinity") else { return nil }
        self.set = unsafeBitCast(set, to: Affinity.self)
        var mask = [UInt8](repeating: 0, count: CoreBinding.maskBytes)
        let read = mask.withUnsafeMutableBytes { unsafeBitCast(get, to: Affinity.self)(0, $0.count, $0.baseAddress!) }
        guard read == 0 else { return nil }
        original = mask
        cpus = (0..<(mask.count * 8)).filter { mask[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }

    /// The CPU rank `rank` is bound to.
    func cpu(for rank: Int) -> Int { cpus[rank % cpus.count] }

    /// Runs `body` (the spawn of rank `rank`) with this thread bound to the rank's CPU.
    func spawning<R, E: Error>(rank: Int, _ body: () throws(E) -> R) throws(E) -> R {
        var mask = [UInt8](repeating: 0, count: CoreBinding.maskBytes)
        let cpu = cpu(for: rank)
        mask[cpu / 8] |= UInt8(1 << (cpu % 8))
        let bound = mask.withUnsafeMutableBytes { set(0, $0.count, $0.baseAddress!) } == 0
        defer {
            if bound {
                var original = original
                _ = original.withUnsafeMutableBytes { set(0, $0.count, $0.baseAddress!) }
            }
        }
        return try body()
    }
}
