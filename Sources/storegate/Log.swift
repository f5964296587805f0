internal import JSON

#if canImport(Glibc)
internal import Glibc
#endif

/// One JSON line per event on stderr; written with write(2) so nothing is buffered.
enum Log {
    nonisolated(unsafe) static var level = LogLevel.info
    nonisolated(unsafe) static var format = LogFormat.json

    static func info(_ event: String, _ fields: [(String, String)] = []) {
        guard level == .info else { return }
        emit("info", event, fields)
    }
    static func error(_ message: String) { emit("error", "error", [("message", message)]) }
    /// Shown at every log level: something an operator must not miss.
    static func warn(_ event: String, _ fields: [(String, String)] = []) { emit("warn", event, fields) }

    private static func emit(_ level: String, _ event: String, _ fields: [(String, String)]) {
        if format == .text {
            let text =
                WallClock().timestamp() + " \(level) \(event)"
                + fields.map { " \($0.0)=\($0.1.contains(" ") ? "\"\($0.1)\"" : $0.1)" }.joined() + "\n"
            var bytes = Array(text.utf8)
            _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            return
        }
        var line = #"{"time":""# + WallClock().timestamp() + #"","level":"\#(level)","event":"#
        JSONWriter.appendString(event, to: &line)
        for (key, value) in fields {
            line += ","
            JSONWriter.appendString(key, to: &line)
            line += ":"
            JSONWriter.appendString(value, to: &line)
        }
        line += "}\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
