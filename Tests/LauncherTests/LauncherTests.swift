import Glibc
import MPISharedMemory
import Testing

/// End-to-end tests of `swift-mpiexec`, running shell scripts as ranks.
///
/// Serialized: each test measures how fast the launcher ends a job, which parallel runs on a
/// two-core machine would blur.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct LauncherTests {
    /// Runs the launcher to the end and checks what every run must leave: no segment, no process.
    func run(_ arguments: [String], environment: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws
        -> LauncherProcess.Result
    {
        let launcher = try LauncherProcess(arguments, environment: environment)
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result, sourceLocation: sourceLocation)
        return result
    }

    func expectCleanEnd(
        of launcher: LauncherProcess, _ result: LauncherProcess.Result,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!result.overran, "the launcher had to be killed; stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(launcher.remainingSegments == [], sourceLocation: sourceLocation)
        #expect(LauncherProcess.processes(startedBy: launcher.pid) == [], sourceLocation: sourceLocation)
    }

    @Test func everyRankSucceeding() throws {
        let script = """
            test -e "/dev/shm/$SWIFTMPI_SEGMENT" && present=yes || present=no
            echo "rank=$SWIFTMPI_RANK size=$SWIFTMPI_SIZE segment=$SWIFTMPI_SEGMENT launcher=$SWIFTMPI_LAUNCHER_PID present=$present"
            """
        let launcher = try LauncherProcess(["-n", "3", "/bin/sh", "-c", script])
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result)
        #expect(result.exitCode == 0)
        #expect(result.stderr == "")

        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        var ranksSeen: Set<String> = []
        for line in lines {
            let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").map { field in
                let parts = field.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            })
            ranksSeen.insert(fields["rank"] ?? "")
            #expect(fields["size"] == "3")
            #expect(fields["launcher"] == "\(launcher.pid)")
            #expect(fields["segment"]?.hasPrefix("\(JobSegment.namePrefix)\(launcher.pid)-") == true)
            #expect(fields["present"] == "yes")
        }
        #expect(ranksSeen == ["0", "1", "2"])
    }

    @Test func failingRankEndsTheJob() throws {
        let result = try run(["-n", "3", "/bin/sh", "-c", #"[ "$SWIFTMPI_RANK" = 1 ] && exit 3; sleep 100"#])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("rank 1 (pid "))
        #expect(result.stderr.contains("exited with code 3; ending the job"))
        #expect(result.elapsed < .seconds(3))
    }

    @Test func rankKilledBySignalEndsTheJob() throws {
        let result = try run(["-n", "3", "/bin/sh", "-c", #"[ "$SWIFTMPI_RANK" = 2 ] && kill -KILL $$; sleep 100"#])
        #expect(result.exitCode == 128 + SIGKILL)
        #expect(result.stderr.contains("rank 2 (pid "))
        #expect(result.stderr.contains("was killed by signal SIGKILL (9)"))
        #expect(result.elapsed < .seconds(3))
    }

    @Test func rankIgnoringSIGTERMIsKilledWithinTwoSeconds() throws {
        // Ignored signals survive exec, so `sleep` ignores SIGTERM too: only SIGKILL ends it.
        // Rank 0 fails only once rank 1 says it ignores SIGTERM, and the test relays the word.
        let script = #"trap "" TERM; [ "$SWIFTMPI_RANK" = 0 ] && { read line; exit 4; }; echo ready; sleep 100"#
        let launcher = try LauncherProcess(["-n", "2", "/bin/sh", "-c", script])
        #expect(launcher.readStdout { $0 == "ready\n" })
        let failed = ContinuousClock.now
        launcher.writeStdin("go\n")
        let result = launcher.finish()
        let ended = failed.duration(to: .now)
        expectCleanEnd(of: launcher, result)
        #expect(result.exitCode == 4)
        #expect(ended >= .milliseconds(900))
        #expect(ended < .seconds(2.5))
    }

    @Test func timeoutEndsTheJobWithStatus124() throws {
        let result = try run(["-n", "2", "--timeout", "1", "sleep", "100"])
        #expect(result.exitCode == 124)
        #expect(result.stderr.contains("timed out after 1 s"))
        #expect(result.elapsed >= .seconds(1))
        #expect(result.elapsed < .seconds(3))
    }

    @Test func tagOutputPrefixesEveryLine() throws {
        let script = #"echo "out $SWIFTMPI_RANK"; echo "second"; echo "err $SWIFTMPI_RANK" >&2; printf "partial""#
        let result = try run(["-n", "2", "--tag-output", "/bin/sh", "-c", script])
        #expect(result.exitCode == 0)
        let out = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let err = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        for rank in 0..<2 {
            #expect(out.contains("[\(rank)] out \(rank)"[...]))
            #expect(out.contains("[\(rank)] second"[...]))
            #expect(out.contains("[\(rank)] partial"[...]))
            #expect(err.contains("[\(rank)] err \(rank)"[...]))
        }
        #expect(out.filter { !$0.isEmpty }.count == 6)
        #expect(result.stdout.hasSuffix("\n"))
        #expect(err.filter { !$0.isEmpty }.count == 2)
    }

    @Test func abortWordDecidesTheStatus() throws {
        // Rank 0 exits 1 only when the test lets it, after the test has set the abort word: the
        // launcher must report the abort code, not the exit code.
        let script = #"echo "$SWIFTMPI_SEGMENT"; [ "$SWIFTMPI_RANK" = 0 ] && { read line; exit 1; }; sleep 100"#
        let launcher = try LauncherProcess(["-n", "2", "/bin/sh", "-c", script])
        try abortJob(of: launcher, ranks: 2, code: 7)
        launcher.writeStdin("go\n")
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result)
        #expect(result.exitCode == 7)
        #expect(result.stderr.contains("rank aborted the job with code 7"))
    }

    @Test func abortWordIsCheckedWhenTheLauncherIsSignalled() throws {
        let launcher = try LauncherProcess(["-n", "2", "/bin/sh", "-c", #"echo "$SWIFTMPI_SEGMENT"; sleep 100"#])
        try abortJob(of: launcher, ranks: 2, code: 9)
        launcher.send(signal: SIGTERM)
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result)
        #expect(result.exitCode == 9)
        #expect(result.stderr.contains("rank aborted the job with code 9"))
    }

    /// Sets the abort word of the job, as `Environment.abort` does in a rank, once every rank
    /// has printed the segment name.
    func abortJob(of launcher: LauncherProcess, ranks: Int, code: Int) throws {
        try #require(launcher.readStdout { $0.hasSuffix("\n") && $0.split(separator: "\n").count == ranks })
        let name = try #require(launcher.stdoutText.split(separator: "\n").first.map(String.init))
        let segment = try JobSegment(attaching: name, expectRanks: ranks)
        segment.markAborted(code: code)
        segment.detach()
    }

    @Test func sigtermToTheLauncherEndsTheRanks() throws {
        let launcher = try LauncherProcess(["-n", "2", "/bin/sh", "-c", "echo ready; sleep 100"])
        #expect(launcher.readStdout { $0.hasSuffix("\n") && $0.split(separator: "\n").count == 2 })
        #expect(launcher.remainingSegments.count == 1)
        let signalled = ContinuousClock.now
        launcher.send(signal: SIGTERM)
        let result = launcher.finish()
        expectCleanEnd(of: launcher, result)
        #expect(result.signal == SIGTERM)
        #expect(result.stderr.contains("received SIGTERM"))
        #expect(signalled.duration(to: .now) < .seconds(3))
    }

    @Test func staleSegmentIsRemovedByTheNextLaunch() throws {
        let pid = try Self.deadPid()
        let name = "\(JobSegment.namePrefix)\(pid)-deadbeefdeadbeefdeadbeefdeadbeef"
        close(try Self.segmentFile(name, locked: false))
        defer { unlink("/dev/shm/\(name)") }

        let result = try run(["-n", "1", "/bin/true"])
        #expect(result.exitCode == 0)
        #expect(!LauncherProcess.sharedMemoryNames().contains(name))
    }

    @Test func usageErrors() throws {
        let noRanks = try run(["-n", "0", "/bin/true"])
        #expect(noRanks.exitCode == 64)
        #expect(noRanks.stderr.contains("-n must be at least 1"))

        let noProgram = try run(["-n", "2"])
        #expect(noProgram.exitCode == 64)
        #expect(noProgram.stderr.contains("Missing the program"))

        let badRing = try run(["-n", "2", "--ring-bytes", "1000", "/bin/true"])
        #expect(badRing.exitCode == 64)

        let missing = try run(["-n", "2", "/nonexistent/program"])
        #expect(missing.exitCode == 127)
        #expect(missing.stderr.contains("cannot start rank 0 as '/nonexistent/program'"))
    }

    @Test func argumentsAfterTheProgramBelongToIt() throws {
        let result = try run(["-n", "2", "--", "/bin/sh", "-c", #"printf '%s\n' "$1""#, "sh", "-n"])
        #expect(result.exitCode == 0)
        #expect(result.stdout == "-n\n-n\n")
    }
}
