#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing

/// How a ``RankJob`` went: how the launcher ended, what each rank's tests recorded, and what
/// the job printed.
public struct RankJobReport: Sendable, CustomStringConvertible {
    public var ranks: Int
    public var launcher: RankLauncher
    /// The launcher's exit code; nil when a signal ended it.
    public var exitCode: Int32?
    public var signal: Int32?
    /// From the start of the launcher to its end.
    public var elapsed: Duration
    /// Whether the job ran into its timeout.
    public var timedOut: Bool
    /// The issues the ranks' tests recorded (failed expectations, thrown errors), in rank order.
    public var issues: [RankIssue] = []
    /// The ranks that ran a `withRanks` body to its end (through the final barrier and
    /// `Environment.finalize()`).
    public var completedRanks: [Int] = []
    /// The job's standard output: every line a rank printed, tagged with its rank by the launcher.
    public var stdout: String
    /// The job's standard error: the launcher's messages, the ranks' reports of where they are
    /// stuck, and the ranks' own test-runner output.
    public var stderr: String

    /// Whether every rank ran its body to the end, no issue was recorded and the launcher
    /// exited 0.
    public var passed: Bool {
        exitCode == 0 && !timedOut && issues.isEmpty && completedRanks.count == ranks
    }

    /// What the launcher said about the job (its own lines of standard error, such as
    /// `swift-mpiexec: rank 2 exited with status 1`), and where each rank said it was stuck when
    /// the job ran into its timeout (`swift-mpi: rank 1 is blocked in …`).
    public var launcherMessages: [String] {
        stderr.split(separator: "\n").compactMap { line -> String? in
            guard let tagged = RankJobReport.untagged(line) else {
                return line.allSatisfy(\.isWhitespace) ? nil : String(line)
            }
            return tagged.text.hasPrefix("swift-mpi:") ? String(line) : nil
        }
    }

    /// The lines each rank printed to standard output, without the launcher's tags.
    public func output(ofRank rank: Int) -> [String] {
        stdout.split(separator: "\n").compactMap { line in
            guard let tagged = RankJobReport.untagged(line), tagged.rank == rank else { return nil }
            return String(tagged.text)
        }
    }

    /// The lines rank `rank` wrote to standard error, apart from its test runner's progress
    /// output: a crash message such as `Fatal error: Index out of range`, or its own prints.
    public func errorOutput(ofRank rank: Int) -> [String] {
        stderr.split(separator: "\n").compactMap { line in
            guard let tagged = RankJobReport.untagged(line), tagged.rank == rank,
                !RankJobReport.isTestRunnerLine(tagged.text), !tagged.text.hasPrefix("swift-mpi:")
            else { return nil }
            return String(tagged.text)
        }
    }

    public var description: String {
        var lines = ["\(ranks)-rank job under \(launcher): " + (passed ? "passed" : "failed") + " after \(elapsed)"]
        if timedOut { lines.append("ran into its timeout") }
        if let exitCode, exitCode != 0 { lines.append("launcher exit status \(exitCode)") }
        if let signal { lines.append("launcher killed by signal \(signal)") }
        lines += issues.map { "rank \($0.rank): \($0.message)" }
        lines += launcherMessages
        return lines.joined(separator: "\n")
    }

    /// `[rank] text` (swift-mpiexec --tag-output) or `[job,rank]<stdout>: text` (mpirun).
    static func untagged(_ line: Substring) -> (rank: Int, text: Substring)? {
        guard line.first == "[", let close = line.firstIndex(of: "]") else { return nil }
        let inside = line[line.index(after: line.startIndex)..<close]
        var rest = line[line.index(after: close)...]
        let rank: Int?
        if let comma = inside.firstIndex(of: ",") {
            rank = Int(inside[inside.index(after: comma)...])
            if rest.hasPrefix("<"), let end = rest.firstIndex(of: ">") { rest = rest[rest.index(after: end)...] }
            if rest.hasPrefix(":") { rest = rest.dropFirst() }
        } else {
            rank = Int(inside)
        }
        guard let rank else { return nil }
        if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        return (rank, rest)
    }

    /// Lines of Swift Testing's console output in a rank (its progress and results).
    static func isTestRunnerLine(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first else { return false }
        return first.value >= 0x2000 || text.hasPrefix("Test run") || text.hasPrefix("Test ")
    }

    // MARK: Events

    /// One line of a rank's Swift Testing event stream (version 0), as far as it is read here.
    private struct Record: Decodable {
        struct Payload: Decodable {
            var kind: String
            var issue: IssueRecord?
            var messages: [Message]?
            var testID: String?
        }
        struct IssueRecord: Decodable {
            var isKnown: Bool?
            var isFailure: Bool?
            var sourceLocation: Location?
        }
        struct Location: Decodable {
            var fileID: String?
            var _filePath: String?
            var line: Int?
            var column: Int?
        }
        struct Message: Decodable {
            var symbol: String?
            var text: String
        }
        var kind: String
        var payload: Payload?
    }

    /// Adds the issues of rank `rank`'s event stream `text`.
    mutating func readEvents(_ text: String, rank: Int) {
        let decoder = JSONDecoder()
        for line in text.split(separator: "\n") {
            guard let record = try? decoder.decode(Record.self, from: Data(line.utf8)),
                record.kind == "event", let payload = record.payload, payload.kind == "issueRecorded",
                let issue = payload.issue, issue.isKnown != true, issue.isFailure != false
            else { continue }
            let messages = payload.messages ?? []
            let main = messages.filter { $0.symbol != "details" }.map(\.text)
            let details = messages.filter { $0.symbol == "details" }.map(\.text)
            var message = main.joined(separator: " ")
            if !details.isEmpty { message += (message.isEmpty ? "" : " — ") + details.joined(separator: " ") }
            var location: SourceLocation?
            if let place = issue.sourceLocation, let fileID = place.fileID, let line = place.line, let column = place.column,
                fileID.contains("/"), line > 0, column > 0
            {
                location = SourceLocation(fileID: fileID, filePath: place._filePath ?? fileID, line: line, column: column)
            }
            issues.append(RankIssue(rank: rank, message: message, sourceLocation: location))
        }
    }
}

/// An issue a rank's test recorded: a failed expectation (`#expect`, `#require`) or an error
/// the test threw.
public struct RankIssue: Sendable, Equatable {
    public var rank: Int
    /// What Swift Testing said, then the expectation's comment, if any.
    public var message: String
    /// Where in the test the issue was recorded.
    public var sourceLocation: SourceLocation?
}
