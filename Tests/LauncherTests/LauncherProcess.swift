import Glibc
import MPISharedMemory
import MPITesting

/// One run of the `swift-mpiexec` binary under test, with its stdin, stdout and stderr on pipes.
///
/// Waiting is driven by the pipes: ``finish(within:)`` reads until both output pipes reach end of
/// file, which happens only when the launcher and every process that inherited its stdout or
/// stderr (the ranks and anything they started) are gone. A run that overstays its time limit is
/// killed with everything it started, so a failing test leaves nothing behind.
final class LauncherProcess {
    /// How a run ended.
    struct Result {
        var exitCode: Int32?
        var signal: Int32?
        var stdout: String
        var stderr: String
        /// From the start of the launcher to its end.
        var elapsed: Duration
        /// Whether the time limit was hit and the run had to be killed.
        var overran: Bool
    }

    let pid: pid_t
    let started: ContinuousClock.Instant
    private let clock = ContinuousClock()
    private var stdinFD: Int32
    private var outputFDs: [Int32]
    private var outputs: [[UInt8]] = [[], []]

    /// The launcher binary: built next to the test bundle by `swift test`.
    static let executable: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path[..<path.lastIndex(of: "/")!] + "/swift-mpiexec"
    }()

    /// A program built next to the test bundle, such as the `ring` example.
    static func product(_ name: String) -> String {
        executable[..<executable.lastIndex(of: "/")!] + "/" + name
    }

    /// Starts `program` (the launcher unless told otherwise) with `arguments`, in the test's
    /// environment with `environment` (`NAME=value` entries) added or replacing.
    init(_ arguments: [String], program: String = LauncherProcess.executable, environment: [String] = []) throws {
        let input = try LauncherProcess.makePipe()
        let output = try LauncherProcess.makePipe()
        let error = try LauncherProcess.makePipe()
        defer { close(input.read); close(output.write); close(error.write) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, output.write, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, error.write, STDERR_FILENO)

        // The test runner's own signal dispositions and mask must not leak into the launcher.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        ChildProcess.resetSignals(&attributes)

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let names = environment.map { String($0.prefix { $0 != "=" }) + "=" }
        var entries: [String] = []
        var entry = environ
        while let string = entry.pointee {
            let text = String(cString: string)
            if !names.contains(where: { text.hasPrefix($0) }) { entries.append(text) }
            entry += 1
        }
        let envp = (entries + environment).map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        started = clock.now
        let result = posix_spawn(&pid, argv[0]!, &actions, &attributes, argv, envp)
        guard result == 0 else {
            close(input.write); close(output.read); close(error.read)
            throw SpawnError(errno: result)
        }
        self.pid = pid
        self.stdinFD = input.write
        self.outputFDs = [output.read, error.read]
    }

    /// Set once the launcher has been reaped.
    private var reaped = false

    deinit {
        for descriptor in outputFDs + [stdinFD] where descriptor >= 0 { close(descriptor) }
        // A test that stopped early (a failed #require) must not leave its job running.
        if !reaped {
            killEverything()
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            for name in remainingSegments { unlink("/dev/shm/\(name)") }
        }
    }

    var stdoutText: String { String(decoding: outputs[0], as: UTF8.self) }

    /// Reads output until `condition` holds for stdout so far, or `limit` passes; returns
    /// whether it held.
    func readStdout(until condition: (String) -> Bool, within limit: Duration = .seconds(10)) -> Bool {
        let deadline = clock.now + limit
        while !condition(stdoutText) {
            guard pump(until: deadline) else { return false }
        }
        return true
    }

    func writeStdin(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(stdinFD, $0.baseAddress, $0.count - 1) }
    }

    func send(signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the end of the run: both output pipes closed, then the launcher reaped.
    func finish(within limit: Duration = .seconds(15)) -> Result {
        close(stdinFD)
        stdinFD = -1
        let deadline = clock.now + limit
        var overran = false
        while outputFDs.contains(where: { $0 >= 0 }) {
            if !pump(until: deadline) {
                overran = true
                killEverything()
                break
            }
        }
        // End of file on both pipes means the launcher has exited or is exiting: this returns.
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        let elapsed = started.duration(to: clock.now)
        let signal = status & 0x7F
        return Result(
            exitCode: signal == 0 ? (status >> 8) & 0xFF : nil,
            signal: signal == 0 ? nil : signal,
            stdout: String(decoding: outputs[0], as: UTF8.self),
            stderr: String(decoding: outputs[1], as: UTF8.self),
            elapsed: elapsed,
            overran: overran
        )
    }

    /// Job segments of this launcher still in /dev/shm.
    var remainingSegments: [String] {
        LauncherProcess.sharedMemoryNames().filter { $0.hasPrefix("\(JobSegment.namePrefix)\(pid)-") }
    }

    /// Live processes whose environment says they belong to the job of launcher `pid`: its
    /// ranks and anything they started.
    static func processes(startedBy pid: pid_t) -> [pid_t] {
        let marker = Array("SWIFTMPI_LAUNCHER_PID=\(pid)".utf8) + [0]
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [pid_t] = []
        while let entry = readdir(directory) {
            guard let candidate = pid_t(name(of: entry)) else { continue }
            let environment = contents(of: "/proc/\(candidate)/environ")
            var start = environment.startIndex
            while let end = environment[start...].firstIndex(of: 0) {
                if environment[start...end].elementsEqual(marker) { found.append(candidate); break }
                start = end + 1
            }
        }
        return found
    }

    static func sharedMemoryNames() -> [String] {
        guard let directory = opendir("/dev/shm") else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) { names.append(name(of: entry)) }
        return names
    }

    // MARK: Helpers

    private func killEverything() {
        kill(pid, SIGKILL)
        for process in LauncherProcess.processes(startedBy: pid) { kill(process, SIGKILL) }
    }

    /// Moves available output into the buffers; false once `deadline` has passed with pipes
    /// still open.
    private func pump(until deadline: ContinuousClock.Instant) -> Bool {
        let open = outputFDs.indices.filter { outputFDs[$0] >= 0 }
        guard !open.isEmpty else { return false }
        let remaining = clock.now.duration(to: deadline)
        guard remaining > .zero else { return false }
        var descriptors = open.map { pollfd(fd: outputFDs[$0], events: Int16(POLLIN), revents: 0) }
        let milliseconds = Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
        guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) >= 0 || errno == EINTR else { return false }
        var buffer = [UInt8](repeating: 0, count: 65536)
        for (position, index) in open.enumerated() where descriptors[position].revents != 0 {
            let count = read(outputFDs[index], &buffer, buffer.count)
            if count > 0 {
                outputs[index] += buffer[..<count]
            } else if count == 0 || errno != EINTR {
                close(outputFDs[index])
                outputFDs[index] = -1
            }
        }
        return true
    }

    private static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
    }

    private static func contents(of path: String) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { return bytes }
            bytes += buffer[..<count]
        }
    }

    /// A pipe whose ends are close-on-exec from birth: other tests spawn processes concurrently,
    /// and a child that inherited a write end would hold a run's output open. `pipe2` is not
    /// visible through Swift's Glibc module, so it is looked up at run time.
    private static func makePipe() throws -> (read: Int32, write: Int32) {
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
        let pipe2 = unsafeBitCast(dlsym(dlopen(nil, RTLD_NOW), "pipe2"), to: Pipe2.self)
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { throw SpawnError(errno: errno) }
        return (ends[0], ends[1])
    }

    struct SpawnError: Error {
        var errno: Int32
    }
}
