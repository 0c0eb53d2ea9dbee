// A data-parallel job: count the words of a generated corpus. Each rank counts its share of the
// lines (map), sends every word's count to the rank that owns the word by a hash of its text
// (shuffle, one all-to-all-v of bytes), and adds what it receives (reduce). Every rank checks
// the words it owns against a serial count of the whole corpus.
//
//     word-count [--lines 200000]
//     word-count --help
import ArgumentParser
import Foundation
import MPI

#if canImport(Glibc)
import Glibc
#endif

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Line `index` of the corpus: 8 to 15 words drawn with a skewed distribution from 5,000 made-up
/// words, the same on every rank.
func line(_ index: Int) -> [String] {
    var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 12345
    func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    let count = 8 + Int(next() % 8)
    return (0..<count).map { _ in
        let rank = Int(next() % 5000)
        let skewed = rank * rank / 5000  // more small ranks: a few words are very common
        return word(skewed)
    }
}

func word(_ number: Int) -> String {
    let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qu"]
    var text = "", value = number
    repeat {
        text += syllables[value % 10]
        value /= 10
    } while value > 0
    return text
}

/// FNV-1a of the word's UTF-8: the same on every rank (Swift's Hasher is seeded per process).
func owner(of word: String, ranks: Int) -> Int {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
    return Int(hash % UInt64(ranks))
}

/// Counts as bytes: for each word, its length, its UTF-8 and its count (8 bytes each).
func encode(_ counts: [(String, Int)]) -> [UInt8] {
    var bytes: [UInt8] = []
    for (word, count) in counts {
        withUnsafeBytes(of: UInt64(word.utf8.count).littleEndian) { bytes += $0 }
        bytes += word.utf8
        withUnsafeBytes(of: UInt64(count).littleEndian) { bytes += $0 }
    }
    return bytes
}

func decode(_ bytes: [UInt8], into counts: inout [String: Int]) {
    var offset = 0
    func integer() -> Int {
        defer { offset += 8 }
        return bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) }
    }
    while offset < bytes.count {
        let length = integer()
        let word = String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
        offset += length
        counts[word, default: 0] += integer()
    }
}

/// The command line.
struct WordCount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word-count",
        abstract: "Count the words of a generated corpus with a map / shuffle / reduce job.",
        discussion: """
            Each rank counts its share of the lines (map), sends every word's count to the rank that \
            owns the word by a hash of its text (shuffle, one all-to-all-v of bytes) and adds what it \
            receives (reduce); every rank checks the words it owns against a serial count of the \
            whole corpus. Run it under a launcher, e.g. `swift-mpiexec -n 4 word-count`.
            """)

    @Option(help: "Lines in the corpus (8 to 15 words each).")
    var lines = 200_000

    func validate() throws {
        guard lines > 0 else { throw ValidationError("--lines needs a positive integer") }
    }
}

let options = WordCount.parseOrExit()
do {
    let lines = options.lines
    try Environment.initialize()
    let world = try Communicator.world
    let mine = (lines * world.rank / world.size)..<(lines * (world.rank + 1) / world.size)

    try world.barrier()
    let start = try Environment.wallTime()
    // Map: count this rank's lines.
    var local: [String: Int] = [:]
    var records = 0
    for index in mine {
        for word in line(index) {
            local[word, default: 0] += 1
            records += 1
        }
    }
    // Shuffle: each word's count goes to its owner.
    var outgoing = [[(String, Int)]](repeating: [], count: world.size)
    for (word, count) in local { outgoing[owner(of: word, ranks: world.size)].append((word, count)) }
    let incoming = try world.allToAllv(outgoing.map(encode))
    // Reduce.
    var owned: [String: Int] = [:]
    for block in incoming { decode(block, into: &owned) }
    let elapsed = try world.allReduce(try Environment.wallTime() - start, op: .max)
    let allRecords = try world.allReduce(records, op: .sum)

    // Check: the serial count of the whole corpus, for the words this rank owns.
    var serial: [String: Int] = [:]
    for index in 0..<lines { for word in line(index) where owner(of: word, ranks: world.size) == world.rank { serial[word, default: 0] += 1 } }
    let correct = serial == owned
    let allCorrect = try world.allReduce(correct ? 1 : 0, op: .min) == 1
    let distinct = try world.allReduce(owned.count, op: .sum)
    if world.rank == 0 {
        print("word-count: \(lines) lines, \(allRecords) words, \(distinct) distinct, \(world.size) ranks on \(Environment.backend!)")
        print(String(format: "map + shuffle + reduce in %.3f s: %.0f records/s; ", elapsed, Double(allRecords) / elapsed)
            + "matches the serial count: \(allCorrect ? "yes" : "NO")")
    }
    guard allCorrect else {
        printError("word-count: rank \(world.rank)'s counts differ from the serial count")
        Environment.abort(errorCode: 1)
    }
    try Environment.finalize()
} catch {
    printError("word-count: \(error)")
    Environment.abort(errorCode: 1)
}
