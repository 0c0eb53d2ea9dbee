import Foundation
import MPI

/// One measured point: a benchmark at one message size.
struct Measurement {
    var benchmark: String
    var backend: String
    var ranks: Int
    var size: Int
    var averageMicroseconds: Double
    var minimumMicroseconds: Double
    var maximumMicroseconds: Double
    var iterations: Int
    var megabytesPerSecond: Double?

    /// The `--json` line. Field names are a stable interface: scripts/bench-compare.sh reads them.
    var json: String {
        var fields = [
            "\"benchmark\":\"\(benchmark)\"", "\"backend\":\"\(backend)\"", "\"ranks\":\(ranks)",
            "\"size\":\(size)", "\"avg_us\":\(format(averageMicroseconds))",
            "\"min_us\":\(format(minimumMicroseconds))", "\"max_us\":\(format(maximumMicroseconds))",
            "\"iterations\":\(iterations)",
        ]
        if let megabytesPerSecond { fields.append("\"mb_per_s\":\(format(megabytesPerSecond))") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private func format(_ value: Double) -> String { String(format: "%.4f", value) }
}

/// Prints measurements as OSU-style tables or JSON lines, on rank 0 only.
struct Reporter {
    let json: Bool
    let isRoot: Bool
    var printedHeader = false

    mutating func report(_ measurement: Measurement) {
        guard isRoot else { return }
        if json {
            print(measurement.json)
        } else {
            if !printedHeader {
                print("# swift-mpi \(measurement.benchmark) — backend \(measurement.backend), \(measurement.ranks) ranks")
                if measurement.megabytesPerSecond != nil {
                    print(pad("# Size", 10) + pad("Bandwidth (MB/s)", 20) + pad("Avg Latency (us)", 20))
                } else {
                    print(pad("# Size", 10) + pad("Avg Latency (us)", 20) + pad("Min (us)", 14) + pad("Max (us)", 14) + pad("Iterations", 12))
                }
                printedHeader = true
            }
            if let bandwidth = measurement.megabytesPerSecond {
                print(pad("\(measurement.size)", 10) + pad(String(format: "%.2f", bandwidth), 20)
                    + pad(String(format: "%.2f", measurement.averageMicroseconds), 20))
            } else {
                print(pad("\(measurement.size)", 10) + pad(String(format: "%.3f", measurement.averageMicroseconds), 20)
                    + pad(String(format: "%.3f", measurement.minimumMicroseconds), 14)
                    + pad(String(format: "%.3f", measurement.maximumMicroseconds), 14) + pad("\(measurement.iterations)", 12))
            }
        }
        fflush(nil)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
