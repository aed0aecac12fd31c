import CoreMetrics
import Foundation

/// The process's own figures, read from `/proc` at each scrape under the names Prometheus's client libraries
/// use: CPU time, memory, file descriptors and the start time.
public enum ProcessMetrics {
    public static func record(into metrics: MetricsRegistry) {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return }
        // Fields after the command name, which may hold spaces: the state is field 3, so index i is field i + 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
           let started = Double(fields[19]), let virtual = Double(fields[20]), let resident = Double(fields[21]) {
            metrics.observeTotal("process_cpu_seconds_total", [], seconds: (user + system) / ticks)
            Gauge(label: "process_virtual_memory_bytes", factory: metrics).record(virtual)
            Gauge(label: "process_resident_memory_bytes", factory: metrics).record(resident * page)
            if let boot = bootTime() {
                Gauge(label: "process_start_time_seconds", factory: metrics).record(boot + started / ticks)
            }
        }
        if let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            // Less the descriptor the listing itself held open.
            Gauge(label: "process_open_fds", factory: metrics).record(max(open.count - 1, 0))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            Gauge(label: "process_max_fds", factory: metrics).record(Double(limit.rlim_cur))
        }
    }

    /// When the machine booted, seconds since the epoch (`btime` in /proc/stat).
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }
}
