import Glibc

/// Copies one rank's stdout or stderr from a pipe to the launcher's own, prefixing every line with
/// `[rank] ` (`--tag-output`).
///
/// Only complete lines are written, each batch in one `write`, so lines of different ranks never
/// mix mid-line. A line still incomplete when the rank ends is written with a newline added.
struct OutputForwarder {
    /// A line longer than this is written in pieces, so a rank printing without newlines cannot
    /// make the launcher buffer without bound.
    static let maximumLineBytes = 1 << 16

    /// The read end of the rank's pipe, or -1 once it is closed.
    private(set) var source: Int32
    private let destination: Int32
    private let prefix: [UInt8]
    private var partialLine: [UInt8] = []

    /// Takes ownership of `source`, which it switches to nonblocking.
    init(rank: Int, source: Int32, destination: Int32) {
        self.source = source
        self.destination = destination
        self.prefix = Array("[\(rank)] ".utf8)
        _ = fcntl(source, F_SETFL, fcntl(source, F_GETFL) | O_NONBLOCK)
    }

    var isOpen: Bool { source >= 0 }

    /// Reads from the pipe and forwards the complete lines; closes the pipe at end of file.
    /// Never blocks.
    ///
    /// - Parameter reads: how many reads at most. One per wake-up keeps a rank that writes without
    ///   pause from starving the other ranks and the launcher's signals.
    mutating func forwardAvailable(reads: Int = 1) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1 << 16) { buffer in
            var remaining = reads
            while isOpen && remaining > 0 {
                let count = read(source, buffer.baseAddress, buffer.count)
                if count > 0 {
                    forward(UnsafeBufferPointer(rebasing: buffer[..<count]))
                    remaining -= 1
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    if count == 0 || errno != EAGAIN { closeSource() }
                    return
                }
            }
        }
    }

    /// Forwards what the pipe still holds once the rank has exited, completing a final partial
    /// line, and closes the pipe. A process the rank started may still hold the pipe open, so
    /// this takes what is already there (a pipe holds at most 1 MiB) rather than waiting for end
    /// of file.
    mutating func finish() {
        forwardAvailable(reads: 16)
        if !partialLine.isEmpty {
            partialLine.append(UInt8(ascii: "\n"))
            emit(prefix + partialLine)
            partialLine.removeAll()
        }
        closeSource()
    }

    private mutating func forward(_ bytes: UnsafeBufferPointer<UInt8>) {
        var output: [UInt8] = []
        var lineStart = bytes.startIndex
        while let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            output += prefix
            output += partialLine
            output += bytes[lineStart...newline]
            partialLine.removeAll(keepingCapacity: true)
            lineStart = newline + 1
        }
        partialLine += bytes[lineStart...]
        if partialLine.count >= OutputForwarder.maximumLineBytes {
            output += prefix
            output += partialLine
            output.append(UInt8(ascii: "\n"))
            partialLine.removeAll(keepingCapacity: true)
        }
        emit(output)
    }

    private mutating func emit(_ output: [UInt8]) {
        guard !output.isEmpty else { return }
        output.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(destination, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EAGAIN {
                    // The launcher's stdout was left nonblocking by whoever started it.
                    var waitable = pollfd(fd: destination, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&waitable, 1, -1)
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    // The reader went away (EPIPE, as with `| head`). Closing the rank's pipe
                    // passes that on: the rank's next write fails as it would have without
                    // --tag-output, instead of the launcher reading and dropping output forever.
                    closeSource()
                    partialLine.removeAll()
                    return
                }
            }
        }
    }

    private mutating func closeSource() {
        if source >= 0 { close(source) }
        source = -1
    }
}
