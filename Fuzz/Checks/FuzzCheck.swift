#if canImport(Glibc)
internal import Glibc
#endif

/// A property a fuzz input broke; libFuzzer gets a crash, XCTest a failure.
package struct FuzzFailure: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) { self.description = description }
}

/// Throws `FuzzFailure(message())` unless `condition` holds.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(message()) }
}

/// The two ways a fuzz executable runs: under libFuzzer (`LLVMFuzzerTestOneInput` traps on a
/// failure so libFuzzer saves the input), or as a replayer of corpus files and directories
/// named on the command line (the ordinary build, where libFuzzer is not linked).
package enum FuzzDriver {
    /// libFuzzer's entry point body: runs `check`, traps with the failure's text.
    package static func run(
        _ data: UnsafePointer<UInt8>?, _ size: Int, _ check: ([UInt8]) throws(FuzzFailure) -> Void
    ) -> CInt {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        do {
            try check(bytes)
        } catch {
            fatalError("fuzz property failed: \(error)")
        }
        return 0
    }

    /// Replays every file named (directories: every file in them); exit status 1 if any fails.
    package static func replay(_ arguments: [String], _ check: ([UInt8]) throws(FuzzFailure) -> Void) -> Never {
        let paths = arguments.dropFirst().filter { !$0.hasPrefix("-") }
        guard !paths.isEmpty else {
            print("usage: \(arguments.first ?? "Fuzz…") FILE|DIR…  (replays inputs; scripts/fuzz.sh builds the fuzzer)")
            exit(2)
        }
        var inputs = 0
        var failures = 0
        for path in paths {
            for file in corpusFiles(path) {
                guard let bytes = readFile(file) else {
                    print("cannot read \(file)")
                    failures += 1
                    continue
                }
                inputs += 1
                do {
                    try check(bytes)
                } catch {
                    failures += 1
                    print("FAIL \(file): \(error)")
                }
            }
        }
        print("\(inputs - failures) passed, \(failures) failed")
        exit(failures == 0 && inputs > 0 ? 0 : 1)
    }

    /// The regular files of `path` (itself if it is a file), sorted.
    package static func corpusFiles(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var files: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            files.append(path.hasSuffix("/") ? path + name : path + "/" + name)
        }
        return files.sorted()
    }

    /// The whole file, or nil if it cannot be read.
    package static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { return nil }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }
}
