import Foundation
import Glibc

/// HTTP/1.1 over one keep-alive loopback connection, blocking, for tests that must keep sending on a
/// loaded machine: run on a thread of its own, it needs none of the test process's shared threads (which
/// other tests may hold blocked) and no URLSession. Bounded: every read and write gives up after
/// `timeoutSeconds`, and an answer larger than `answerBytesMax` ends the connection.
final class BlockingClient {
    static let answerBytesMax = 1 << 20
    private var fd: Int32 = -1
    private let port: Int
    private let timeoutSeconds: Int

    init(port: Int, timeoutSeconds: Int = 10) {
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends a request and reads its answer: the status and body, or (0, why) when none came.
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: String = "") -> (status: Int, body: String) {
        if fd < 0, let problem = connect() { return (0, problem) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: \(body.utf8.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n" + body).utf8)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return fail("send: \(String(cString: strerror(errno)))") }
            sent += n
        }
        return readAnswer()
    }

    private func connect() -> String? {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0 ? nil : fail("connect: \(String(cString: strerror(errno)))").body
    }

    /// The status line, headers up to the blank line, then `Content-Length` bytes of body.
    private func readAnswer() -> (status: Int, body: String) {
        var bytes: [UInt8] = []
        var headEnd: Int?
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let deadline = Date().addingTimeInterval(Double(timeoutSeconds))
        while true {
            if let end = headEnd, let length = Self.contentLength(bytes[..<end]), bytes.count >= end + length {
                let status = Int(String(decoding: bytes.prefix(12).dropFirst(9), as: UTF8.self)) ?? 0
                let body = String(decoding: bytes[end..<(end + length)], as: UTF8.self)
                return (status, body)
            }
            guard bytes.count < Self.answerBytesMax else { return fail("an answer of more than \(Self.answerBytesMax) bytes") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            // A signal to this process (a child stopped or continued) cuts a wait with a timeout short.
            if n < 0, errno == EINTR, Date() < deadline { continue }
            guard n > 0 else { return fail(n == 0 ? "the server closed the connection" : "recv: \(String(cString: strerror(errno)))") }
            bytes += chunk[..<n]
            if headEnd == nil, let blank = Self.find([13, 10, 13, 10], in: bytes) { headEnd = blank + 4 }
        }
    }

    private func fail(_ why: String) -> (status: Int, body: String) {
        if fd >= 0 { close(fd) }
        fd = -1
        return (0, why)
    }

    private static func contentLength(_ head: ArraySlice<UInt8>) -> Int? {
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" { return Int(parts[1].trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
