import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection to the server on loopback: what a test writes goes out as given, byte for
/// byte, and what comes back collects in `buffer`. One caller uses it at a time.
public final class RawSocket: @unchecked Sendable {
    private let fd: Int32
    public var buffer: [UInt8] = []

    public init(port: Int, receiveBuffer: Int32? = nil, receiveTimeoutSeconds: Int = 20, sendTimeoutMillis: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let millis = sendTimeoutMillis {
            var send = timeval(tv_sec: millis / 1_000, tv_usec: (millis % 1_000) * 1_000)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Sends what the kernel takes before the send timeout; the count taken (0 when it took nothing).
    public func sendSome(_ bytes: ArraySlice<UInt8>) -> Int {
        max(0, bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) })
    }

    /// Closes both directions now, while the object lives on.
    public func shutdownBoth() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Whether the server has closed the connection (what it sent before is kept in `buffer`).
    public func closedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 { buffer += chunk[..<n] }
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    deinit { close(fd) }

    public func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
    }

    /// Reads more bytes; false at the end of the stream.
    public func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw POSIXError(errno == EAGAIN || errno == EWOULDBLOCK ? .ETIMEDOUT : POSIXErrorCode(rawValue: errno) ?? .EIO) }
        buffer += chunk[..<n]
        return n > 0
    }
}

/// A socket bound to a free loopback port, listening: the port is held until the socket is closed, so a
/// test can show a port in use, or take its number and close it for a server to listen on.
public func listeningOnFreePort() -> (fd: Int32, port: Int) {
    let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let port = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int in
            guard bind(held, sa, length) == 0, listen(held, 1) == 0, getsockname(held, sa, &length) == 0 else { return 0 }
            return Int(UInt16(bigEndian: pointer.pointee.sin_port))
        }
    }
    return (held, port)
}
