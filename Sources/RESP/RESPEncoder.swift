/// Commands to bytes: every command is a RESP array of bulk strings, appended to a buffer the caller
/// owns (a socket's pending output), so that many commands coalesce into one write.
///
///     *3\r\n $3\r\n SET\r\n $1\r\n k\r\n $1\r\n v\r\n
///
/// Nothing here allocates apart from the buffer growing: arguments are copied straight from their
/// storage, and lengths and integers are written as decimal digits without an intermediate String.
package enum RESPEncoder {
    package static func appendCommand(_ args: [String], to buffer: inout [UInt8]) {
        RESPCommandWriter.write(argumentCount: args.count, into: &buffer) { writer in
            for arg in args { writer.appendArgument(arg) }
        }
    }

    package static func appendCommand(_ args: [[UInt8]], to buffer: inout [UInt8]) {
        RESPCommandWriter.write(argumentCount: args.count, into: &buffer) { writer in
            for arg in args { writer.appendArgument(arg) }
        }
    }
}

/// Writes one command argument by argument, for callers whose arguments are of mixed kinds or are
/// produced on the fly:
///
///     RESPCommandWriter.write(argumentCount: 3, into: &pending) { w in
///         w.appendArgument("HINCRBY"); w.appendArgument(keyBytes); w.appendArgument(Int64(1))
///     }
///
/// The writer holds the caller's buffer for the duration of the closure (moved in and out, never
/// copied). Writing more or fewer arguments than announced traps: a miscounted command would
/// desynchronise the connection.
package struct RESPCommandWriter {
    private var buffer: [UInt8]
    private var remaining: Int

    private init(argumentCount: Int) {
        self.buffer = []
        self.remaining = argumentCount
    }

    /// Appends `*argumentCount\r\n`, then lets `body` append the arguments. If `body` throws, the
    /// buffer is cut back to its length before the call.
    package static func write<Failure: Error>(
        argumentCount: Int,
        into buffer: inout [UInt8],
        _ body: (inout RESPCommandWriter) throws(Failure) -> Void
    ) throws(Failure) {
        precondition(argumentCount >= 0, "negative argument count")
        let startCount = buffer.count
        var writer = RESPCommandWriter(argumentCount: argumentCount)
        swap(&writer.buffer, &buffer)
        defer { swap(&writer.buffer, &buffer) }

        writer.appendHeader(type: UInt8(ascii: "*"), length: argumentCount)
        do {
            try body(&writer)
        } catch {
            writer.buffer.removeSubrange(startCount...)
            throw error
        }
        precondition(writer.remaining == 0, "RESP command is missing \(writer.remaining) argument(s)")
    }

    package mutating func appendArgument(_ text: String) {
        let utf8 = text.utf8
        beginArgument(length: utf8.count)
        buffer.append(contentsOf: utf8)
        endArgument()
    }

    package mutating func appendArgument(_ bytes: some Collection<UInt8>) {
        beginArgument(length: bytes.count)
        buffer.append(contentsOf: bytes)
        endArgument()
    }

    package mutating func appendArgument(_ bytes: UnsafeRawBufferPointer) {
        beginArgument(length: bytes.count)
        buffer.append(contentsOf: bytes)
        endArgument()
    }

    package mutating func appendArgument(_ value: Int64) {
        beginArgument(length: RESPDecimal.digitCount(value))
        RESPDecimal.append(value, to: &buffer)
        endArgument()
    }

    package mutating func appendArgument(_ value: Int) {
        appendArgument(Int64(value))
    }

    private mutating func beginArgument(length: Int) {
        precondition(remaining > 0, "RESP command has more arguments than announced")
        remaining -= 1
        appendHeader(type: UInt8(ascii: "$"), length: length)
    }

    private mutating func endArgument() {
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func appendHeader(type: UInt8, length: Int) {
        buffer.append(type)
        RESPDecimal.append(Int64(length), to: &buffer)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }
}

enum RESPDecimal {
    static func digitCount(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var count = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            count += 1
        }
        return count
    }

    /// Appends the digits: a single digit directly, longer numbers built backwards in a
    /// stack buffer and copied once.
    static func append(_ value: Int64, to buffer: inout [UInt8]) {
        if value >= 0, value < 10 {
            buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = digits.count
            repeat {
                position -= 1
                digits[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }
}
