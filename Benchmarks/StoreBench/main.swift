#if canImport(Glibc)
internal import Glibc
#endif

exit(StoreBench.run(Array(CommandLine.arguments.dropFirst())))
