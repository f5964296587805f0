#if canImport(Glibc)
internal import Glibc
#endif

/// The one place the process reads its surroundings: environment variables and whole
/// files (configuration, API keys, the OpenAPI document). Start-up only, never on the
/// data path.
enum ProcessEnvironment {
    /// Every `NAME=value` entry, as the C runtime holds them.
    static var entries: [String] {
        var result: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            result.append(String(cString: pointer))
            entry += 1
        }
        return result
    }

    /// The environment by name.
    static var variables: [String: String] {
        var result: [String: String] = [:]
        for text in entries {
            guard let equals = text.firstIndex(of: "=") else { continue }
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return result
    }

    /// The whole file at `path`; nil when it cannot be opened.
    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return bytes
    }

    /// The whole file at `path` as UTF-8 text (invalid bytes replaced); nil when it cannot be opened.
    static func readTextFile(_ path: String) -> String? {
        readFile(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
