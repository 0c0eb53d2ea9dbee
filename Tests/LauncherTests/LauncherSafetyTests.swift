import Glibc
import MPISharedMemory
import Testing

/// Issue 18, "nothing hangs, nothing corrupts": ranks die with their launcher, live segments
/// survive sweeps, impossible sizes are usage errors, a process the launcher did not start
/// cannot join, backends that contradict the launcher are refused, mpiexec's options work, and
/// a rank that leaves without finalizing fails the job.
extension LauncherTests {
    static let ring = LauncherProcess.product("ring")

    /// A pid that certainly belonged to a process now dead: one started and reaped here.
    static func deadPid() throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        try #require(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return pid
    }

    // MARK: Ranks die with the launcher

    /// Starts the launcher, waits until the job has printed `ready` and has `processes`
    /// processes, SIGKILLs the launcher and checks that everything of the job is gone within a
    /// second. Every process of the job holds the output pipes, so their end of file says when.
    private func expectJobDiesWithASIGKILLedLauncher(
        _ arguments: [String], ready: String, processes: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let launcher = try LauncherProcess(arguments)
        #expect(launcher.readStdout { $0 == ready }, sourceLocation: sourceLocation)
        // A child caught inside its execve shows an empty /proc/<pid>/environ for a moment:
        // look again until the count is reached (or 2 s have gone by).
        let deadline = ContinuousClock.now + .seconds(2)
        var started = LauncherProcess.processes(startedBy: launcher.pid).count
        while started < processes, ContinuousClock.now < deadline {
            sched_yield()
            started = LauncherProcess.processes(startedBy: launcher.pid).count
        }
        #expect(started == processes, sourceLocation: sourceLocation)
        let killed = ContinuousClock.now
        launcher.send(signal: SIGKILL)
        let result = launcher.finish(within: .seconds(5))
        let gone = killed.duration(to: .now)
        // A SIGKILLed launcher cannot unlink its segment; the next launch would.
        for name in launcher.remainingSegments { unlink("/dev/shm/\(name)") }
        #expect(!result.overran, "the job outlived its launcher", sourceLocation: sourceLocation)
        #expect(result.signal == SIGKILL, sourceLocation: sourceLocation)
        #expect(LauncherProcess.processes(startedBy: launcher.pid) == [], sourceLocation: sourceLocation)
        #expect(gone < .seconds(1), sourceLocation: sourceLocation)
    }

    @Test func ranksDieWithASIGKILLedLauncher() throws {
        // The ranks compute (a shell loop of builtins): nothing but the kernel can end them once
        // the launcher is gone.
        try expectJobDiesWithASIGKILLedLauncher(
            ["-n", "2", "/bin/sh", "-c", "echo ready; while :; do :; done"], ready: "ready\nready\n", processes: 2)
    }

    @Test func whatTheRanksStartedDiesWithASIGKILLedLauncher() throws {
        // The shell (the rank) waits for a child of its own, which has no parent-death signal:
        // the launcher's guardian ends it through the process group.
        try expectJobDiesWithASIGKILLedLauncher(
            ["-n", "1", "/bin/sh", "-c", "sleep 100 & echo ready; wait"], ready: "ready\n", processes: 2)
    }

    // MARK: The sweep goes by the lock

    /// Creates an empty file `/dev/shm/<name>` and returns it open, locked when `locked`, as a
    /// launcher holds its segment.
    static func segmentFile(_ name: String, locked: Bool) throws -> Int32 {
        let descriptor = open("/dev/shm/\(name)", O_CREAT | O_EXCL | O_RDWR, 0o600)
        try #require(descriptor >= 0)
        if locked { try #require(flock(descriptor, LOCK_EX) == 0) }
        return descriptor
    }

    @Test func theSweepKeepsLockedSegmentsAndRemovesUnlockedOnesWhateverTheirPid() throws {
        // A live job of another PID namespace: its launcher's pid means nothing here, but it
        // holds the lock. (The pid is one no process can have rather than a dead one: launchers
        // older than the lock, of other checkouts running meanwhile, delete names with dead
        // pids. JobSegmentSafetyTests checks a dead pid directly.)
        let live = "\(JobSegment.namePrefix)99999999999-0123456789abcdef0123456789abcdef"
        let liveFD = try Self.segmentFile(live, locked: true)
        defer { unlink("/dev/shm/\(live)"); close(liveFD) }
        // A dead job whose name carries a live pid (this process's): nobody holds its lock.
        let stale = "\(JobSegment.namePrefix)\(getpid())-fedcba9876543210fedcba9876543210"
        close(try Self.segmentFile(stale, locked: false))
        defer { unlink("/dev/shm/\(stale)") }

        let result = try run(["-n", "1", "/bin/true"])
        #expect(result.exitCode == 0)
        let names = LauncherProcess.sharedMemoryNames()
        #expect(names.contains(live))
        #expect(!names.contains(stale))
    }

    // MARK: Impossible sizes

    @Test func impossibleSizesAreUsageErrors() throws {
        let cases: [(arguments: [String], environment: [String], message: String)] = [
            (["-n", "5000000000", "/bin/true"], [], "would need a segment of more than"),
            (["-n", "2", "--ring-bytes", "4611686018427387904", "/bin/true"], [], "would need a segment of more than"),
            (["-n", "1", "--timeout", "1e300", "/bin/true"], [], "up to 1e9"),
            (["-n", "1", "/bin/true"], ["MPIEXEC_TIMEOUT=soon"], "MPIEXEC_TIMEOUT must be a number"),
            (["-n", "1", "/bin/true"], ["MPIEXEC_TIMEOUT=-1"], "must be a positive number"),
            (["-n", "1", "/bin/true"], ["MPIEXEC_TIMEOUT=0"], "must be a positive number"),
        ]
        for (arguments, environment, message) in cases {
            let result = try run(arguments, environment: environment)
            #expect(result.exitCode == 64, "\(arguments) \(environment): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    // MARK: Only the launcher's ranks join

    @Test func aProcessWithTheWrongSecretCannotTakeARanksSlot() throws {
        let good = try run(["-n", "2", Self.ring])
        #expect(good.exitCode == 0, "\(good.stderr)")

        // Rank 1 is replaced by a process with the job's variables but not the rank's secret.
        let script = #"[ "$SWIFTMPI_RANK" = 1 ] && export SWIFTMPI_SECRET=00000000000000000000000000000000; exec "$0""#
        let result = try run(["-n", "2", "/bin/sh", "-c", script, Self.ring])
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains("rank 1 of job segment"))
        #expect(result.stderr.contains("is not the secret swift-mpiexec gave that rank"))
        #expect(result.elapsed < .seconds(10))
    }

    // MARK: Backends that contradict the launcher

    @Test func openMPIRequestedUnderSwiftMPIExecIsRefused() throws {
        let result = try run(["-n", "2", Self.ring], environment: ["SWIFTMPI_BACKEND=openmpi"])
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains("started by swift-mpiexec as one of 2 ranks"))
        #expect(result.stderr.contains("SWIFTMPI_BACKEND=openmpi asks for the Open MPI backend"))
    }

    @Test func sharedMemoryRequestedUnderMpirunIsRefused() throws {
        // What mpirun -n 2 gives each process, without running mpirun.
        let process = try LauncherProcess([], program: Self.ring, environment: [
            "SWIFTMPI_BACKEND=shm", "OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_RANK=1", "PMIX_RANK=1",
        ])
        let result = process.finish()
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains("started by mpirun (Open MPI: OMPI_COMM_WORLD_SIZE=2) as one of 2 processes"))
        #expect(result.stderr.contains("SWIFTMPI_BACKEND=shm asks for the shared-memory backend"))
        #expect(!result.stdout.contains("token came back"))

        // A job of one is a world of one whichever backend runs it.
        let single = try LauncherProcess([], program: Self.ring, environment: [
            "SWIFTMPI_BACKEND=shm", "OMPI_COMM_WORLD_SIZE=1", "OMPI_COMM_WORLD_RANK=0",
        ])
        #expect(single.finish().exitCode == 0)
    }

    // MARK: mpiexec's options

    @Test func mpiexecRankCountAndEnvironmentOptions() throws {
        let np = try run(["-np", "2", "/bin/sh", "-c", #"echo "$SWIFTMPI_RANK""#])
        #expect(np.exitCode == 0)
        #expect(Set(np.stdout.split(separator: "\n")) == ["0", "1"])

        let exported = try run(
            ["-n", "1", "-x", "SWIFTMPI_TEST_SET=value", "-x", "SWIFTMPI_TEST_KEPT", "-x", "SWIFTMPI_TEST_REPLACED=new",
             "/bin/sh", "-c", #"echo "$SWIFTMPI_TEST_SET $SWIFTMPI_TEST_KEPT $SWIFTMPI_TEST_REPLACED""#],
            environment: ["SWIFTMPI_TEST_KEPT=kept", "SWIFTMPI_TEST_REPLACED=old"])
        #expect(exported.exitCode == 0)
        #expect(exported.stdout == "value kept new\n")

        let reserved = try run(["-n", "1", "-x", "SWIFTMPI_RANK=3", "/bin/true"])
        #expect(reserved.exitCode == 64)
        #expect(reserved.stderr.contains("-x cannot set SWIFTMPI_RANK"))

        let timeout = try run(["-n", "1", "sleep", "100"], environment: ["MPIEXEC_TIMEOUT=1"])
        #expect(timeout.exitCode == 124)
        #expect(timeout.elapsed < .seconds(3))
        #expect(timeout.stderr.contains("timed out after 1 s (--timeout or MPIEXEC_TIMEOUT)"))
        let emptyTimeout = try run(["-n", "1", "/bin/true"], environment: ["MPIEXEC_TIMEOUT="])
        #expect(emptyTimeout.exitCode == 0, "an empty MPIEXEC_TIMEOUT means none: \(emptyTimeout.stderr)")

        let oversubscribed = try run(["--oversubscribe", "-n", "3", "-oversubscribe", "/bin/true"])
        #expect(oversubscribed.exitCode == 0)
    }

    @Test func mpiexecDirectoryAndBindingOptions() throws {
        let directory = try run(["-n", "1", "--wdir", "/tmp", "pwd"])
        #expect(directory.exitCode == 0)
        #expect(directory.stdout == "/tmp\n")
        let singleDash = try run(["-n", "1", "-wdir", "/", "pwd"])
        #expect(singleDash.stdout == "/\n")
        let missing = try run(["-n", "1", "--wdir", "/nonexistent/directory", "pwd"])
        #expect(missing.exitCode == 64)
        #expect(missing.stderr.contains("is not a directory"))

        let bound = try run(["-n", "2", "--bind-to", "core", "--report-bindings", "/bin/true"])
        #expect(bound.exitCode == 0)
        let lines = bound.stderr.split(separator: "\n")
        #expect(lines.count == 2)
        for rank in 0..<2 {
            #expect(lines.contains { $0.hasPrefix("swift-mpiexec: rank \(rank) (pid ") && $0.contains(") bound to CPU ") })
        }
        let unbound = try run(["-n", "1", "--bind-to", "none", "-report-bindings", "/bin/true"])
        #expect(unbound.stderr.hasPrefix("swift-mpiexec: rank 0 (pid "))
        #expect(unbound.stderr.contains(") not bound: runs on any of CPUs "))
    }

    @Test func mpmdPartsAreNumberedConsecutively() throws {
        let result = try run([
            "--tag-output", "-n", "1", "/bin/sh", "-c", #"echo "first $SWIFTMPI_RANK/$SWIFTMPI_SIZE $PART""#,
            ":", "-np", "2", "-x", "PART=two", "/bin/sh", "-c", #"echo "second $SWIFTMPI_RANK/$SWIFTMPI_SIZE $PART""#,
            ":", "-n", "1", "--wdir", "/", "/bin/sh", "-c", #"echo "third $SWIFTMPI_RANK/$SWIFTMPI_SIZE $PWD""#,
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(Set(result.stdout.split(separator: "\n")) == [
            "[0] first 0/4 ", "[1] second 1/4 two", "[2] second 2/4 two", "[3] third 3/4 /",
        ])

        let badPart = try run(["-n", "1", "/bin/true", ":", "/bin/true"])
        #expect(badPart.exitCode == 64)
        #expect(badPart.stderr.contains("after ':'"))
    }

    @Test func hostOptionsPointToMpirun() throws {
        for arguments in [
            ["--host", "a,b", "-n", "2", "/bin/true"], ["-n", "2", "-host", "a", "/bin/true"],
            ["-n", "2", "--hostfile", "hosts", "/bin/true"], ["-n", "2", "-H", "a,b", "/bin/true"],
            ["-n", "1", "/bin/true", ":", "-n", "1", "--host", "b", "/bin/true"],
        ] {
            let result = try run(arguments)
            #expect(result.exitCode == 64, "\(arguments)")
            #expect(result.stderr.contains("use mpirun"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func helpDescribesTheMpiexecOptions() throws {
        let result = try run(["--help"])
        #expect(result.exitCode == 0)
        for text in ["-n, -np, --ranks", "-x <VAR[=value]>", "--wdir", "--report-bindings", "--oversubscribe",
                     "MPIEXEC_TIMEOUT", "separate them with ':'", "--hostfile", "SWIFTMPI_SECRET"] {
            #expect(result.stdout.contains(text), "--help lacks \(text)")
        }
    }

    // MARK: Leaving without finalizing

    /// Plays rank 0's swift-mpi part in a job whose ranks print `rank segment secret`: claims
    /// the slot with the rank's secret and leaves it in `state`, as the rank's library would.
    private func playRankZero(of launcher: LauncherProcess, ranks: Int, state: JobSegment.RankState) throws {
        try #require(launcher.readStdout { $0.split(separator: "\n").count == ranks && $0.hasSuffix("\n") })
        let fields = try #require(launcher.stdoutText.split(separator: "\n").map { $0.split(separator: " ") }.first { $0.first == "0" })
        try #require(fields.count == 3)
        let segment = try JobSegment(attaching: String(fields[1]), expectRanks: ranks)
        defer { segment.detach() }
        try segment.claim(rank: 0, secret: String(fields[2]))
        segment.slotState(0).pointee.store(state.rawValue, ordering: .releasing)
    }

    @Test func aRankThatExitsWithoutFinalizingFailsTheJob() throws {
        // Rank 0 initializes (the test does it for the shell) and exits 0 without finalizing.
        let script = #"echo "$SWIFTMPI_RANK $SWIFTMPI_SEGMENT $SWIFTMPI_SECRET"; [ "$SWIFTMPI_RANK" = 0 ] && { read line; exit 0; }; sleep 100"#
        let launcher = try LauncherProcess(["-n", "2", "/bin/sh", "-c", script])
        try playRankZero(of: launcher, ranks: 2, state: .attached)
        launcher.writeStdin("go\n")
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result)
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("rank 0 (pid "))
        #expect(result.stderr.contains("exited with code 0 without finalizing MPI"))
        #expect(result.elapsed < .seconds(5))
    }

    @Test func aRankThatFinalizedMayExitZero() throws {
        let script = #"echo "$SWIFTMPI_RANK $SWIFTMPI_SEGMENT $SWIFTMPI_SECRET"; read line; exit 0"#
        let launcher = try LauncherProcess(["-n", "1", "/bin/sh", "-c", script])
        try playRankZero(of: launcher, ranks: 1, state: .finalized)
        launcher.writeStdin("go\n")
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result)
        #expect(result.exitCode == 0)
        #expect(result.stderr == "")
    }
}
