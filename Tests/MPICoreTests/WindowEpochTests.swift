@testable import MPICore
import Testing

/// The one-sided epoch rules the front end enforces for both backends (MPI-4.1 §12.5), checked
/// without a backend: which operations an epoch admits, which epochs may open together, and the
/// lock table's bookkeeping.
@Suite("One-sided epoch rules")
struct WindowEpochTests {
    @Test func operationsNeedAnEpochToTheirTarget() throws {
        var epochs = WindowEpochs(ranks: 4)
        #expect(throws: MPIError.self) { try epochs.checkOperation("put", target: 1) }
        epochs.access = [1, 2]
        try epochs.checkOperation("put", target: 2)
        #expect(throws: MPIError.self) { try epochs.checkOperation("put", target: 3) }
        // A request-based operation needs a passive-target epoch, which start does not give.
        #expect(throws: MPIError.self) { try epochs.checkOperation("immediatePut", target: 1, needsPassive: "test") }
        epochs.access = nil
        epochs.locks[3] = .shared
        try epochs.checkOperation("immediatePut", target: 3, needsPassive: "test")
        #expect(throws: MPIError.self) { try epochs.checkOperation("put", target: 0) }
    }

    @Test func aFenceEpochBeginsWithItsFirstOperation() throws {
        var epochs = WindowEpochs(ranks: 2)
        epochs.fence = true
        #expect(!epochs.busy)
        // An unused fence epoch gives way to a lock epoch…
        try epochs.checkOpening("lockAll")
        #expect(!epochs.fence)
        // …a used one does not.
        epochs.fence = true
        try epochs.checkOperation("put", target: 1)
        #expect(epochs.fenceOperations && epochs.busy)
        #expect(throws: MPIError.self) { try epochs.checkOpening("start") }
    }

    @Test func openEpochsAreNamedWithHowToCloseThem() {
        var epochs = WindowEpochs(ranks: 3)
        epochs.access = [1]
        epochs.locks[2] = .exclusive
        let text = epochs.openEpochs
        #expect(text.contains("complete()") && text.contains("unlock(rank: 2)") && text.contains("exclusive"))
        #expect(epochs.busy)
    }

    @Test func freedWindowsRefuseEverything() {
        var epochs = WindowEpochs(ranks: 1)
        epochs.freed = true
        #expect(throws: MPIError.self) { try epochs.checkOperation("get", target: 0) }
        #expect(throws: MPIError.self) { try epochs.checkOpening("lockAll") }
    }

    @Test func lockTableCountsItsLocks() {
        var table = LockTable(ranks: 5)
        #expect(table.isEmpty && table.targets.isEmpty)
        table[3] = .exclusive
        table[1] = .shared
        table[1] = .exclusive  // replacing a lock does not count it twice
        #expect(!table.isEmpty && table.targets == [1, 3] && table[1] == .exclusive && table[0] == nil)
        table[3] = nil
        table[1] = nil
        table[4] = nil  // removing an absent lock changes nothing
        #expect(table.isEmpty && table.targets.isEmpty)
    }
}
