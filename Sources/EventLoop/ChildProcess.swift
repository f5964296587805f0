internal import CLibUV

#if canImport(Glibc)
internal import Glibc
#endif

/// A child process (`uv_process_t`) sharing this process's stdin, stdout and stderr;
/// `onExit` runs on the loop thread with its exit status and terminating signal. Used
/// by the `--workers` supervisor, not on the data path.
package final class ChildProcess: HandleOwner {
    package private(set) var pid: Int32 = 0
    private var onExit: ((Int64, Int32) -> Void)?

    package init(
        loop: Loop, executable: String, arguments: [String], environment: [String],
        onExit: @escaping (_ status: Int64, _ signal: Int32) -> Void
    ) throws(EventLoopError) {
        self.onExit = onExit
        super.init(byteCount: MemoryLayout<uv_process_t>.size)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 3)
        for descriptor in 0..<3 {
            stdio[descriptor].flags = UV_INHERIT_FD
            stdio[descriptor].data.fd = Int32(descriptor)
        }
        var options = uv_process_options_t()
        options.exit_cb = { process, status, signal in
            let owner = HandleOwner.owner(ChildProcess.self, of: process)
            owner.onExit?(status, signal)
        }
        let rc: Int32 = executable.withCString { file in
            var argv = argv
            var envp = envp
            return argv.withUnsafeMutableBufferPointer { args in
                envp.withUnsafeMutableBufferPointer { env in
                    stdio.withUnsafeMutableBufferPointer { streams in
                        options.file = file
                        options.args = args.baseAddress
                        options.env = env.baseAddress
                        options.stdio_count = 3
                        options.stdio = streams.baseAddress
                        return uv_spawn(loop.raw, handle.assumingMemoryBound(to: uv_process_t.self), &options)
                    }
                }
            }
        }
        guard rc == 0 else {
            // A failed uv_spawn still initialised the handle; it must be closed.
            retainWhileOpen()
            close()
            throw EventLoopError(code: rc, operation: "spawn \(executable)")
        }
        retainWhileOpen()
        pid = handle.assumingMemoryBound(to: uv_process_t.self).pointee.pid
    }

    package func signal(_ signum: Int32) {
        guard !isClosed else { return }
        uv_process_kill(handle.assumingMemoryBound(to: uv_process_t.self), signum)
    }

    override func willClose() { onExit = nil }
}
