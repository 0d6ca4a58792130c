// Prometheus text exposition for /metrics: attempts and verdicts by reason, the cycle
// time histogram, today's quota use, fixture and camera health, live connections.
#include <sstream>

#include "web/api.hpp"
#include "web/http.hpp"

namespace linestation::web {

namespace {

// Label values escaped as the exposition format demands.
std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::int64_t as_int(const reports::Cell& cell) {
    if (auto v = std::get_if<std::int64_t>(&cell)) return *v;
    return 0;
}

std::string as_text(const reports::Cell& cell) {
    if (auto v = std::get_if<std::string>(&cell)) return *v;
    if (auto v = std::get_if<std::int64_t>(&cell)) return std::to_string(*v);
    return "";
}

}  // namespace

std::string store_metrics(store::Database& db, const std::string& day,
                          const reports::QuotaLimits& limits) {
    std::ostringstream out;
    out << "# HELP linestation_units_total Finished attempts by verdict and reason.\n"
           "# TYPE linestation_units_total counter\n";
    for (const auto& row : reports::verdict_totals(db).rows) {
        out << "linestation_units_total{verdict=\"" << label(as_text(row[0])) << "\",reason=\""
            << label(as_text(row[1])) << "\"} " << as_int(row[2]) << "\n";
    }
    auto h = reports::cycle_time_histogram(db, {30, 60, 90, 120, 180, 300, 600});
    out << "# HELP linestation_cycle_time_seconds Time from a unit's start to its verdict.\n"
           "# TYPE linestation_cycle_time_seconds histogram\n";
    for (std::size_t i = 0; i < h.bounds_s.size(); ++i) {
        out << "linestation_cycle_time_seconds_bucket{le=\"" << h.bounds_s[i] << "\"} "
            << h.cumulative[i] << "\n";
    }
    out << "linestation_cycle_time_seconds_bucket{le=\"+Inf\"} " << h.count << "\n"
        << "linestation_cycle_time_seconds_sum " << h.sum_s << "\n"
        << "linestation_cycle_time_seconds_count " << h.count << "\n";
    out << "# HELP linestation_quota_used Cloud unbinds used or reserved today, per account "
           "(all products) and per product (all accounts).\n# TYPE linestation_quota_used gauge\n";
    auto quota = reports::quota_today(db, day, limits);
    for (const auto& row : quota.rows) {
        out << "linestation_quota_used{scope=\"" << label(as_text(row[0])) << "\",id=\""
            << label(as_text(row[1])) << "\",name=\"" << label(as_text(row[2])) << "\"} "
            << as_int(row[3]) + as_int(row[4]) << "\n";
    }
    out << "# TYPE linestation_quota_limit_per_account gauge\nlinestation_quota_limit_per_account "
        << limits.per_account << "\n# TYPE linestation_quota_limit_per_product gauge\n"
        << "linestation_quota_limit_per_product " << limits.per_product << "\n";
    // Results each sink (the fleet, MES) has not taken yet, and when the oldest was made:
    // an outage shows as a growing backlog, its length as time() minus the timestamp.
    out << "# HELP linestation_outbox_backlog Results in the outbox a sink has not taken.\n"
           "# TYPE linestation_outbox_backlog gauge\n"
           "# HELP linestation_outbox_oldest_timestamp_seconds When the oldest result a sink "
           "has not taken was committed.\n"
           "# TYPE linestation_outbox_oldest_timestamp_seconds gauge\n"
           "# HELP linestation_outbox_sink_failing 1 while a sink's last delivery failed (its "
           "error is on /api/health).\n"
           "# TYPE linestation_outbox_sink_failing gauge\n"
           "# HELP linestation_outbox_parked Results a sink's far side refused for good.\n"
           "# TYPE linestation_outbox_parked gauge\n";
    for (const auto& [sink, b] : store::outbox_backlogs(db)) {
        out << "linestation_outbox_backlog{sink=\"" << label(sink) << "\"} " << b.count << "\n";
        out << "linestation_outbox_sink_failing{sink=\"" << label(sink) << "\"} "
            << (b.last_error.empty() ? 0 : 1) << "\n";
        out << "linestation_outbox_parked{sink=\"" << label(sink) << "\"} " << b.parked << "\n";
        if (b.oldest_ms) {
            out << "linestation_outbox_oldest_timestamp_seconds{sink=\"" << label(sink) << "\"} "
                << static_cast<double>(*b.oldest_ms) / 1000.0 << "\n";
        }
    }
    return out.str();
}

std::string Api::metrics_text() {
    std::string store_part;
    {
        // The all-time scans are cached like the summary: a scrape every few seconds
        // must not rescan a million units each time.
        std::lock_guard lock(summary_mutex_);
        auto it = summaries_.find("metrics");
        if (it != summaries_.end()) {
            store_part = it->second.json;
            if (clock_.now_s() - it->second.computed_s > options_.summary_max_age_s &&
                std::find(stale_.begin(), stale_.end(), "metrics") == stale_.end()) {
                stale_.push_back("metrics");
                summary_wake_.notify_one();
            }
        }
    }
    if (store_part.empty()) {
        store_part = compute_summary("metrics");
        std::lock_guard lock(summary_mutex_);
        summaries_["metrics"] = {store_part, clock_.now_s()};
    }
    auto health = station_.health();
    std::ostringstream out;
    out << store_part;
    out << "# TYPE linestation_store_ok gauge\nlinestation_store_ok " << (health.store_ok ? 1 : 0)
        << "\n# TYPE linestation_camera_ok gauge\nlinestation_camera_ok "
        << (health.camera_ok ? 1 : 0)
        << "\n# TYPE linestation_fixture_boards_faulted gauge\nlinestation_fixture_boards_faulted "
        << health.boards_faulted << "\n";
    out << "# HELP linestation_board_ok Whether the fixture board answers (0: faulted, being "
           "reopened).\n# TYPE linestation_board_ok gauge\n";
    for (const auto& b : health.boards) {
        out << "linestation_board_ok{board=\"" << label(b.id) << "\"} " << (b.ok ? 1 : 0) << "\n";
    }
    const auto batch = station_.batch();
    out << "# TYPE linestation_strays_removed_total counter\nlinestation_strays_removed_total "
        << batch.strays_removed
        << "\n# HELP linestation_left_bound Devices bound to the station's cloud accounts that it "
           "has not removed yet (the store's record; target 0 at a shift's end).\n# TYPE "
           "linestation_left_bound gauge\nlinestation_left_bound "
        << store_.left_bound().size() << "\n";
    out << "# TYPE linestation_slots gauge\n";
    std::map<std::string, int> steps;
    for (const auto& s : station_.slots()) ++steps[s.step];
    for (const auto& [step, n] : steps) {
        out << "linestation_slots{step=\"" << label(step) << "\"} " << n << "\n";
    }
    out << "# TYPE linestation_live_clients gauge\nlinestation_live_clients " << live_.clients()
        << "\n# TYPE linestation_live_frames_total counter\nlinestation_live_frames_total "
        << live_.frames_sent() << "\n# TYPE linestation_sessions gauge\nlinestation_sessions "
        << sign_in_.sessions().size() << "\n# TYPE linestation_uptime_seconds gauge\n"
        << "linestation_uptime_seconds " << health.uptime_s << "\n";
    return out.str();
}

}  // namespace linestation::web
