import MPICore
import Testing

/// A test suite driving the public API against a `RecordingBackend`, as rank 1 of 3.
protocol RecordingFixture {
    var backend: RecordingBackend { get }
}

extension RecordingFixture {
    /// Rank 1 of a world of 3 on the recording backend.
    var world: Communicator {
        Communicator(backend: backend, handle: backend.worldHandle, rank: 1, size: 3, predefined: true)
    }

    /// Expects `body` to throw an `MPIError` of class `expected` whose message mentions `text`.
    func expectError(_ expected: MPIError.ErrorClass, mentioning text: String, _ body: () throws(MPIError) -> Void) {
        do {
            try body()
            Issue.record("expected an MPIError of class \(expected)")
        } catch {
            #expect(error.errorClass == expected, "\(error)")
            #expect(error.message.contains(text), "\(error.message) does not mention \(text)")
        }
    }
}
