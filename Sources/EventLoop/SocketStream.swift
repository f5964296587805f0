internal import CLibUV

/// What a stream's owner hears. Every method has a default that does nothing.
package protocol SocketStreamDelegate: AnyObject {
    func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer)
    /// The peer closed its side (EOF) or a read failed; `error` is nil for a clean EOF.
    func streamDidEnd(_ stream: SocketStream, error: EventLoopError?)
    /// Everything queued has been handed to the kernel.
    func streamDidFlush(_ stream: SocketStream)
    /// A write failed; the stream should be closed.
    func streamDidFailWrite(_ stream: SocketStream, error: EventLoopError)
    func streamDidConnect(_ stream: SocketStream, error: EventLoopError?)
    func streamDidClose(_ stream: SocketStream)
}

extension SocketStreamDelegate {
    package func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {}
    package func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) {}
    package func streamDidFlush(_ stream: SocketStream) {}
    package func streamDidFailWrite(_ stream: SocketStream, error: EventLoopError) {}
    package func streamDidConnect(_ stream: SocketStream, error: EventLoopError?) {}
    package func streamDidClose(_ stream: SocketStream) {}
}

/// A TCP or unix-domain socket (`uv_tcp_t` / `uv_pipe_t`) with one output buffer.
///
/// Writes append to `pending` and mark the stream dirty; the loop's flush scheduler
/// calls `flush()` once per turn, which tries one synchronous write and hands any
/// remainder to a single outstanding `uv_write`. Reads land in the loop-wide slab.
/// After the output is fully written the buffer goes back to the flush scheduler's
/// spares, so an idle stream holds no output memory and a busy one allocates none. Open so that an owner with one per client connection can be the
/// stream itself (one object per connection, not two); every member is final.
open class SocketStream: HandleOwner {
    package enum Kind { case tcp, pipe, tty }

    // One of these per client connection: the small fields come first, packed after
    // `HandleOwner.isClosed`, and the loop is found through the handle.
    package let kind: Kind
    private var isDirty = false
    package private(set) var isReading = false
    private var writeSystemCalls: UInt32 = 0
    /// Not weak (a weak reference costs a side-table allocation per socket): the
    /// delegate owns the stream and outlives it until `socketStreamDidClose`.
    package unowned(unsafe) var delegate: (any SocketStreamDelegate)?
    private var pending: [UInt8] = []
    /// The one outstanding `uv_write`, when a write did not complete at once.
    private var asyncWrite: AsyncWrite?

    /// Write system calls issued (uv_try_write plus uv_write); tests check coalescing with it.
    package var writeCalls: Int { Int(writeSystemCalls) }
    private var loop: Loop { Loop.owner(of: rawHandle.pointee.loop) }

    package init(loop: Loop, kind: Kind) {
        self.kind = kind
        let size =
            switch kind {
            case .tcp: MemoryLayout<uv_tcp_t>.size
            case .pipe: MemoryLayout<uv_pipe_t>.size
            case .tty: MemoryLayout<uv_tty_t>.size
            }
        super.init(byteCount: size)
        switch kind {
        case .tcp: uv_tcp_init(loop.raw, handle.assumingMemoryBound(to: uv_tcp_t.self))
        case .pipe, .tty: uv_pipe_init(loop.raw, handle.assumingMemoryBound(to: uv_pipe_t.self), 0)
        }
        retainWhileOpen()
    }

    /// An existing descriptor (stdout, stderr) as a non-blocking output stream, when it
    /// is a pipe, socket or terminal; nil for a regular file (write it directly).
    package init?(loop: Loop, fileDescriptor: Int32) {
        let type = uv_guess_handle(fileDescriptor)
        guard type == UV_NAMED_PIPE || type == UV_TTY || type == UV_TCP else { return nil }
        self.kind = type == UV_TTY ? .tty : .pipe
        super.init(byteCount: max(MemoryLayout<uv_tty_t>.size, MemoryLayout<uv_pipe_t>.size))
        let rc: Int32
        if type == UV_TTY {
            rc = uv_tty_init(loop.raw, handle.assumingMemoryBound(to: uv_tty_t.self), fileDescriptor, 0)
        } else {
            uv_pipe_init(loop.raw, handle.assumingMemoryBound(to: uv_pipe_t.self), 0)
            rc = uv_pipe_open(handle.assumingMemoryBound(to: uv_pipe_t.self), fileDescriptor)
        }
        retainWhileOpen()
        if rc != 0 {
            close()
            return nil
        }
    }

    var rawStream: UnsafeMutablePointer<uv_stream_t> { handle.assumingMemoryBound(to: uv_stream_t.self) }

    /// Bytes accepted by `write` and not yet handed to the kernel.
    package var unsentByteCount: Int { pending.count + (asyncWrite?.bytes.count ?? 0) }

    // MARK: reading

    package final func startReading() {
        guard !isReading, !isClosed else { return }
        let rc = uv_read_start(
            rawStream,
            { handle, _, buf in
                let (base, capacity) = Unmanaged<Loop>.fromOpaque(handle!.pointee.loop.pointee.data)
                    ._withUnsafeGuaranteedRef { ($0.readBuffer.base, $0.readBuffer.capacity) }
                buf!.pointee = uv_buf_t(base: base.assumingMemoryBound(to: CChar.self), len: capacity)
            },
            { stream, nread, _ in
                // Not retained for the call: an open handle's owner is kept alive until its close callback.
                let data = UnsafeMutableRawPointer(stream!).assumingMemoryBound(to: uv_handle_t.self).pointee.data!
                Unmanaged<SocketStream>.fromOpaque(data)._withUnsafeGuaranteedRef { $0.didRead(count: nread) }
            })
        isReading = rc == 0
    }

    package final func stopReading() {
        guard isReading, !isClosed else { return }
        uv_read_stop(rawStream)
        isReading = false
    }

    private final func didRead(count: Int) {
        if count > 0 {
            delegate?.streamDidRead(self, bytes: UnsafeRawBufferPointer(start: loop.readBuffer.base, count: count))
        } else if count < 0 {
            stopReading()
            let code = Int32(count)
            delegate?.streamDidEnd(
                self, error: code == UV_EOF.rawValue ? nil : EventLoopError(code: code, operation: "read"))
        }
    }

    // MARK: writing

    package final func write(_ bytes: some Sequence<UInt8>) {
        guard !isClosed else { return }
        markDirty()
        pending.append(contentsOf: bytes)
    }

    /// Lets the caller serialise straight into the output buffer.
    package final func write(_ body: (inout [UInt8]) -> Void) {
        guard !isClosed else { return }
        markDirty()
        body(&pending)
    }

    /// The first write of a turn also borrows an output buffer from the scheduler's
    /// spares (empty, with capacity), so a response costs no allocation.
    private final func markDirty() {
        guard !isDirty else { return }
        isDirty = true
        let scheduler = loop.scheduler!
        if pending.capacity == 0 { pending = scheduler.takeSpareBuffer() }
        scheduler.markDirty(self)
    }

    /// Called by the flush scheduler once per loop turn; callable directly when needed.
    package final func flush() {
        isDirty = false
        guard !isClosed, asyncWrite == nil, !pending.isEmpty else { return }
        writeSystemCalls &+= 1
        let written: Int32 = pending.withUnsafeMutableBytes { bytes in
            var buf = uv_buf_t(base: bytes.baseAddress!.assumingMemoryBound(to: CChar.self), len: bytes.count)
            return uv_try_write(rawStream, &buf, 1)
        }
        if written == Int32(pending.count) {
            loop.scheduler.giveBackBuffer(&pending)
            delegate?.streamDidFlush(self)
            return
        }
        if written < 0, written != UV_EAGAIN.rawValue {
            failWrite(EventLoopError(code: written, operation: "write"))
            return
        }
        let write = AsyncWrite(bytes: Array(pending[Int(max(written, 0))...]))
        loop.scheduler.giveBackBuffer(&pending)
        startAsyncWrite(write)
    }

    private final func startAsyncWrite(_ write: AsyncWrite) {
        let request = write.request
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        asyncWrite = write
        writeSystemCalls &+= 1
        let rc: Int32 = write.bytes.withUnsafeMutableBytes { bytes in
            var buf = uv_buf_t(base: bytes.baseAddress!.assumingMemoryBound(to: CChar.self), len: bytes.count)
            return uv_write(request, rawStream, &buf, 1) { request, status in
                let stream = Unmanaged<SocketStream>.fromOpaque(request!.pointee.data).takeUnretainedValue()
                stream.didWrite(status: status)
            }
        }
        if rc != 0 {
            asyncWrite = nil
            failWrite(EventLoopError(code: rc, operation: "uv_write"))
        }
    }

    private final func didWrite(status: Int32) {
        asyncWrite = nil
        guard !isClosed else { return }
        if status != 0 {
            failWrite(EventLoopError(code: status, operation: "write"))
        } else if pending.isEmpty {
            delegate?.streamDidFlush(self)
        } else {
            flush()
        }
    }

    private final func failWrite(_ error: EventLoopError) {
        pending = []
        delegate?.streamDidFailWrite(self, error: error)
    }

    // MARK: connecting and closing

    package final func setNoDelay(_ on: Bool) {
        guard kind == .tcp else { return }
        uv_tcp_nodelay(handle.assumingMemoryBound(to: uv_tcp_t.self), on ? 1 : 0)
    }

    /// Connects to `address`; the delegate hears `streamDidConnect`.
    package final func connect(to address: SocketAddress) throws(EventLoopError) {
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let callback: uv_connect_cb = { request, status in
            let stream = Unmanaged<SocketStream>.fromOpaque(request!.pointee.data).takeUnretainedValue()
            request!.deallocate()
            stream.didConnect(status: status)
        }
        switch address {
        case .unix(let path):
            guard kind == .pipe else { throw EventLoopError(code: UV_EINVAL.rawValue, operation: "connect") }
            uv_pipe_connect(request, handle.assumingMemoryBound(to: uv_pipe_t.self), path, callback)
        case .inet:
            guard kind == .tcp else { throw EventLoopError(code: UV_EINVAL.rawValue, operation: "connect") }
            let tcp = handle.assumingMemoryBound(to: uv_tcp_t.self)
            let rc: Int32
            do throws(EventLoopError) {
                rc = try address.withSockaddr { uv_tcp_connect(request, tcp, $0, callback) }
            } catch {
                request.deallocate()
                throw error
            }
            guard rc == 0 else {
                request.deallocate()
                throw EventLoopError(code: rc, operation: "connect \(address)")
            }
        }
    }

    /// Connects a TCP stream to an address a `NameResolution` gave.
    package final func connect(to resolved: ResolvedAddress) throws(EventLoopError) {
        guard kind == .tcp else { throw EventLoopError(code: UV_EINVAL.rawValue, operation: "connect") }
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let rc = withUnsafeBytes(of: resolved.storage) { storage in
            uv_tcp_connect(
                request, handle.assumingMemoryBound(to: uv_tcp_t.self),
                storage.baseAddress!.assumingMemoryBound(to: sockaddr.self)
            ) { request, status in
                let stream = Unmanaged<SocketStream>.fromOpaque(request!.pointee.data).takeUnretainedValue()
                request!.deallocate()
                stream.didConnect(status: status)
            }
        }
        guard rc == 0 else {
            request.deallocate()
            throw EventLoopError(code: rc, operation: "connect")
        }
    }

    private final func didConnect(status: Int32) {
        guard !isClosed else { return }
        delegate?.streamDidConnect(self, error: status == 0 ? nil : EventLoopError(code: status, operation: "connect"))
    }

    /// Sends FIN after the queued output (uv_shutdown); reading may continue.
    package final func shutdownWrite() {
        guard !isClosed else { return }
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        if uv_shutdown(request, rawStream, { request, _ in request?.deallocate() }) != 0 {
            request.deallocate()
        }
    }

    /// Closes with a TCP reset: unsent output is dropped by the kernel too. For peers
    /// that stopped reading, so a stuck client cannot pin kernel buffers either.
    package final func reset() {
        guard kind == .tcp else { return close() }
        closeWithReset()
    }

    override func willClose() {
        isReading = false
        pending = []
    }

    override func didClose() {
        delegate?.streamDidClose(self)
        delegate = nil
    }
}

/// The bytes handed to one `uv_write` and its request, alive until its callback.
private final class AsyncWrite {
    let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    var bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    deinit { request.deallocate() }
}
