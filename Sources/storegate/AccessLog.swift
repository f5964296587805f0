internal import EventLoop
internal import Gateway
internal import HTTP
internal import JSON

#if canImport(Glibc)
internal import Glibc
#endif

/// One JSON line per answered request on stdout, through a `LogSink` (never blocks
/// the loop; drops and counts lines if the reader falls behind):
/// `{"time":…,"event":"request","method":…,"route":…,"status":…,"duration_ms":…,
///  "bytes_in":…,"bytes_out":…,"request_id":…}`.
final class AccessLog {
    private let sink: LogSink
    private let clock = WallClock()
    private let format: LogFormat

    init(loop: Loop, format: LogFormat = .json) {
        sink = LogSink(loop: loop, fileDescriptor: 1)
        self.format = format
    }

    var droppedLines: Int { sink.droppedLines }

    func record(_ summary: ResponseSummary) {
        if format == .text {
            let line =
                "\(clock.timestamp()) \(summary.method) \(summary.route) \(summary.status) "
                + "\(formatMilliseconds(summary.durationNanoseconds))ms in=\(summary.bytesIn) out=\(summary.bytesOut) "
                + "id=\(summary.requestID)\n"
            sink.write(Array(line.utf8))
            return
        }
        var line = #"{"time":""#
        line += clock.timestamp()
        line += #"","event":"request","method":"#
        JSONWriter.appendString(summary.method, to: &line)
        line += #","route":"#
        JSONWriter.appendString(summary.route, to: &line)
        line += #","status":\#(summary.status),"duration_ms":"#
        line += formatMilliseconds(summary.durationNanoseconds)
        line += #","bytes_in":\#(summary.bytesIn),"bytes_out":\#(summary.bytesOut),"request_id":"#
        JSONWriter.appendString(summary.requestID, to: &line)
        line += "}\n"
        sink.write(Array(line.utf8))
    }

    func close() { sink.close() }

    private func formatMilliseconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1000
        let fraction = micros % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(micros / 1000).\(padded)"
    }
}

/// RFC 3339 UTC timestamps with milliseconds; the date-and-time part is formatted once
/// per second.
final class WallClock {
    private var cachedSecond = -1
    private var cachedPrefix = ""

    func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec != cachedSecond {
            cachedSecond = now.tv_sec
            var seconds = time_t(now.tv_sec)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            cachedPrefix =
                "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
                + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        }
        let millis = now.tv_nsec / 1_000_000
        let padded = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return cachedPrefix + "." + padded + "Z"
    }
}
