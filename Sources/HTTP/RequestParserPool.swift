/// The server's idle parsers. A connection takes one when the first byte of a request
/// arrives and gives it back once it has parsed every byte it read and no request is
/// half-read, so an idle keep-alive connection holds no parser (about 350 bytes with
/// its `llhttp_t`). At most `capacity` wait here; the rest are freed.
package final class RequestParserPool {
    private let settings: ParserSettings
    private let ids: RequestIDGenerator
    private var idle: [RequestParser] = []
    let capacity: Int
    /// Parsers made so far (the rest of the loans reused one).
    package private(set) var createdCount = 0

    init(settings: ParserSettings, ids: RequestIDGenerator, capacity: Int = 64) {
        self.settings = settings
        self.ids = ids
        self.capacity = capacity
    }

    /// Parsers waiting to be lent (for tests).
    package var idleCount: Int { idle.count }

    func take(for delegate: any RequestParserDelegate) -> RequestParser {
        let parser = idle.popLast() ?? makeParser()
        parser.delegate = delegate
        return parser
    }

    private func makeParser() -> RequestParser {
        createdCount += 1
        return RequestParser(settings: settings, ids: ids)
    }

    func giveBack(_ parser: RequestParser) {
        guard idle.count < capacity else { return }
        parser.reset()
        idle.append(parser)
    }
}
