import Foundation

/// A new, empty directory under the system's temporary directory, for one test to own and remove.
public func makeTemporaryDirectory(_ prefix: String = "bourse-test") -> String {
    let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
