#pragma once
// What supervisors read from the store: throughput, yield, failure Pareto, cycle times,
// quota use and a unit's history. Every answer is a Table, so the dashboard can draw it
// and export it as CSV the same way. Queries are read-only and use the indexes of
// store migration 2 (units_report covers the throughput and yield scans).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "station/store/sqlite.hpp"

namespace linestation::reports {

using Cell = std::variant<std::monostate, std::int64_t, double, std::string>;

struct Table {
    std::string name;
    std::vector<std::string> columns;
    std::vector<std::vector<Cell>> rows;
};

// What a supervisor narrows the period's reports to; empty (0) fields take everything.
struct Scope {
    std::string station;
    std::string operator_login;
    std::string product;
    std::int64_t batch_id = 0;
    bool empty() const {
        return station.empty() && operator_login.empty() && product.empty() && batch_id == 0;
    }
};

struct Period {
    std::string name;  // shift | day | week
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;
    Scope scope;  // throughput, hourly, yield, Pareto and cycle times keep to it
    double hours() const { return static_cast<double>(to_ms - from_ms) / 3'600'000.0; }
};

// The period ending at `now_ms`: shift = last 8 h, day = last 24 h, week = last 7 days.
// Throws std::invalid_argument naming the expected values for any other name.
Period period_named(const std::string& name, std::int64_t now_ms);

// Units finished in the period per station, operator or product (`by`), with units per
// hour over the period. A unit here is a device: its retests count once.
Table throughput(store::Database& db, const Period& period, const std::string& by);
// Finished devices per hour slot across the period (for the throughput chart).
Table hourly(store::Database& db, const Period& period);
// Per product and in total: devices, first-pass and final yield. A device's attempts
// are grouped by serial (else device id); attempts ended INTERRUPTED, aborted by the
// operator, lost to a fixture or camera fault or to a neighbour's fault are not the
// device's fault and do not count.
Table yield(store::Database& db, const Period& period);
// Every attempt that did not pass, by reason (station-side ones included), largest
// first, with the cumulative share.
Table pareto(store::Database& db, const Period& period);
// Cycle time (start to verdict) of counted attempts in buckets of `bucket_s` seconds.
Table cycle_times(store::Database& db, const Period& period, int bucket_s = 30);
// Quota used today per cloud account and product, against the limits.
struct QuotaLimits {
    int per_account = 100;
    int per_product = 100;
    double warn_fraction = 0.9;
};
Table quota_today(store::Database& db, const std::string& day, const QuotaLimits& limits);
// Every attempt of the device with this serial (or device id), oldest first.
Table unit_history(store::Database& db, const std::string& serial);
// The event timeline of one attempt (LED changes, actuators, cloud answers, camera).
Table unit_events(store::Database& db, std::int64_t unit_id);
// The measurements of one attempt, each with its limits and its own outcome (store
// migration 3): name, value (null: never measured), unit, min, max, PASS|FAIL|UNSET.
Table unit_measurements(store::Database& db, std::int64_t unit_id);
// The camera evidence of one attempt (store migration 6), in moment order: moment (ready,
// green, final), t_ms, led (the reading's JSON; the final one with the unit's LED timeline),
// image (1 kept, 0 none taken or dropped), pruned_ms (when retention dropped it).
Table unit_evidence(store::Database& db, std::int64_t unit_id);
// One moment's crop as PNG bytes; none when there is no such crop or it was dropped.
std::optional<std::string> evidence_png(store::Database& db, std::int64_t unit_id,
                                        const std::string& moment);

// The cloud accounts the station may use (never a secret: only where it is kept).
Table cloud_accounts(store::Database& db);

// All-time attempts per verdict and reason (for Prometheus counters).
Table verdict_totals(store::Database& db);
struct Histogram {
    std::vector<double> bounds_s;          // upper bounds; +Inf is implied after the last
    std::vector<std::int64_t> cumulative;  // attempts with cycle time <= each bound
    double sum_s = 0;
    std::int64_t count = 0;
};
// All-time cycle times of finished attempts.
Histogram cycle_time_histogram(store::Database& db, const std::vector<double>& bounds_s);

// The UTC day "YYYY-MM-DD" of a wall time, as quota_usage keys it.
std::string utc_day(std::int64_t wall_ms);

std::string to_csv(const Table& table);

}  // namespace linestation::reports
