import Dispatch
import Foundation

/// Calls `stop` on SIGINT or SIGTERM instead of ending the process, for commands that stop cleanly (a last
/// commit, a snapshot). Keep the sources for as long as the command runs.
func onStopSignals(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceProtocol] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler(handler: stop)
        source.resume()
        return source
    }
}
