import Foundation

/// Runs blocking work (reading and writing a large file, parsing it) on a thread of its own, so that the
/// few threads Swift's tasks share are never held by it; the caller awaits the result.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
