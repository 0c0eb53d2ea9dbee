import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One multi-rank scenario: written once against the public API, run by every rank of a job at
/// any size, asserting on every rank.
struct Scenario: Sendable {
    let name: String
    let run: @Sendable (Context) async throws -> Outcome

    init(_ name: String, run: @escaping @Sendable (Context) throws -> Outcome) {
        self.name = name
        self.run = { try run($0) }
    }

    /// A scenario whose body awaits.
    init(async name: String, run: @escaping @Sendable (Context) async throws -> Outcome) {
        self.name = name
        self.run = run
    }
}

/// How a scenario ended on this rank (a failure throws instead).
enum Outcome {
    case passed
    /// The scenario means nothing at this job size; the reason says why.
    case skipped(String)
}

/// A failed expectation, reported as `FAIL <scenario> rank <r>: <what>`.
struct ScenarioFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What every scenario starts from: the world and this rank's neighbours on the ring.
struct Context: Sendable {
    let world: Communicator
    var rank: Int { world.rank }
    var size: Int { world.size }
    var next: Int { (rank + 1) % size }
    var previous: Int { (rank + size - 1) % size }

    /// Runs the two halves of a ring step in an order that cannot deadlock at any size: even
    /// ranks send first, odd ranks receive first. (A rank alone on the ring sends to itself
    /// first, which needs the small message to be buffered, as every MPI library does.)
    func ringStep(send: () throws -> Void, receive: () throws -> Void) throws {
        if rank % 2 == 0 {
            try send()
            try receive()
        } else {
            try receive()
            try send()
        }
    }
}

/// Fails the scenario with `what` unless `condition` holds.
func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws(ScenarioFailure) {
    if !condition { throw ScenarioFailure(what()) }
}

/// Runs `body`, which must throw an `MPIError` of class `expected`; returns that error.
@discardableResult
func expectError(
    _ expected: MPIError.ErrorClass, _ what: String, _ body: () throws -> Void
) throws(ScenarioFailure) -> MPIError {
    do {
        try body()
    } catch {
        guard let error = error as? MPIError, error.errorClass == expected else {
            throw ScenarioFailure("\(what): expected an MPIError of class \(expected), got \(error)")
        }
        return error
    }
    throw ScenarioFailure("\(what): expected an MPIError of class \(expected), but the call succeeded")
}

/// Whether two arrays hold the same bytes (so NaN equals the same NaN and -0.0 differs from 0.0).
func sameBits<T: BitwiseCopyable>(_ a: [T], _ b: [T]) -> Bool {
    a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
}

/// An array of `count` elements whose bytes are all `0xA5`, so a receive that writes nothing
/// (or too little) is visible.
func poisoned<T: BitwiseCopyable>(_ type: T.Type, count: Int) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0xA5)
        initialized = count
    }
}

/// Writes one line to `fd` in a single `write`, so lines of different ranks never interleave
/// and nothing is lost in a buffer when the job is aborted.
func emit(_ line: String, to fd: Int32 = STDOUT_FILENO) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
