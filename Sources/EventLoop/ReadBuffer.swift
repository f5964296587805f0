/// The loop-wide read slab. libuv's alloc callback hands out this one buffer to
/// every socket: the loop is single-threaded and each read is consumed (parsed, or
/// its unparsed tail copied by its owner) before the next read starts, so no socket
/// holds a read buffer while idle.
package final class ReadBuffer {
    let base: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }
}
