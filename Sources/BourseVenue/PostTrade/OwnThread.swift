import Foundation

/// Runs blocking work (reading and writing a large file, parsing it) on a thread of its own, so that the
/// few threads Swift's tasks share are never held by it; the caller awaits the result.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        startOwnThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Starts blocking work on a thread of its own, with room for a large file's parse on its stack.
func startOwnThread(_ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.stackSize = 8 << 20
    thread.start()
}
