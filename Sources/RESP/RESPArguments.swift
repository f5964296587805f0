/// Bulk-string arguments encoded ahead of their command's `*N` header, so one tail of
/// arguments can follow different heads (`EVALSHA sha …`, then `EVAL source …` if the
/// script was not cached) without encoding it twice, and so arguments can be written
/// from bytes as they are produced (JSON text, a key) without a String in between.
///
///     var tail = RESPArguments()
///     tail.append(1); tail.append(keyBytes)
///     RESPEncoder.appendCommand(head: ["EVALSHA", sha], tail, to: &pending)
package struct RESPArguments {
    /// Arguments appended so far.
    package private(set) var count = 0
    /// `$len\r\n…\r\n` for each argument, in order; after a command's head when built
    /// with `init(command:headCount:argumentCount:reservingCapacity:)`.
    package private(set) var encoded: [UInt8] = []
    /// Where the arguments start in `encoded` (0 unless a command's head is in front).
    package private(set) var tailStart = 0
    /// The number of arguments announced in the command's `*N` header; nil without a head.
    package let announcedCount: Int?

    package init(reservingCapacity capacity: Int = 0) {
        encoded.reserveCapacity(capacity)
        announcedCount = nil
    }

    /// Arguments written straight after a command's `*N` header and its `head` (`headCount`
    /// arguments already encoded), when their number is known before the first: once
    /// `argumentCount` are appended, `encoded` is the whole command, with no second copy.
    package init(command head: [UInt8], headCount: Int, argumentCount: Int, reservingCapacity capacity: Int) {
        encoded.reserveCapacity(capacity + head.count + 16)
        RESPEncoder.appendArrayHeader(headCount + argumentCount, to: &encoded)
        encoded.append(contentsOf: head)
        tailStart = encoded.count
        announcedCount = argumentCount
    }

    /// The encoded arguments without any head.
    package var tail: ArraySlice<UInt8> { encoded[tailStart...] }

    /// `encoded` as a whole command: built with a head, and every announced argument appended.
    package var isCompleteCommand: Bool { announcedCount == count }

    package mutating func append(_ bytes: some Collection<UInt8>) {
        appendLength(bytes.count)
        encoded.append(contentsOf: bytes)
        appendCRLF()
    }

    /// The common case without generic dispatch across the module boundary: one copy.
    package mutating func append(_ bytes: [UInt8]) {
        appendLength(bytes.count)
        encoded.append(contentsOf: bytes)
        appendCRLF()
    }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        appendLength(bytes.count)
        encoded.append(contentsOf: bytes)
        appendCRLF()
    }

    package mutating func append(_ text: String) {
        appendLength(text.utf8.count)
        encoded.append(contentsOf: text.utf8)
        appendCRLF()
    }

    /// One argument: `prefix`, then `text`'s UTF-8 (a field name such as `b:` + a bin name).
    package mutating func append(prefix: [UInt8], _ text: String) {
        var text = text
        text.withUTF8 { append(prefix: prefix, $0) }
    }

    /// One argument: `prefix`, then `bytes`.
    package mutating func append(prefix: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) {
        appendLength(prefix.count + bytes.count)
        encoded.append(contentsOf: prefix)
        encoded.append(contentsOf: bytes)
        appendCRLF()
    }

    package mutating func append(_ value: Int) {
        appendLength(RESPDecimal.digitCount(Int64(value)))
        RESPDecimal.append(Int64(value), to: &encoded)
        appendCRLF()
    }

    /// One argument that `body` writes in place at the end of the buffer it is given;
    /// its length header is put in front afterwards (one move of the argument's bytes).
    package mutating func append(writing body: (inout [UInt8]) -> Void) {
        let start = encoded.count
        body(&encoded)
        let length = encoded.count - start
        var header: [UInt8] = [UInt8(ascii: "$")]
        RESPDecimal.append(Int64(length), to: &header)
        header.append(UInt8(ascii: "\r"))
        header.append(UInt8(ascii: "\n"))
        encoded.insert(contentsOf: header, at: start)
        appendCRLF()
        count += 1
    }

    /// `count` arguments that `write` encodes into stack scratch of exactly `byteCount`
    /// bytes (`RESPBulkWriter.size(ofBulk:)` each), appended in one piece: cheaper than
    /// several appends per argument when there are many small ones.
    package mutating func appendBulks(count: Int, byteCount: Int, _ write: (inout RESPBulkWriter) -> Void) {
        guard byteCount > 0 else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCount) { scratch in
            var writer = RESPBulkWriter(base: scratch.baseAddress!)
            write(&writer)
            precondition(writer.position == byteCount, "bulk strings of the announced size")
            encoded.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress, count: byteCount))
        }
        self.count += count
    }

    private mutating func appendLength(_ length: Int) {
        count += 1
        RESPEncoder.appendBulkHeader(length, to: &encoded)
    }

    private mutating func appendCRLF() {
        encoded.append(UInt8(ascii: "\r"))
        encoded.append(UInt8(ascii: "\n"))
    }
}

extension RESPEncoder {
    /// One command: `headCount` arguments already encoded as `head`, then the pre-encoded `tail`.
    package static func appendCommand(head: [UInt8], headCount: Int, _ tail: RESPArguments, to buffer: inout [UInt8]) {
        appendArrayHeader(headCount + tail.count, to: &buffer)
        buffer.append(contentsOf: head)
        buffer.append(contentsOf: tail.tail)
    }

    /// One command: the `head` arguments, then the pre-encoded `tail`.
    package static func appendCommand(head: [StaticString], _ tail: RESPArguments, to buffer: inout [UInt8]) {
        appendArrayHeader(head.count + tail.count, to: &buffer)
        for argument in head { appendBulk(argument, to: &buffer) }
        buffer.append(contentsOf: tail.tail)
    }

    /// One command: the `head` arguments (text, such as a verb and a script digest), then the pre-encoded `tail`.
    package static func appendCommand(head: [String], _ tail: RESPArguments, to buffer: inout [UInt8]) {
        appendArrayHeader(head.count + tail.count, to: &buffer)
        for argument in head {
            buffer.append(UInt8(ascii: "$"))
            RESPDecimal.append(Int64(argument.utf8.count), to: &buffer)
            buffer.append(UInt8(ascii: "\r"))
            buffer.append(UInt8(ascii: "\n"))
            buffer.append(contentsOf: argument.utf8)
            buffer.append(UInt8(ascii: "\r"))
            buffer.append(UInt8(ascii: "\n"))
        }
        buffer.append(contentsOf: tail.tail)
    }

    /// `$length\r\n`: a length under 100 (most arguments) byte by byte, which costs less
    /// than one `append(contentsOf:)`; a longer one built on the stack and appended as one piece.
    package static func appendBulkHeader(_ length: Int, to buffer: inout [UInt8]) {
        if length >= 0, length < 100 {
            buffer.append(UInt8(ascii: "$"))
            if length >= 10 { buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: length / 10)) }
            buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: length % 10))
            buffer.append(UInt8(ascii: "\r"))
            buffer.append(UInt8(ascii: "\n"))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { header in
            var position = header.count - 2
            header[position] = UInt8(ascii: "\r")
            header[position + 1] = UInt8(ascii: "\n")
            var magnitude = length.magnitude
            repeat {
                position -= 1
                header[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            position -= 1
            header[position] = UInt8(ascii: "$")
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: header[position...]))
        }
    }

    /// `*count\r\n`: the header of a command of `count` arguments.
    package static func appendArrayHeader(_ count: Int, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        RESPDecimal.append(Int64(count), to: &buffer)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// One bulk string from static text (a verb or a field name known at compile time).
    package static func appendBulk(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { utf8 in
            buffer.append(UInt8(ascii: "$"))
            RESPDecimal.append(Int64(utf8.count), to: &buffer)
            buffer.append(UInt8(ascii: "\r"))
            buffer.append(UInt8(ascii: "\n"))
            buffer.append(contentsOf: utf8)
            buffer.append(UInt8(ascii: "\r"))
            buffer.append(UInt8(ascii: "\n"))
        }
    }

    /// One bulk string from bytes.
    package static func appendBulk(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        appendBulkHeader(bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// One bulk string from any bytes.
    package static func appendBulk(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "$"))
        RESPDecimal.append(Int64(bytes.count), to: &buffer)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
        buffer.append(contentsOf: bytes)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }
}

/// Writes bulk strings (`$len\r\n…\r\n`) into memory sized for them beforehand
/// (`RESPArguments.appendBulks`); no bounds are checked but the total.
package struct RESPBulkWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private(set) var position = 0

    fileprivate init(base: UnsafeMutablePointer<UInt8>) { self.base = base }

    /// The encoded size of a bulk string of `length` bytes.
    package static func size(ofBulk length: Int) -> Int {
        3 + RESPDecimal.digitCount(Int64(length)) + length + 2
    }

    /// One bulk string: `first` then `second`.
    package mutating func bulk(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) {
        header(first.count + second.count)
        copy(first)
        copy(second)
        crlf()
    }

    package mutating func bulk(_ bytes: UnsafeBufferPointer<UInt8>) {
        header(bytes.count)
        copy(bytes)
        crlf()
    }

    private mutating func header(_ length: Int) {
        base[position] = UInt8(ascii: "$")
        let digits = RESPDecimal.digitCount(Int64(length))
        var rest = length
        for offset in stride(from: digits, to: 0, by: -1) {
            base[position + offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        position += 1 + digits
        crlf()
    }

    private mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base + position).update(from: source, count: bytes.count)
        position += bytes.count
    }

    private mutating func crlf() {
        base[position] = UInt8(ascii: "\r")
        base[position + 1] = UInt8(ascii: "\n")
        position += 2
    }
}
