internal import FuzzChecks

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzDriver.run(data, size, RecordKeyCheck.check)
}

#if !FUZZING
@main enum Replay {
    static func main() { FuzzDriver.replay(CommandLine.arguments, RecordKeyCheck.check) }
}
#endif
