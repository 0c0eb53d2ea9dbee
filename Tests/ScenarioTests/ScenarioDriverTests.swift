// Runs the `mpi-scenarios` suite under each launcher at several job sizes and turns what the
// ranks print into a verdict: every rank must print PASS (or SKIP) for every scenario and the
// launcher must exit 0. A failure names the scenario and rank from the FAIL lines; a hang (the
// launch outlives its timeout) names, per rank, the last scenario it began and never finished.
//
// Environment:
//   SWIFTMPI_TEST_BACKENDS   comma-separated subset of `openmpi,shm` to run (default: both)
//   SWIFTMPI_TEST_TIMEOUT    seconds one launch may take (default 300)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// Every multi-rank job of the test suite, run one at a time: two jobs at once would share the
/// machine's cores and turn spinning waits into timeouts.
@Suite(.serialized) struct MultiRankJobs {}

extension MultiRankJobs {
@Suite("Scenarios under each launcher")
struct ScenarioDriverTests {
    #if OpenMPI
    @Test(
        "mpirun -n N --oversubscribe mpi-scenarios",
        .enabled(if: Launch.selected("openmpi"), "SWIFTMPI_TEST_BACKENDS excludes openmpi"),
        .enabled(if: Launch.onPath("mpirun") != nil, "mpirun is not on PATH"),
        arguments: [1, 2, 3, 4, 8]
    )
    func openMPI(ranks: Int) throws {
        try Launch(launcher: .openMPI, ranks: ranks).runAndCheck()
    }

    @Test(
        "mpirun -n N mpi-scenarios --thread-level multiple",
        .enabled(if: Launch.selected("openmpi"), "SWIFTMPI_TEST_BACKENDS excludes openmpi"),
        .enabled(if: Launch.onPath("mpirun") != nil, "mpirun is not on PATH"),
        arguments: [1, 3, 4]
    )
    func openMPIThreadMultiple(ranks: Int) throws {
        try Launch(launcher: .openMPI, ranks: ranks, options: ["--thread-level", "multiple"]).runAndCheck()
    }

    /// The checked mode: every collective compares its arguments across ranks first, so
    /// `collective-mismatch` runs on Open MPI too and every other scenario must still pass.
    @Test(
        "SWIFTMPI_CHECK=collectives mpirun -n N mpi-scenarios",
        .enabled(if: Launch.selected("openmpi"), "SWIFTMPI_TEST_BACKENDS excludes openmpi"),
        .enabled(if: Launch.onPath("mpirun") != nil, "mpirun is not on PATH"),
        arguments: [2, 3]
    )
    func openMPICheckedCollectives(ranks: Int) throws {
        try Launch(launcher: .openMPI, ranks: ranks, environment: ["SWIFTMPI_CHECK": "collectives"]).runAndCheck()
    }
    #endif

    @Test(
        "swift-mpiexec -n N mpi-scenarios",
        .enabled(if: Launch.selected("shm"), "SWIFTMPI_TEST_BACKENDS excludes shm"),
        arguments: [1, 2, 3, 4, 8]
    )
    func sharedMemory(ranks: Int) throws {
        try Launch(launcher: .sharedMemory, ranks: ranks).runAndCheck()
    }

    @Test(
        "swift-mpiexec -n N mpi-scenarios --thread-level multiple",
        .enabled(if: Launch.selected("shm"), "SWIFTMPI_TEST_BACKENDS excludes shm"),
        arguments: [1, 3, 4, 8]
    )
    func sharedMemoryThreadMultiple(ranks: Int) throws {
        try Launch(launcher: .sharedMemory, ranks: ranks, options: ["--thread-level", "multiple"]).runAndCheck()
    }

    /// With single copy forced above 16 KiB (whatever the launcher's calibration would choose on
    /// this machine), so both large-message protocols are always tested.
    @Test(
        "SWIFTMPI_CMA=1 swift-mpiexec -n N mpi-scenarios",
        .enabled(if: Launch.selected("shm"), "SWIFTMPI_TEST_BACKENDS excludes shm"),
        arguments: [2, 3]
    )
    func sharedMemoryWithSingleCopy(ranks: Int) throws {
        try Launch(launcher: .sharedMemory, ranks: ranks, environment: ["SWIFTMPI_CMA": "1"]).runAndCheck()
    }

    /// Without cross-memory attach every message, however large, goes through the rings.
    @Test(
        "SWIFTMPI_CMA=0 swift-mpiexec -n N mpi-scenarios",
        .enabled(if: Launch.selected("shm"), "SWIFTMPI_TEST_BACKENDS excludes shm"),
        arguments: [2, 3]
    )
    func sharedMemoryWithoutCrossMemoryAttach(ranks: Int) throws {
        try Launch(launcher: .sharedMemory, ranks: ranks, environment: ["SWIFTMPI_CMA": "0"]).runAndCheck()
    }
}
}

/// One launch of the whole scenario suite: a launcher and a job size.
struct Launch {
    enum Launcher: String {
        case openMPI = "mpirun"
        case sharedMemory = "swift-mpiexec"
    }

    let launcher: Launcher
    let ranks: Int
    /// Arguments for mpi-scenarios before the scenario names (e.g. the thread level).
    var options: [String] = []
    /// Extra environment for the job.
    var environment: [String: String?] = [:]

    static var timeout: Double {
        getenv("SWIFTMPI_TEST_TIMEOUT").flatMap { Double(String(cString: $0)) } ?? 300
    }

    /// Whether `SWIFTMPI_TEST_BACKENDS` (when set) names `backend`.
    static func selected(_ backend: String) -> Bool {
        guard let value = getenv("SWIFTMPI_TEST_BACKENDS").map({ String(cString: $0) }), !value.isEmpty else { return true }
        return value.split(separator: ",").contains { $0.trimmingWhitespace() == backend }
    }

    /// The full path of `program` found on PATH.
    static func onPath(_ program: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The build products directory: where the test bundle runs from, next to the executables
    /// it depends on.
    static var productsDirectory: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        let executable = length > 0
            ? String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : CommandLine.arguments[0]
        guard let slash = executable.lastIndex(of: "/") else { return "." }
        return String(executable[..<slash])
    }

    /// The command and environment that run `program` (its path and arguments) as this launch's
    /// job, and the scratch directories to remove afterwards (`scratch.removeAll()`).
    func prepared(_ program: [String]) throws -> (command: [String], environment: [String: String?], scratch: ScratchDirectories) {
        let products = Launch.productsDirectory
        let command: [String]
        var environment: [String: String?]
        let scratch = ScratchDirectories()
        switch launcher {
        case .openMPI:
            command = ["mpirun", "-n", "\(ranks)", "--oversubscribe"] + program
            // Open MPI's shared-memory files and session directory go to directories of this
            // launch, removed afterwards: a job that aborts or is killed leaves them behind.
            let segments = try scratch.make(in: "/dev/shm")
            let session = try scratch.make(in: "/tmp")
            environment = [
                "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_pml": "ob1",
                "OMPI_MCA_btl_vader_backing_directory": segments, "OMPI_MCA_orte_tmpdir_base": session,
                "SWIFTMPI_BACKEND": "openmpi",
            ]
        case .sharedMemory:
            let launcherTimeout = max(1, Int(Launch.timeout) - 10)
            command = ["\(products)/swift-mpiexec", "-n", "\(ranks)", "--timeout", "\(launcherTimeout)", "--"] + program
            environment = ["SWIFTMPI_BACKEND": "shm", "OMPI_COMM_WORLD_SIZE": nil, "PMIX_RANK": nil]
        }
        environment.merge(self.environment) { _, extra in extra }
        return (command, environment, scratch)
    }

    func runAndCheck() throws {
        let products = Launch.productsDirectory
        let scenarios = "\(products)/mpi-scenarios"
        guard access(scenarios, X_OK) == 0 else {
            Issue.record("mpi-scenarios is not built at \(scenarios)")
            return
        }
        let listing = try Child.run([scenarios, "--list"], environment: [:], timeout: 60)
        let names = listing.output.split(separator: "\n").map(String.init)
        guard listing.termination == .exited(0), !names.isEmpty else {
            Issue.record("`mpi-scenarios --list` failed (\(listing.termination)): \(listing.output)")
            return
        }

        let (command, environment, scratch) = try prepared([scenarios] + options)
        defer { scratch.removeAll() }
        let result = try Child.run(command, environment: environment, timeout: Launch.timeout)
        let report = ScenarioReport(output: result.output, ranks: ranks, scenarios: names)
        let verdict = report.problems(termination: result.termination, timedOut: result.timedOut)
        if !verdict.isEmpty {
            let lines = result.output.split(separator: "\n")
            // What is not a progress line is what the ranks and the launcher said went wrong.
            let messages = lines.filter { $0.firstMatch(of: ScenarioReport.progress) == nil }.prefix(40)
            Issue.record(
                """
                \(command.joined(separator: " ")) failed:
                \(verdict.map { "  - \($0)" }.joined(separator: "\n"))
                other output (first \(messages.count) lines):
                \(messages.joined(separator: "\n"))
                last lines of output:
                \(lines.suffix(15).joined(separator: "\n"))
                """)
        }
    }
}

/// What the ranks printed, by rank: which scenarios began, passed or were skipped, and the
/// FAIL lines.
struct ScenarioReport {
    var begun: [Int: [String]] = [:]
    var finished: [Int: Set<String>] = [:]
    var failures: [String] = []
    let ranks: Int
    let scenarios: [String]

    nonisolated(unsafe) static let progress = /\[(\d+)\] (BEGIN|PASS|SKIP) (\S+)/
    nonisolated(unsafe) static let failure = /FAIL (\S+) rank (\S+): (.*)/

    init(output: String, ranks: Int, scenarios: [String]) {
        self.ranks = ranks
        self.scenarios = scenarios
        for line in output.split(separator: "\n") {
            if let match = line.firstMatch(of: ScenarioReport.failure) {
                failures.append("scenario \(match.1) failed on rank \(match.2): \(match.3)")
            } else if let match = line.firstMatch(of: ScenarioReport.progress), let rank = Int(match.1) {
                if match.2 == "BEGIN" {
                    begun[rank, default: []].append(String(match.3))
                } else {
                    finished[rank, default: []].insert(String(match.3))
                }
            }
        }
    }

    /// Everything wrong with the launch; empty when every rank finished every scenario and the
    /// launcher exited 0.
    func problems(termination: Child.Termination, timedOut: Bool) -> [String] {
        var problems: [String] = []
        if timedOut {
            problems.append("the launch did not finish within its timeout and was killed (hang)")
        } else if termination != .exited(0) {
            problems.append("the launcher \(termination)")
        }
        problems += failures
        if begun.isEmpty {
            problems.append("no rank began any scenario")
            return problems
        }
        for rank in 0..<ranks {
            let done = finished[rank] ?? []
            let missing = scenarios.filter { !done.contains($0) }
            guard !missing.isEmpty else { continue }
            if let stuck = (begun[rank] ?? []).last(where: { !done.contains($0) }) {
                problems.append("rank \(rank) began scenario \(stuck) and never finished it")
            } else {
                problems.append("rank \(rank) never began: \(missing.joined(separator: ", "))")
            }
        }
        return problems
    }
}

/// A child process in a process group of its own, its standard output and error captured
/// together in a temporary file.
enum Child {
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "was killed by signal \(signal)"
            }
        }
    }

    struct Result {
        var termination: Termination
        var timedOut: Bool
        var output: String
    }

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `command` (searched on PATH) with the current environment changed by `environment`
    /// (a nil value removes the variable). After `timeout` seconds the whole process group gets
    /// SIGTERM, then SIGKILL five seconds later.
    static func run(_ command: [String], environment: [String: String?], timeout: Double) throws -> Result {
        ScratchDirectories.sweepOnce()
        var template = Array("/tmp/\(ScratchDirectories.prefix)XXXXXX".utf8CString)
        let outputFile = mkstemp(&template)
        guard outputFile >= 0 else { throw SpawnError(description: "mkstemp: \(String(cString: strerror(errno)))") }
        flock(outputFile, LOCK_EX)  // in use: a sweep leaves it alone
        let outputPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer {
            close(outputFile)
            unlink(outputPath)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFile, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFile, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        for (name, value) in environment { variables[name] = value }

        let argv = command.map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, command[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw SpawnError(description: "cannot start \(command[0]): \(String(cString: strerror(spawned)))")
        }

        let start = now()
        var status: Int32 = 0
        var timedOut = false
        var killedAt: Double?
        // Launchers may put ranks in process groups of their own (mpirun does), so a hung job
        // is ended process by process: the launcher's group and every descendant.
        var job: [pid_t] = []
        while waitpid(pid, &status, WNOHANG) == 0 {
            let elapsed = now() - start
            if !timedOut && elapsed > timeout {
                timedOut = true
                killedAt = elapsed
                job = descendants(of: pid)
                kill(-pid, SIGTERM)
                for member in job { kill(member, SIGTERM) }
            } else if let killedAt, elapsed > killedAt + 5 {
                kill(-pid, SIGKILL)
                for member in job { kill(member, SIGKILL) }
            }
            usleep(20_000)
        }
        // Whatever the launcher left behind in its group goes with it.
        kill(-pid, SIGKILL)
        for member in job { kill(member, SIGKILL) }

        let termination: Termination =
            (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        return Result(termination: termination, timedOut: timedOut, output: readAll(outputPath))
    }

    /// Every process below `root` in the process tree, from the parent pids in /proc.
    private static func descendants(of root: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var children: [pid_t: [pid_t]] = [:]
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name) else { continue }
            // /proc/PID/stat: "pid (command) state ppid …"; the command may contain spaces.
            let stat = readAll("/proc/\(name)/stat")
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
        }
        var result: [pid_t] = []
        var pending = [root]
        while let next = pending.popLast() {
            let below = children[next] ?? []
            result += below
            pending += below
        }
        return result
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func readAll(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while result.first?.isWhitespace == true { result.removeFirst() }
        while result.last?.isWhitespace == true { result.removeLast() }
        return result
    }
}

/// Scratch files and directories of the test process (`swift-mpi-scenarios-*` in /dev/shm and
/// /tmp: Open MPI's backing files and session directories, captured output). Each is locked
/// (`flock` on an open descriptor) while in use, so a later run can tell what a killed run left
/// behind — unlocked, and older than a minute — from what a live run uses, and remove it, as the
/// launcher's sweep does with job segments.
final class ScratchDirectories {
    static let prefix = "swift-mpi-scenarios-"
    private var entries: [(path: String, lock: Int32)] = []

    /// A new, empty directory in `parent` (or in /tmp when `parent` is not writable), locked
    /// until ``removeAll()``.
    func make(in parent: String) throws -> String {
        ScratchDirectories.sweepOnce()
        for base in [parent, "/tmp"] {
            var template = Array("\(base)/\(ScratchDirectories.prefix)XXXXXX".utf8CString)
            if mkdtemp(&template) != nil {
                let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let lock = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if lock >= 0 { flock(lock, LOCK_EX) }
                entries.append((path, lock))
                return path
            }
        }
        throw Child.SpawnError(description: "mkdtemp in \(parent): \(String(cString: strerror(errno)))")
    }

    /// Removes every directory made here.
    func removeAll() {
        for entry in entries {
            ScratchDirectories.remove(entry.path)
            if entry.lock >= 0 { close(entry.lock) }
        }
        entries.removeAll()
    }

    /// Sweeps the leftovers of killed runs, once per test process.
    static func sweepOnce() { _ = swept }
    private static let swept: Void = {
        for base in ["/dev/shm", "/tmp"] { sweep(base) }
    }()

    private static func sweep(_ base: String) {
        guard let directory = opendir(base) else { return }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        closedir(directory)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        for name in names {
            let path = "\(base)/\(name)"
            var info = stat()
            // Young entries may be a live run's, made but not yet locked.
            guard stat(path, &info) == 0, now.tv_sec - info.st_mtim.tv_sec > 60 else { continue }
            let lock = open(path, O_RDONLY | O_CLOEXEC)
            guard lock >= 0 else { continue }
            defer { close(lock) }
            guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { continue }
            remove(path)
        }
    }

    /// Removes `path` and, for a directory, everything below it (not following links).
    static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            unlink(path)
            return
        }
        if let directory = opendir(path) {
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(directory)
            for name in names { remove("\(path)/\(name)") }
        }
        rmdir(path)
    }
}
