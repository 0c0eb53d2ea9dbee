import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Faulty programs, run by the launcher tests and scripts/adversarial.sh with
// `mpi-scenarios --fault NAME` (each rank of a job runs the same one). Unlike the scenarios they
// break MPI's rules on purpose; what they check is that the job ends, promptly and saying why.

/// The programs `--fault` runs, by name.
let faults: [String: @Sendable () throws -> Never] = [
    // Rank 1 dies in one of four ways while the others wait for it in a barrier; the job must
    // end within 2 s with a non-zero status, no process left and no file in /dev/shm.
    "kill-rank": { try rankOneFails { raise(SIGKILL) } },
    "trap-rank": { try rankOneFails { fatalError("mpi-scenarios: rank 1 traps on purpose") } },
    "abort-rank": { try rankOneFails { Environment.abort(errorCode: 3) } },
    "vanish-rank": { try rankOneFails { _exit(0) } },

    // Ranks 1… finalize at once and exit 0; rank 0 then waits on them in every way and must get
    // MPIError(.processFailed) naming them within 2 s each — after first receiving the message
    // rank 1 sent before finalizing. Shared memory only: Open MPI's finalize waits for rank 0.
    "finalized-peer": {
        try Environment.initialize()
        let world = try Communicator.world
        guard world.size >= 2 else { finish("SKIP finalized-peer (needs 2 ranks)") }
        if world.rank != 0 {
            if world.rank == 1 { try world.send(42, to: 0, tag: 1) }
            try Environment.finalize()
            exit(0)
        }
        let early = try world.receive(Int.self, from: 1, tag: 1)
        guard early == 42 else { finish("FAIL finalized-peer: the message sent before finalize arrived as \(early)", code: 1) }
        func hopeless(_ what: String, names: String, _ body: () throws -> Void) {
            let start = ContinuousClock.now
            do {
                try body()
                finish("FAIL finalized-peer: \(what) succeeded", code: 1)
            } catch let error as MPIError where error.errorClass == .processFailed {
                let took = start.duration(to: .now)
                guard took < .seconds(2) else { finish("FAIL finalized-peer: \(what) took \(took) to fail", code: 1) }
                guard error.message.contains(names) else {
                    finish("FAIL finalized-peer: \(what): the error does not name \(names): \(error.message)", code: 1)
                }
                emit("[0] \(what): \(error.message)")
            } catch {
                finish("FAIL finalized-peer: \(what) threw \(error)", code: 1)
            }
        }
        hopeless("receive from rank 1", names: "rank 1") { _ = try world.receive(Int.self, from: 1, tag: 5) }
        hopeless("receive from any source", names: "(\((1..<world.size).map(String.init).joined(separator: ", ")))") {
            _ = try world.receive(Int.self, from: Communicator.anySource, tag: 5)
        }
        hopeless("synchronous send to rank 1", names: "rank 1") { try world.send(7, to: 1, tag: 5, mode: .synchronous) }
        hopeless("large send to rank 1", names: "rank 1") { try world.send([UInt8](repeating: 1, count: 4 << 20), to: 1, tag: 5) }
        hopeless("probe of rank 1", names: "rank 1") { _ = try world.probe(from: 1, tag: 5) }
        hopeless("wait for an immediate receive", names: "rank 1") {
            let buffer = MessageBuffer<Int>(repeating: 0, count: 1)
            var request = try world.immediateReceive(into: buffer, from: 1, tag: 5)
            _ = try request.wait()
        }
        hopeless("barrier", names: "rank") { try world.barrier() }
        hopeless("all-reduce", names: "rank") { _ = try world.allReduce(1, op: .sum) }
        try Environment.finalize()
        finish("PASS finalized-peer")
    },

    // Rank 1 returns from the program without finalizing (the library finalizes it at exit)
    // while rank 0 waits for a message from it: the job must end, non-zero, within seconds.
    "exit-while-peer-waits": {
        try Environment.initialize()
        let world = try Communicator.world
        guard world.size >= 2 else { finish("SKIP exit-while-peer-waits (needs 2 ranks)") }
        switch world.rank {
        case 0:
            _ = try world.receive(Int.self, from: 1, tag: 5)
            finish("FAIL exit-while-peer-waits: the receive from rank 1 returned", code: 1)
        case 1:
            exit(0)
        default:
            try Environment.finalize()
            exit(0)
        }
    },

    // Every rank blocks for good: rank 0 on a receive from rank 1 (tag 7), rank 1 on a
    // synchronous send to rank 0 with another tag, rank 2 in a sleep outside MPI, the others in
    // a barrier. Only the launcher's timeout ends it; its report must say where each rank is stuck.
    "deadlock": {
        try Environment.initialize()
        let world = try Communicator.world
        guard world.size >= 2 else { finish("SKIP deadlock (needs 2 ranks)") }
        emit("[\(world.rank)] blocking")
        switch world.rank {
        case 0: _ = try world.receive(Int.self, from: 1, tag: 7)
        case 1: try world.send(9, to: 0, tag: 9, mode: .synchronous)
        case 2: sleep(1000)
        default: try world.barrier()
        }
        finish("FAIL deadlock: rank \(world.rank) was not stopped", code: 1)
    },
]

/// Rank 1 runs `failure` (which must not return normally) once every rank has initialized;
/// the others wait for it in a barrier.
func rankOneFails(_ failure: () -> Void) throws -> Never {
    try Environment.initialize()
    let world = try Communicator.world
    guard world.size >= 2 else { finish("SKIP (needs 2 ranks)") }
    try world.barrier()
    if world.rank == 1 { failure() }
    try world.barrier()
    finish("FAIL rank \(world.rank) passed a barrier rank 1 never entered", code: 1)
}

/// Prints `line` and ends this process with `code`.
func finish(_ line: String, code: Int32 = 0) -> Never {
    emit(line, to: code == 0 ? STDOUT_FILENO : STDERR_FILENO)
    exit(code)
}
