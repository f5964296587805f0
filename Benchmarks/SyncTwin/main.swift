#if canImport(Glibc)
internal import Glibc
#endif

exit(SyncTwin.run(Array(CommandLine.arguments.dropFirst())))
