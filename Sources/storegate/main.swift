internal import EventLoop

#if canImport(Glibc)
internal import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "healthcheck" {
    exit(Healthcheck.run(Array(arguments.dropFirst())))
}
if arguments.contains("--help") || arguments.contains("-h") {
    print(Configuration.usage)
    exit(0)
}

do {
    let configuration = try Configuration.load(arguments: arguments, environment: ProcessEnvironment.variables)
    if configuration.workers > 1 {
        exit(try Supervisor.run(workers: configuration.workers, arguments: arguments))
    }
    let exitCode = try Startup.run(configuration)
    if Loop.hasLookupStillRunning {
        // libuv's exit handler joins its resolver threads: do not wait out a DNS
        // server that does not answer.
        fflush(nil)
        _exit(exitCode)
    }
    exit(exitCode)
} catch let error as ConfigurationError {
    Log.error("configuration: \(error)")
    exit(64)
} catch {
    Log.error("start-up failed: \(error)")
    exit(1)
}
