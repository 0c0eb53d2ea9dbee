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
    /// Set when the destination is gone (EPIPE): output is then read and dropped, so that a rank
    /// never blocks on a full pipe.
    private var destinationBroken = false

    /// Takes ownership of `source`, which it switches to nonblocking.
    init(rank: Int, source: Int32, destination: Int32) {
        self.source = source
        self.destination = destination
        self.prefix = Array("[\(rank)] ".utf8)
        _ = fcntl(source, F_SETFL, fcntl(source, F_GETFL) | O_NONBLOCK)
    }

    var isOpen: Bool { source >= 0 }

    /// Reads what the pipe holds now and forwards the complete lines; closes the pipe at end of
    /// file. Never blocks.
    mutating func forwardAvailable() {
        guard isOpen else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1 << 16) { buffer in
            while true {
                let count = read(source, buffer.baseAddress, buffer.count)
                if count > 0 {
                    forward(UnsafeBufferPointer(rebasing: buffer[..<count]))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    if count == 0 || errno != EAGAIN { closeSource() }
                    return
                }
            }
        }
    }

    /// Forwards everything left once the rank has exited, completing a final partial line, and
    /// closes the pipe. A process the rank started may still hold the pipe open, so this reads
    /// only what is already there rather than waiting for end of file.
    mutating func finish() {
        forwardAvailable()
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
        guard !destinationBroken, !output.isEmpty else { return }
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
                    destinationBroken = true
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
