#include "station/fleet/fleet_reports.hpp"

#include <cmath>
#include <stdexcept>

namespace linestation::fleet {

namespace {

using reports::Cell;
using reports::Table;

// $1, $2: the period; $3: the station or NULL for all.
constexpr const char* kWhere =
    " ended_ms >= $1::bigint AND ended_ms < $2::bigint AND ($3::text IS NULL OR station_id = "
    "$3::text) ";

std::vector<PgParam> params_of(const FleetFilter& f) {
    return {std::to_string(f.period.from_ms), std::to_string(f.period.to_ms),
            f.station ? PgParam(*f.station) : PgParam()};
}

double rounded(double v, double scale) {
    return std::round(v * scale) / scale;
}

}  // namespace

Table fleet_throughput(PgConnection& c, const FleetFilter& f, const std::string& by) {
    if (by != "station" && by != "product") {
        throw std::invalid_argument("by: expected station or product, got \"" + by + "\"");
    }
    const std::string key = by == "station" ? "station_id" : "coalesce(product_id, '')";
    Table t{"throughput_" + by, {by, "units", "attempts", "units_per_hour"}, {}};
    auto r = c.exec("SELECT " + key +
                        ", count(DISTINCT coalesce(serial, device_id, result_id)), count(*) FROM "
                        "fleet_results WHERE" +
                        kWhere + "GROUP BY 1 ORDER BY 2 DESC, 1",
                    params_of(f));
    for (int i = 0; i < r.rows(); ++i) {
        const auto units = r.int64(i, 1);
        t.rows.push_back({r.text(i, 0), units, r.int64(i, 2),
                          rounded(static_cast<double>(units) / f.period.hours(), 10)});
    }
    return t;
}

Table fleet_yield(PgConnection& c, const FleetFilter& f) {
    Table t{"yield", {"product_id", "devices", "passed", "yield"}, {}};
    auto r = c.exec(std::string("WITH d AS (SELECT coalesce(product_id, '') AS p, "
                                "coalesce(serial, device_id, result_id) AS dev, "
                                "bool_or(verdict = 'PASS') AS passed FROM fleet_results WHERE") +
                        kWhere +
                        "AND verdict <> 'INTERRUPTED' GROUP BY 1, 2) "
                        "SELECT coalesce(p, '(all)'), count(*), count(*) FILTER (WHERE passed) "
                        "FROM d GROUP BY ROLLUP (p) ORDER BY p IS NULL, p",
                    params_of(f));
    for (int i = 0; i < r.rows(); ++i) {
        const auto devices = r.int64(i, 1);
        const auto passed = r.int64(i, 2);
        t.rows.push_back({r.text(i, 0), devices, passed,
                          devices ? rounded(static_cast<double>(passed) / devices, 10000) : 0.0});
    }
    return t;
}

Table fleet_pareto(PgConnection& c, const FleetFilter& f) {
    Table t{"pareto", {"reason", "count", "cumulative_share"}, {}};
    auto r = c.exec(std::string("SELECT coalesce(reason, '(none)'), count(*) FROM fleet_results "
                                "WHERE") +
                        kWhere + "AND verdict <> 'PASS' GROUP BY 1 ORDER BY 2 DESC, 1",
                    params_of(f));
    std::int64_t total = 0;
    for (int i = 0; i < r.rows(); ++i) total += r.int64(i, 1);
    std::int64_t running = 0;
    for (int i = 0; i < r.rows(); ++i) {
        running += r.int64(i, 1);
        t.rows.push_back(
            {r.text(i, 0), r.int64(i, 1),
             rounded(static_cast<double>(running) / static_cast<double>(total), 10000)});
    }
    return t;
}

Table fleet_cycle_times(PgConnection& c, const FleetFilter& f, int bucket_s) {
    if (bucket_s < 1) throw std::invalid_argument("bucket_s: expected at least 1");
    Table t{"cycle_time", {"from_s", "to_s", "count"}, {}};
    auto params = params_of(f);
    params.push_back(std::to_string(bucket_s));
    auto r = c.exec(std::string("SELECT (ended_ms - started_ms) / ($4::bigint * 1000), count(*) "
                                "FROM fleet_results WHERE") +
                        kWhere + "AND verdict <> 'INTERRUPTED' GROUP BY 1 ORDER BY 1",
                    params);
    for (int i = 0; i < r.rows(); ++i) {
        const auto bucket = r.int64(i, 0);
        t.rows.push_back({bucket * bucket_s, (bucket + 1) * bucket_s, r.int64(i, 1)});
    }
    return t;
}

Table fleet_quota(PgConnection& c, const std::string& day) {
    Table t{"quota", {"scope", "id", "used", "cap"}, {}};
    auto r =
        c.exec("SELECT scope, id, used, cap FROM fleet_quota WHERE day = $1 ORDER BY 1, 2", {day});
    for (int i = 0; i < r.rows(); ++i) {
        t.rows.push_back({r.text(i, 0), r.text(i, 1), r.int64(i, 2), r.int64(i, 3)});
    }
    return t;
}

Table fleet_unit_history(PgConnection& c, const std::string& serial,
                         const std::optional<std::string>& station) {
    Table t{"unit_history",
            {"result_id", "serial", "device_id", "product_id", "station_id", "slot", "attempt",
             "batch_id", "operator", "started_ms", "ended_ms", "verdict", "reason",
             "software_version", "recipe_sha256"},
            {}};
    auto r = c.exec(
        "SELECT result_id, serial, device_id, product_id, station_id, slot, attempt, batch_id, "
        "payload->>'operator', started_ms, ended_ms, verdict, reason, "
        "payload->>'software_version', payload->>'recipe_sha256' FROM fleet_results "
        "WHERE (serial = $1 OR device_id = $1) AND ($2::text IS NULL OR station_id = $2::text) "
        "ORDER BY started_ms, result_id",
        {serial, station ? PgParam(*station) : PgParam()});
    for (int i = 0; i < r.rows(); ++i) {
        std::vector<Cell> row;
        for (int col = 0; col < 15; ++col) {
            if (r.is_null(i, col)) {
                row.emplace_back(std::monostate{});
            } else if (col == 6 || col == 7 || col == 9 || col == 10) {
                row.emplace_back(r.int64(i, col));
            } else {
                row.emplace_back(r.text(i, col));
            }
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

}  // namespace linestation::fleet
