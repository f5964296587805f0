internal import CLibUV

#if canImport(Glibc)
internal import Glibc
#endif

/// Where log lines go without ever blocking the loop: lines are buffered and leave
/// with the once-per-turn flush through a non-blocking stream when the descriptor is
/// a pipe or terminal (a regular file is written directly; it does not block for
/// long). Past `maxBufferedBytes` of unwritten lines (a reader that does not keep up),
/// new lines are dropped and counted, so logging can never hold memory or the loop.
package final class LogSink {
    private let stream: SocketStream?
    private let fileDescriptor: Int32
    private let maxBufferedBytes: Int
    package private(set) var droppedLines = 0

    package init(loop: Loop, fileDescriptor: Int32, maxBufferedBytes: Int = 1 << 20) {
        self.fileDescriptor = fileDescriptor
        self.maxBufferedBytes = maxBufferedBytes
        stream = SocketStream(loop: loop, fileDescriptor: fileDescriptor)
    }

    package func write(_ line: [UInt8]) {
        guard let stream else {
            _ = line.withUnsafeBytes { Glibc.write(fileDescriptor, $0.baseAddress, $0.count) }
            return
        }
        guard stream.unsentByteCount + line.count <= maxBufferedBytes else {
            droppedLines += 1
            return
        }
        stream.write(line)
    }

    /// Writes what is buffered, then releases the stream.
    package func close() {
        stream?.flush()
        stream?.close()
    }
}
