import Foundation

/// Runs blocking calls (a socket read, a wait for a process, a sleep in a poll) on a thread of their own.
/// On the cooperative pool they would hold one of its few threads (two on a 2-core machine) for as long as
/// they wait, and the servers the tests run in this process need those threads for their handlers.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// Waits (at most `seconds`) until `condition` holds, polling without holding a thread.
public func eventually(_ seconds: Double = 30, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}

extension Process {
    /// Starts the process with its standard output and error in one pipe and waits, on a thread of its
    /// own, for it to end: what it printed.
    public func runToEnd() async throws -> String {
        let pipe = Pipe()
        standardOutput = pipe
        standardError = pipe
        try run()
        let process = UncheckedProcess(self)
        return try await blocking {
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.value.waitUntilExit()
            return text
        }
    }

    /// Waits, on a thread of its own, for the process to end; its status.
    public func ended() async throws -> Int32 {
        let process = UncheckedProcess(self)
        return try await blocking {
            process.value.waitUntilExit()
            return process.value.terminationStatus
        }
    }
}

/// A process handed to the thread that waits for it; only that thread touches it until it ends.
private struct UncheckedProcess: @unchecked Sendable {
    let value: Process
    init(_ value: Process) { self.value = value }
}
