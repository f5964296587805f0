package import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Scales every test timeout (STOREGATE_TEST_TIMEOUT_MULTIPLIER, e.g. 3 under ASan).
package let timeoutMultiplier: Double =
    Double(ProcessInfo.processInfo.environment["STOREGATE_TEST_TIMEOUT_MULTIPLIER"] ?? "") ?? 1

/// A loopback port nobody is listening on right now (bind to 0, read it, close).
package func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            _ = bind(fd, pointer, length)
            return getsockname(fd, pointer, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// Polls `condition` until it holds or `seconds` (scaled) pass.
package func eventually(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds * timeoutMultiplier)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// The directory holding the built products (where the test bundle itself lives).
package var buildProductsDirectory: URL {
    if let override = ProcessInfo.processInfo.environment["STOREGATE_BUILD_DIR"] {
        return URL(fileURLWithPath: override)
    }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return executable.deletingLastPathComponent()
}

/// Resident set size of a process in bytes, from /proc/PID/status.
package func residentBytes(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kib = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kib * 1024
    }
    return nil
}

/// Open file descriptors of a process.
package func openDescriptorCount(pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}
