import BourseNode
import CoreMetrics

extension DataDirectory.Node {
    /// Brings the node's gauges up to the moment (the sequencer's queue, the engine's orders and accounts,
    /// each projection's position, lag, apply rate and failure, market history and alerts, the process), for
    /// a scrape of `metrics`. The counters and histograms are recorded where things happen.
    public func recordMetrics() async throws {
        let (openOrders, accounts) = try await venue.counts()
        func gauge(_ name: String, _ value: Int, _ dimensions: [(String, String)] = []) {
            Gauge(label: name, dimensions: dimensions, factory: metrics).record(value)
        }
        gauge("bourse_sequencer_queue_depth", venue.sequencer.queueDepth)
        gauge("bourse_open_orders", openOrders)
        gauge("bourse_accounts", accounts)
        for s in projections.statuses {
            let projection = [("projection", s.name)]
            gauge("bourse_projection_position", Int(s.position), projection)
            gauge("bourse_projection_lag_entries", Int(s.lag), projection)
            gauge("bourse_projection_apply_rate_entries", s.applyRate.perSecond, projection)
            gauge("bourse_projection_failed", s.failure == nil ? 0 : 1, projection)
            metrics.observeTotal("bourse_projection_entries_applied_total", projection, Int64(s.entriesApplied))
        }
        metrics.observeTotal("bourse_projection_statements_total", [], Int64(projections.store.statementsExecuted))
        metrics.observeTotal("bourse_market_history_dropped_total", [], Int64(market.history?.dropped ?? 0))
        gauge("bourse_alerts_active", alerts.activeCount)
        for (state, depth) in try capture.queue.depths(now: wallClockNanos()) {
            gauge("bourse_capture_queue_entries", depth.count, [("state", state.rawValue)])
            gauge("bourse_capture_queue_oldest_age_seconds", Int(depth.oldestSeconds), [("state", state.rawValue)])
        }
        // The firm's risk at the last mark; dollars as a float, as Prometheus keeps every value.
        let (firm, deficits, calls, mark) = risk.read { book in
            (book.firmFigures, book.accountsInDeficit, book.calls.count, book.mark?.sequence ?? 0)
        }
        for (name, units) in [("equity", firm.equity), ("gross_exposure", firm.grossExposure), ("net_exposure", firm.netExposure),
                              ("total_pnl", firm.totalPnL), ("day_pnl", firm.dayPnL), ("house_requirement", firm.houseRequirement),
                              ("excess", firm.excess)] {
            Gauge(label: "bourse_risk_firm_\(name)_dollars", factory: metrics).record(Double(units) / 10_000)
        }
        gauge("bourse_risk_accounts_in_deficit", deficits)
        gauge("bourse_risk_margin_calls_open", calls)
        gauge("bourse_risk_mark_sequence", Int(mark))
        ProcessMetrics.record(into: metrics)
    }
}
