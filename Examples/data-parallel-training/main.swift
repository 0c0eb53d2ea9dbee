// Synchronous data-parallel SGD for a two-layer MLP classifier on a generated dataset.
//
// Every rank holds the same parameters and trains on its own slice of each global batch; the
// gradient sums are added with one all-reduce per step, so the update, and therefore the
// parameters, are the same on every rank (checked bit for bit each epoch). Rank 0 also trains
// the same model alone on whole batches and checks that the final losses agree.
//
// With `--checkpoint PATH` every epoch ends with a checkpoint — parameters and the optimizer's
// momentum, each rank writing its shard with one collective write (MPI-IO) into PATH.partial,
// which rank 0 then renames over PATH, so a job killed while writing leaves the previous
// checkpoint whole. `--resume` starts from PATH's epoch; the run then ends with bitwise the same
// parameters and loss as one never stopped.
//
//     data-parallel-training [--epochs 4] [--batch-size 256] [--hidden 64] [--samples 16384]
//                            [--checkpoint PATH [--resume]] [--stop-after EPOCH]
//                            [--crash-in-checkpoint EPOCH]   (testing: a rank dies mid-write)
//     data-parallel-training --help
import ArgumentParser
import Foundation
import MPI

#if canImport(Glibc)
import Glibc
#endif

/// The command line, parsed on every rank before MPI starts.
struct DataParallelTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel-training",
        abstract: "Train a two-layer MLP classifier with synchronous data-parallel SGD on a generated dataset.",
        discussion: """
            Every rank trains on its slice of each global batch; the gradients are added with one \
            all-reduce per step, the parameters are checked bitwise identical on every rank each \
            epoch, and rank 0 checks the final loss against the same training on one rank. Run it \
            under a launcher, e.g. `swift-mpiexec -n 4 data-parallel-training`.

            With --checkpoint every epoch ends with a checkpoint of the parameters and the momentum, \
            written with one collective write (MPI-IO) into PATH.partial and renamed over PATH; \
            --resume continues from it and ends bitwise where an uninterrupted run ends.
            """)

    @Option(help: "Epochs to train.")
    var epochs = 4

    @Option(help: "Samples per global batch, split between the ranks.")
    var batchSize = 256

    @Option(help: "Width of the hidden layer.")
    var hidden = 64

    @Option(help: "Samples in the generated dataset.")
    var samples = 16384

    @Option(help: ArgumentHelp("Write a checkpoint to this file at the end of every epoch.", valueName: "path"))
    var checkpoint: String?

    @Flag(help: "Start from the epoch saved in the --checkpoint file.")
    var resume = false

    @Option(help: ArgumentHelp("Stop after this epoch (with its checkpoint written).", valueName: "epoch"))
    var stopAfter: Int?

    @Option(help: ArgumentHelp("Testing: the last rank kills itself in the middle of writing this epoch's checkpoint.", valueName: "epoch"))
    var crashInCheckpoint: Int?

    func validate() throws {
        for (name, value) in [("--epochs", epochs), ("--batch-size", batchSize), ("--hidden", hidden), ("--samples", samples),
            ("--stop-after", stopAfter ?? 1), ("--crash-in-checkpoint", crashInCheckpoint ?? 1)] where value <= 0 {
            throw ValidationError("\(name) needs a positive integer")
        }
        if checkpoint?.isEmpty == true { throw ValidationError("--checkpoint needs a path") }
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint PATH") }
    }
}

struct ExampleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A small deterministic generator (SplitMix64), so every rank builds the same dataset.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u = max(uniform(), 1e-7), v = uniform()
        return (-2 * logf(u)).squareRoot() * cosf(2 * .pi * v)
    }
}

let inputs = 16, classes = 4
let momentum: Float = 0.5

/// Gaussian clusters, one centre per class, shuffled.
func makeDataset(samples: Int) -> (x: [Float], y: [Int]) {
    var random = SplitMix(state: 2024)
    let centres = (0..<classes).map { _ in (0..<inputs).map { _ in random.normal() * 1.5 } }
    var x = [Float](repeating: 0, count: samples * inputs)
    var y = [Int](repeating: 0, count: samples)
    for sample in 0..<samples {
        let label = Int(random.next() % UInt64(classes))
        y[sample] = label
        for feature in 0..<inputs { x[sample * inputs + feature] = centres[label][feature] + random.normal() }
    }
    return (x, y)
}

/// Parameters of input→hidden (ReLU)→classes (softmax), flattened into one array so a single
/// all-reduce carries the whole gradient.
struct Model {
    let hidden: Int
    var parameters: [Float]
    var w1Count: Int { inputs * hidden }
    var b1Offset: Int { w1Count }
    var w2Offset: Int { w1Count + hidden }
    var b2Offset: Int { w2Offset + hidden * classes }
    var count: Int { b2Offset + classes }

    init(hidden: Int) {
        self.hidden = hidden
        parameters = []
        var random = SplitMix(state: 7)
        parameters = (0..<(inputs * hidden + hidden + hidden * classes + classes)).map { index in
            index < inputs * hidden ? random.normal() * (2 / Float(inputs)).squareRoot()
                : index >= inputs * hidden + hidden && index < inputs * hidden + hidden + hidden * classes
                    ? random.normal() * (2 / Float(hidden)).squareRoot() : 0
        }
    }

    /// Adds the summed cross-entropy gradient of `samples` to `gradient`; returns the summed loss.
    func accumulate(x: [Float], y: [Int], samples: Range<Int>, into gradient: inout [Float]) -> Float {
        var loss: Float = 0
        var h = [Float](repeating: 0, count: hidden)
        var p = [Float](repeating: 0, count: classes)
        parameters.withUnsafeBufferPointer { w in
            gradient.withUnsafeMutableBufferPointer { g in
                for sample in samples {
                    let input = sample * inputs
                    for j in 0..<hidden {
                        var sum = w[b1Offset + j]
                        for i in 0..<inputs { sum += x[input + i] * w[i * hidden + j] }
                        h[j] = max(sum, 0)
                    }
                    var largest = -Float.infinity
                    for k in 0..<classes {
                        var sum = w[b2Offset + k]
                        for j in 0..<hidden { sum += h[j] * w[w2Offset + j * classes + k] }
                        p[k] = sum
                        largest = max(largest, sum)
                    }
                    var total: Float = 0
                    for k in 0..<classes { p[k] = expf(p[k] - largest); total += p[k] }
                    for k in 0..<classes { p[k] /= total }
                    loss -= logf(max(p[y[sample]], 1e-12))
                    p[y[sample]] -= 1  // dLoss/dLogits
                    for k in 0..<classes { g[b2Offset + k] += p[k] }
                    for j in 0..<hidden where h[j] > 0 {
                        var back: Float = 0
                        for k in 0..<classes {
                            g[w2Offset + j * classes + k] += h[j] * p[k]
                            back += w[w2Offset + j * classes + k] * p[k]
                        }
                        g[b1Offset + j] += back
                        for i in 0..<inputs { g[i * hidden + j] += x[input + i] * back }
                    }
                }
            }
        }
        return loss
    }

    /// SGD with momentum: the velocity is the optimizer's state, saved in checkpoints.
    mutating func step(_ gradient: [Float], velocity: inout [Float], scale: Float, learningRate: Float) {
        for index in parameters.indices {
            velocity[index] = momentum * velocity[index] + gradient[index] * scale
            parameters[index] -= learningRate * velocity[index]
        }
    }

    /// FNV-1a over the parameters' bytes: equal on two ranks only if the parameters are bitwise equal.
    var fingerprint: UInt64 {
        parameters.withUnsafeBytes { bytes in
            bytes.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        }
    }
}

/// The part of `range` this rank trains on: an even split, the first ranks taking one more.
func slice(_ range: Range<Int>, rank: Int, size: Int) -> Range<Int> {
    let base = range.count / size, extra = range.count % size
    let start = range.lowerBound + rank * base + min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
}

/// Checkpoints through MPI-IO: a 64-byte header (eight Int64s: magic, version, epoch, parameter
/// count, hidden width, samples, batch size, the epoch's loss bits), then the parameters, then
/// the momentum, as Floats. Each rank writes its shard of both arrays with one collective write;
/// every rank reads both whole on resume (any rank count can resume any checkpoint).
enum Checkpoint {
    static let magic: Int64 = 0x534D_5049_434B_5054  // "SMPICKPT"
    static let headerBytes = 64

    /// Writes `PATH.partial` collectively, then renames it over `path` (atomic on POSIX file
    /// systems): a job killed while writing leaves the previous checkpoint intact.
    static func save(
        _ path: String, epoch: Int, loss: Float, model: Model, velocity: [Float], options: DataParallelTraining, world: Communicator
    ) throws {
        let partial = path + ".partial"
        let file = try File.open(partial, mode: [.create, .writeOnly], on: world)
        try file.setSize(0)  // an older partial file
        let count = model.count
        let header: [Int64] = [
            magic, 1, Int64(epoch), Int64(count), Int64(model.hidden), Int64(options.samples), Int64(options.batchSize),
            Int64(loss.bitPattern),
        ]
        try file.writeAtAll(world.rank == 0 ? header : [], at: 0)
        let shard = slice(0..<count, rank: world.rank, size: world.size)
        try file.setView(displacement: headerBytes, elementType: Float.self)
        try file.writeAtAll(model.parameters[shard], at: shard.lowerBound)
        if options.crashInCheckpoint == epoch && world.rank == world.size - 1 {
            // Fault injection for the tests: die with the parameters half written.
            printError("data-parallel-training: rank \(world.rank) killing itself in the middle of checkpoint \(epoch)")
            kill(getpid(), SIGKILL)
        }
        try file.writeAtAll(velocity[shard], at: count + shard.lowerBound)
        try file.sync()
        try file.close()
        try world.barrier()
        if world.rank == 0 && rename(partial, path) != 0 {
            throw ExampleError("renaming \(partial) to \(path): \(String(cString: strerror(errno)))")
        }
        try world.barrier()
    }

    /// Reads a checkpoint written by `save` for the same model and data.
    static func load(_ path: String, options: DataParallelTraining, count: Int, world: Communicator) throws -> (epoch: Int, loss: Float, parameters: [Float], velocity: [Float]) {
        let file = try File.open(path, mode: .readOnly, on: world)
        let header = try file.readAtAll(at: 0, count: 8, as: Int64.self)
        guard header.count == 8, header[0] == magic, header[1] == 1 else {
            throw ExampleError("\(path) is not a data-parallel-training checkpoint")
        }
        guard header[3] == Int64(count), header[4] == Int64(options.hidden), header[5] == Int64(options.samples), header[6] == Int64(options.batchSize) else {
            throw ExampleError("\(path) was written for another model or dataset (parameters \(header[3]), hidden \(header[4]), samples \(header[5]), batch \(header[6]))")
        }
        try file.setView(displacement: headerBytes, elementType: Float.self)
        let parameters = try file.readAtAll(at: 0, count: count, as: Float.self)
        let velocity = try file.readAtAll(at: count, count: count, as: Float.self)
        try file.close()
        guard parameters.count == count, velocity.count == count else { throw ExampleError("\(path) is truncated") }
        return (Int(header[2]), Float(bitPattern: UInt32(truncatingIfNeeded: header[7])), parameters, velocity)
    }
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

let options = DataParallelTraining.parseOrExit()
do {
    try Environment.initialize()
    let world = try Communicator.world
    let (x, y) = makeDataset(samples: options.samples)
    let learningRate: Float = 0.05
    var model = Model(hidden: options.hidden)
    var reference = Model(hidden: options.hidden)
    var gradient = [Float](repeating: 0, count: model.count)
    var velocity = [Float](repeating: 0, count: model.count)
    let batches = options.samples / options.batchSize
    if world.rank == 0 {
        print("data-parallel-training: \(world.size) ranks on \(Environment.backend!), \(options.samples) samples, batch \(options.batchSize), \(model.count) parameters")
    }
    var finalLoss: Float = 0
    var firstEpoch = 1
    if options.resume, let path = options.checkpoint {
        let saved = try Checkpoint.load(path, options: options, count: model.count, world: world)
        model.parameters = saved.parameters
        velocity = saved.velocity
        finalLoss = saved.loss
        firstEpoch = saved.epoch + 1
        if world.rank == 0 { print("resumed from \(path) after epoch \(saved.epoch)") }
    }
    if world.rank == 0 { print("epoch  loss      samples/s   all-reduce share") }
    for epoch in stride(from: firstEpoch, through: options.epochs, by: 1) {
        try world.barrier()
        let start = try Environment.wallTime()
        var reduceTime = 0.0
        var lossSum: Float = 0
        for batch in 0..<batches {
            let global = (batch * options.batchSize)..<((batch + 1) * options.batchSize)
            for index in gradient.indices { gradient[index] = 0 }
            var partial = [model.accumulate(x: x, y: y, samples: slice(global, rank: world.rank, size: world.size), into: &gradient)]
            let reduceStart = try Environment.wallTime()
            try world.allReduce(.inPlace(), into: &gradient, op: .sum)
            try world.allReduce(.inPlace(), into: &partial, op: .sum)
            reduceTime += try Environment.wallTime() - reduceStart
            lossSum += partial[0]
            model.step(gradient, velocity: &velocity, scale: 1 / Float(options.batchSize), learningRate: learningRate)
        }
        let elapsed = try Environment.wallTime() - start
        finalLoss = lossSum / Float(batches * options.batchSize)
        // Bitwise-identical parameters on every rank.
        let fingerprints = try world.allGather(model.fingerprint)
        guard Set(fingerprints).count == 1 else {
            throw ExampleError("epoch \(epoch): parameters differ between ranks (fingerprints \(fingerprints))")
        }
        let shares = try world.allReduce(reduceTime / elapsed, op: .max)
        if world.rank == 0 {
            let rate = Double(batches * options.batchSize) / elapsed
            print(String(format: "%5d  %.5f  %10.0f   %5.1f %%", epoch, finalLoss, rate, shares * 100))
        }
        if let path = options.checkpoint {
            try Checkpoint.save(path, epoch: epoch, loss: finalLoss, model: model, velocity: velocity, options: options, world: world)
        }
        if options.stopAfter == epoch {
            if world.rank == 0 { print("stopped after epoch \(epoch); resume with --resume") }
            try Environment.finalize()
            exit(0)
        }
    }
    if world.rank == 0 {
        // The same training alone, on whole batches: the loss must agree up to summation order.
        var referenceLoss: Float = 0
        var referenceVelocity = [Float](repeating: 0, count: reference.count)
        for _ in 1...options.epochs {
            var lossSum: Float = 0
            for batch in 0..<batches {
                for index in gradient.indices { gradient[index] = 0 }
                lossSum += reference.accumulate(x: x, y: y, samples: (batch * options.batchSize)..<((batch + 1) * options.batchSize), into: &gradient)
                reference.step(gradient, velocity: &referenceVelocity, scale: 1 / Float(options.batchSize), learningRate: learningRate)
            }
            referenceLoss = lossSum / Float(batches * options.batchSize)
        }
        let tolerance: Float = 1e-3 * max(1, referenceLoss)
        print(String(format: "final loss %.6f (bits %08x, parameters %016llx); one rank alone %.6f; difference %.2e (tolerance %.0e)",
            finalLoss, finalLoss.bitPattern, model.fingerprint, referenceLoss, abs(finalLoss - referenceLoss), tolerance))
        guard abs(finalLoss - referenceLoss) <= tolerance else {
            throw ExampleError("the data-parallel loss \(finalLoss) differs from the single-rank loss \(referenceLoss)")
        }
    }
    try Environment.finalize()
} catch {
    printError("data-parallel-training: \(error)")
    Environment.abort(errorCode: 1)
}
