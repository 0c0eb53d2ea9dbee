// mpi-scenarios: the multi-rank scenario suite.
//
//     mpi-scenarios [--list] [SCENARIO…]
//
//     mpi-scenarios --thread-level multiple [SCENARIO…]   # initialize at ThreadLevel.multiple
//
//     mpi-scenarios --fault NAME    # a program that breaks MPI's rules on purpose (Faults.swift)
//
// Run by every rank of a job (under `mpirun` or `swift-mpiexec`, at any size); with no names it
// runs every scenario, in catalog order, `after-finalize` always last because it ends MPI. Each
// rank prints `[rank] BEGIN name`, then `[rank] PASS name` or `[rank] SKIP name (reason)` on
// standard output; a failure prints `FAIL name rank r: what` on standard error and aborts the
// whole job with a non-zero code. `--list` prints the names without starting MPI.
import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let catalog: [Scenario] =
    pointToPointScenarios + nonblockingScenarios + errorScenarios + communicatorScenarios + environmentScenarios
    + matchedProbeScenarios + groupScenarios + asyncScenarios + topologyScenarios + collectiveScenarios + objectScenarios + datatypeScenarios + truncationScenarios + sendModeScenarios + persistentCollectiveScenarios + immediateSendReceiveScenarios
    + oneSidedScenarios + fileScenarios
    + [largeMessageScenario, afterFinalizeScenario]

var arguments = Array(CommandLine.arguments.dropFirst())
var threadLevel = ThreadLevel.single
if arguments.first == "--thread-level", arguments.count >= 2 {
    switch arguments[1] {
    case "single": threadLevel = .single
    case "funneled": threadLevel = .funneled
    case "serialized": threadLevel = .serialized
    case "multiple": threadLevel = .multiple
    default:
        emit("mpi-scenarios: unknown thread level \(arguments[1])", to: STDERR_FILENO)
        exit(2)
    }
    arguments.removeFirst(2)
}
if arguments.count == 2 && arguments[0] == "--fault" {
    guard let fault = faults[arguments[1]] else {
        emit("mpi-scenarios: unknown fault \(arguments[1]); faults: \(faults.keys.sorted().joined(separator: ", "))", to: STDERR_FILENO)
        exit(2)
    }
    do {
        try fault()
    } catch {
        emit("mpi-scenarios: \(error)", to: STDERR_FILENO)
        exit(1)
    }
}
if arguments == ["--list"] {
    for scenario in catalog { emit(scenario.name) }
    exit(0)
}

var selected = catalog
if !arguments.isEmpty {
    let unknown = arguments.filter { name in !catalog.contains { $0.name == name } }
    guard unknown.isEmpty else {
        emit("mpi-scenarios: unknown scenario \(unknown.joined(separator: ", ")); --list shows them", to: STDERR_FILENO)
        exit(2)
    }
    selected = arguments.map { name in catalog.first { $0.name == name }! }
}
// Finalizing ends every MPI call, so the scenario that finalizes runs after all the others.
selected = selected.filter { $0.name != afterFinalizeScenario.name }
    + selected.filter { $0.name == afterFinalizeScenario.name }

let context: Context
do {
    try Environment.initialize(threadLevel: threadLevel)
    context = Context(world: try Communicator.world)
} catch {
    emit("FAIL initialize rank ?: \(error)", to: STDERR_FILENO)
    exit(1)
}

for scenario in selected {
    let rank = context.rank
    emit("[\(rank)] BEGIN \(scenario.name)")
    do {
        let outcome = try await scenario.run(context)
        // Every rank finishes a scenario before any starts the next, so a failure is reported
        // under the scenario that caused it.
        if !Environment.isFinalized { try context.world.barrier() }
        switch outcome {
        case .passed: emit("[\(rank)] PASS \(scenario.name)")
        case .skipped(let reason): emit("[\(rank)] SKIP \(scenario.name) (\(reason))")
        }
    } catch {
        emit("FAIL \(scenario.name) rank \(rank): \(error)", to: STDERR_FILENO)
        Environment.abort(errorCode: 1)
    }
}

do {
    try Environment.finalize()
} catch {
    emit("FAIL finalize rank \(context.rank): \(error)", to: STDERR_FILENO)
    exit(1)
}
