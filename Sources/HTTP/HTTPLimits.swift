/// Every bound the HTTP layer enforces, with the default each one starts from
/// (figures from nginx, Envoy and HAProxy; see docs/configuration.md).
package struct HTTPLimits: Sendable, Equatable {
    /// Longest request-target (the URL in the request line); past it: 414. Default 8 KiB.
    package var maxRequestTargetBytes = 8 * 1024
    /// Longest single header field, name plus value; past it: 431. Default 8 KiB.
    package var maxHeaderFieldBytes = 8 * 1024
    /// All header fields of one request together; past it: 431. Default 32 KiB.
    package var maxHeaderBytes = 32 * 1024
    /// Most header fields in one request; past it: 431. Default 100.
    package var maxHeaderCount = 100
    /// Largest request body; past it: 413, before reading it when the length is known. Default 1 MiB.
    package var maxBodyBytes = 1024 * 1024
    /// A request's header block must arrive within this after its first byte; else 408. Default 10 s.
    package var headerTimeoutMs: UInt64 = 10_000
    /// A request's body must arrive within this after its headers; else 408. Default 30 s.
    package var bodyTimeoutMs: UInt64 = 30_000
    /// An idle keep-alive connection is closed after this. Default 60 s.
    package var keepAliveTimeoutMs: UInt64 = 60_000
    /// Layer 1: requests in progress on one connection; at the cap the connection is not
    /// read (nothing fails) until one completes. Default 16.
    package var maxPipelinedRequests = 16
    /// Layer 2: requests being handled at once across all connections; past it requests
    /// wait (their connections are not read). Default 1,024: below the store client's
    /// default capacity per node (4 × 128 + 1,024), so excess waits here, unread,
    /// instead of being refused by layer 3 (see docs/backpressure.md, Sizing).
    package var maxRequestsInProgress = 1024
    /// Layer 2: a request that waited this long for capacity gets 503 + Retry-After. Default 100 ms.
    package var admissionTimeoutMs: UInt64 = 100
    /// Open client connections; past it, new connections are closed at once. Default 10,000.
    package var maxConnections = 10_000
    /// Layer 4: unsent response bytes at which a client is no longer read. Default 32 KiB.
    package var maxUnsentBytes = 32 * 1024
    /// Layer 4: a client that stays above `maxUnsentBytes` this long is closed. Default 30 s.
    package var slowReaderTimeoutMs: UInt64 = 30_000
    /// After the last response of a closing connection, how long unread input is drained
    /// so the response is not destroyed by a reset. Default 2 s.
    package var lingerTimeoutMs: UInt64 = 2_000

    package init() {}
}
