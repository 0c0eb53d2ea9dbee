import MPICore
import Testing

@Suite("MPIError")
struct MPIErrorTests {
    @Test func descriptionNamesClassAndMessage() {
        let error = MPIError(.truncate, code: 15, "message of 40 bytes does not fit 16")
        #expect(error.description == "MPIError(truncate): message of 40 bytes does not fit 16")
        #expect(error.code == 15)
    }

    @Test func codeDefaultsToTheClassValue() {
        #expect(MPIError(.rank, "bad rank").code == MPIError.ErrorClass.rank.rawValue)
        #expect(MPIError(.finalized, "after finalize").code == 1002)
    }

    @Test func classDescriptions() {
        let expected: [(MPIError.ErrorClass, String)] = [
            (.buffer, "buffer"), (.count, "count"), (.type, "type"), (.tag, "tag"),
            (.communicator, "communicator"), (.rank, "rank"), (.truncate, "truncate"), (.other, "other"),
            (.intern, "internal"), (.unsupported, "unsupported"), (.notInitialized, "not initialized"),
            (.finalized, "finalized"), (.processFailed, "process failed"), (.segment, "segment"),
            (MPIError.ErrorClass(rawValue: 77), "class 77"),
        ]
        for (errorClass, text) in expected { #expect(errorClass.description == text) }
    }
}
