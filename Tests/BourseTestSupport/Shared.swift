import Synchronization

/// A value shared between tasks, behind a lock.
public final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    public init(_ value: Value) { self.value = Mutex(value) }
    public func withLock<R>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}
