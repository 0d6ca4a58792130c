#include "station/reports/supervisor.hpp"

#include <cmath>
#include <ctime>
#include <map>
#include <sstream>
#include <stdexcept>

namespace linestation::reports {

namespace {

using store::Statement;

// Attempts that say something about the device itself. An interrupted run, an operator's
// abort, a fixture or camera fault, or an abort because a neighbour faulted is the
// station's problem, not the unit's (reasons as station/flow names them).
constexpr const char* kCounted =
    "verdict IS NOT NULL AND verdict <> 'INTERRUPTED' "
    "AND COALESCE(reason, '') NOT IN ('operator_abort', 'fixture_fault', 'camera_lost') "
    "AND COALESCE(reason, '') NOT LIKE 'neighbo%' AND COALESCE(reason, '') NOT LIKE "
    "'aborted_neighbo%'";

// The scope's filter on units (alias "u." or ""), bound at ?10-?13 by bind_scope: an empty
// field matches every unit, so one statement text serves every scope. With no scope at all
// the statement is the unfiltered one, as fast as it ever was.
std::string scope_clause(const Scope& scope, const std::string& a) {
    if (scope.empty()) return " ";
    return " AND (?10 = '' OR " + a + "station_id = ?10) AND (?11 = '' OR COALESCE(" + a +
           "product_id, '') = ?11) AND (?12 = 0 OR " + a + "batch_id = ?12) AND (?13 = '' OR " + a +
           "batch_id IN (SELECT id FROM batches WHERE operator_login = ?13)) ";
}

void bind_scope(store::Statement& s, const Scope& scope) {
    if (scope.empty()) return;
    s.bind(10, scope.station);
    s.bind(11, scope.product);
    s.bind(12, scope.batch_id);
    s.bind(13, scope.operator_login);
}

std::string device_key() {
    return "COALESCE(serial, device_id, 'unit:' || id)";
}

}  // namespace

Period period_named(const std::string& name, std::int64_t now_ms) {
    std::int64_t span = 0;
    if (name == "shift") {
        span = 8LL * 3'600'000;
    } else if (name == "day") {
        span = 24LL * 3'600'000;
    } else if (name == "week") {
        span = 7LL * 24 * 3'600'000;
    } else {
        throw std::invalid_argument("period: expected shift, day or week, got \"" + name + "\"");
    }
    return Period{name, now_ms - span, now_ms, {}};
}

std::string utc_day(std::int64_t wall_ms) {
    std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[16];
    std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
    return text;
}

Table throughput(store::Database& db, const Period& period, const std::string& by) {
    std::string key;
    if (by == "station") {
        key = "u.station_id";
    } else if (by == "product") {
        key = "COALESCE(u.product_id, '')";
    } else if (by == "operator") {
        key = "COALESCE(b.operator_login, '')";
    } else {
        throw std::invalid_argument("by: expected station, operator or product, got \"" + by +
                                    "\"");
    }
    Table t{"throughput_" + by, {by, "units", "attempts", "units_per_hour"}, {}};
    auto sql = "SELECT " + key +
               " AS k, COUNT(DISTINCT COALESCE(u.serial, u.device_id, 'unit:' || u.id)), "
               "COUNT(*) FROM units u " +
               // Only the operator lives on the batch; other groupings stay on the index.
               std::string(by == "operator" ? "LEFT JOIN batches b ON b.id = u.batch_id " : "") +
               "WHERE u.ended_ms >= ?1 AND u.ended_ms < ?2 AND u.verdict IS NOT NULL " +
               scope_clause(period.scope, "u.") + "GROUP BY k ORDER BY 2 DESC";
    auto& s = db.cached(sql);
    s.bind_all(period.from_ms, period.to_ms);
    bind_scope(s, period.scope);
    while (s.step()) {
        auto units = s.int64(1);
        t.rows.push_back({s.text(0), units, s.int64(2),
                          std::round(static_cast<double>(units) / period.hours() * 10) / 10});
    }
    s.reset();
    return t;
}

Table hourly(store::Database& db, const Period& period) {
    Table t{"hourly", {"hour_start_ms", "attempts", "pass"}, {}};
    auto& s = db.cached(
        "SELECT (ended_ms - ?1) / 3600000, COUNT(*), SUM(verdict = 'PASS') FROM units "
        "WHERE ended_ms >= ?1 AND ended_ms < ?2 AND verdict IS NOT NULL" +
        scope_clause(period.scope, "") + "GROUP BY 1 ORDER BY 1");
    s.bind_all(period.from_ms, period.to_ms);
    bind_scope(s, period.scope);
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> by_hour;
    while (s.step()) by_hour[s.int64(0)] = {s.int64(1), s.int64(2)};
    s.reset();
    auto hours = static_cast<std::int64_t>(std::ceil(period.hours()));
    for (std::int64_t h = 0; h < hours; ++h) {
        auto it = by_hour.find(h);
        auto [attempts, pass] =
            it == by_hour.end() ? std::pair<std::int64_t, std::int64_t>{0, 0} : it->second;
        t.rows.push_back({period.from_ms + h * 3'600'000, attempts, pass});
    }
    return t;
}

Table yield(store::Database& db, const Period& period) {
    Table t{"yield",
            {"product", "units", "first_pass", "final_pass", "first_pass_yield", "final_yield"},
            {}};
    // One ordered pass (device, attempt) in C++: about three times cheaper than letting
    // SQLite group twice and join back.
    auto& s = db.cached(std::string("SELECT ") + device_key() +
                        ", COALESCE(product_id, ''), verdict = 'PASS' FROM units "
                        "WHERE ended_ms >= ?1 AND ended_ms < ?2 AND " +
                        kCounted + scope_clause(period.scope, "") + "ORDER BY 1, id");
    s.bind_all(period.from_ms, period.to_ms);
    bind_scope(s, period.scope);
    struct Counts {
        std::int64_t units = 0, first = 0, final_pass = 0;
    };
    std::map<std::string, Counts> by_product;
    std::string device, product;
    bool first_pass = false, last_pass = false, any = false;
    auto close_device = [&] {
        if (!any) return;
        auto& c = by_product[product];
        ++c.units;
        c.first += first_pass;
        c.final_pass += last_pass;
    };
    while (s.step()) {
        auto key = s.text(0);
        bool pass = s.int64(2) != 0;
        if (!any || key != device) {
            close_device();
            device = std::move(key);
            product = s.text(1);  // the device's product is its first attempt's
            first_pass = pass;
            any = true;
        }
        last_pass = pass;
    }
    s.reset();
    close_device();
    auto ratio = [](std::int64_t n, std::int64_t d) -> Cell {
        if (d == 0) return std::monostate{};
        return std::round(static_cast<double>(n) / static_cast<double>(d) * 10000) / 10000;
    };
    std::int64_t units = 0, first = 0, final_pass = 0;
    for (const auto& [name, c] : by_product) {
        units += c.units;
        first += c.first;
        final_pass += c.final_pass;
        t.rows.push_back({name, c.units, c.first, c.final_pass, ratio(c.first, c.units),
                          ratio(c.final_pass, c.units)});
    }
    t.rows.push_back({std::string("(all)"), units, first, final_pass, ratio(first, units),
                      ratio(final_pass, units)});
    return t;
}

Table pareto(store::Database& db, const Period& period) {
    Table t{"pareto", {"reason", "count", "cumulative_share"}, {}};
    // Station-side reasons stay in: the Pareto is where fixture faults show up.
    auto& s = db.cached(
        "SELECT COALESCE(reason, '(none)'), COUNT(*) FROM units "
        "WHERE ended_ms >= ?1 AND ended_ms < ?2 AND verdict IS NOT NULL "
        "AND verdict <> 'PASS'" +
        scope_clause(period.scope, "") + "GROUP BY 1 ORDER BY 2 DESC, 1");
    s.bind_all(period.from_ms, period.to_ms);
    bind_scope(s, period.scope);
    std::vector<std::pair<std::string, std::int64_t>> rows;
    std::int64_t total = 0;
    while (s.step()) {
        rows.emplace_back(s.text(0), s.int64(1));
        total += s.int64(1);
    }
    s.reset();
    std::int64_t running = 0;
    for (auto& [reason, count] : rows) {
        running += count;
        t.rows.push_back(
            {reason, count,
             std::round(static_cast<double>(running) / static_cast<double>(total) * 10000) /
                 10000});
    }
    return t;
}

Table cycle_times(store::Database& db, const Period& period, int bucket_s) {
    Table t{"cycle_time", {"from_s", "to_s", "count"}, {}};
    auto& s = db.cached(std::string("SELECT (ended_ms - started_ms) / (?3 * 1000), COUNT(*) FROM "
                                    "units WHERE ended_ms >= ?1 AND ended_ms < ?2 AND ") +
                        kCounted + scope_clause(period.scope, "") + "GROUP BY 1 ORDER BY 1");
    s.bind_all(period.from_ms, period.to_ms, bucket_s);
    bind_scope(s, period.scope);
    while (s.step()) {
        auto b = std::max<std::int64_t>(0, s.int64(0));
        t.rows.push_back({b * bucket_s, (b + 1) * bucket_s, s.int64(1)});
    }
    s.reset();
    return t;
}

Table quota_today(store::Database& db, const std::string& day, const QuotaLimits& limits) {
    // The controller keeps one row per account (product "*": all its products) and one per
    // product (account 0: all accounts), as the cloud counts them.
    Table t{"quota", {"scope", "id", "name", "used", "reserved", "limit", "warning"}, {}};
    auto& s = db.cached(
        "SELECT CASE WHEN q.product_id = '*' THEN 'account' ELSE 'product' END, "
        "CASE WHEN q.product_id = '*' THEN CAST(q.account_id AS TEXT) ELSE q.product_id END, "
        "CASE WHEN q.product_id = '*' THEN COALESCE(c.name, '') ELSE COALESCE(p.name, '') END, "
        "q.used, q.reserved FROM quota_usage q "
        "LEFT JOIN cloud_accounts c ON c.id = q.account_id "
        "LEFT JOIN products p ON p.id = q.product_id "
        "WHERE q.day = ?1 AND (q.product_id = '*' OR q.account_id = 0) ORDER BY 1, 2");
    s.bind_all(day);
    while (s.step()) {
        auto scope = s.text(0);
        auto used = s.int64(3), reserved = s.int64(4);
        auto limit = scope == "account" ? limits.per_account : limits.per_product;
        bool warn = static_cast<double>(used + reserved) >= limits.warn_fraction * limit;
        t.rows.push_back({scope, s.text(1), s.text(2), used, reserved,
                          static_cast<std::int64_t>(limit),
                          std::string(used + reserved >= limit ? "at limit"
                                      : warn                   ? "near limit"
                                                               : "")});
    }
    s.reset();
    return t;
}

Table unit_history(store::Database& db, const std::string& serial) {
    Table t{"unit_history",
            {"unit_id", "serial", "device_id", "product_id", "station_id", "slot", "attempt",
             "batch_id", "operator", "started_ms", "ended_ms", "verdict", "reason",
             "software_version", "recipe_sha256"},
            {}};
    auto& s = db.cached(
        "SELECT u.id, u.serial, u.device_id, u.product_id, u.station_id, u.slot, u.attempt, "
        "u.batch_id, b.operator_login, u.started_ms, u.ended_ms, u.verdict, u.reason, "
        "b.software_version, b.recipe_sha256 "
        "FROM units u LEFT JOIN batches b ON b.id = u.batch_id "
        "WHERE u.serial = ?1 OR u.device_id = ?1 ORDER BY u.started_ms, u.id");
    s.bind_all(serial);
    while (s.step()) {
        std::vector<Cell> row;
        for (int c = 0; c < 15; ++c) {
            if (s.is_null(c)) {
                row.emplace_back(std::monostate{});
            } else if (c == 0 || c == 6 || c == 7 || c == 9 || c == 10) {
                row.emplace_back(s.int64(c));
            } else {
                row.emplace_back(s.text(c));
            }
        }
        t.rows.push_back(std::move(row));
    }
    s.reset();
    return t;
}

Table unit_events(store::Database& db, std::int64_t unit_id) {
    Table t{"unit_events", {"t_ms", "kind", "detail"}, {}};
    auto& s = db.cached(
        "SELECT t_ms, kind, detail FROM unit_events WHERE unit_id = ?1 "
        "ORDER BY t_ms, id");
    s.bind_all(unit_id);
    while (s.step()) t.rows.push_back({s.int64(0), s.text(1), s.text(2)});
    s.reset();
    return t;
}

Table unit_evidence(store::Database& db, std::int64_t unit_id) {
    Table t{"unit_evidence", {"moment", "t_ms", "led", "image", "pruned_ms"}, {}};
    auto& s = db.cached(
        "SELECT moment, t_ms, led_json, png IS NOT NULL, pruned_ms FROM unit_evidence "
        "WHERE unit_id = ?1 "
        "ORDER BY CASE moment WHEN 'ready' THEN 0 WHEN 'green' THEN 1 ELSE 2 END, t_ms");
    s.bind_all(unit_id);
    while (s.step()) {
        t.rows.push_back({s.text(0), s.int64(1), s.text(2), s.int64(3),
                          s.is_null(4) ? Cell{} : Cell{s.int64(4)}});
    }
    s.reset();
    return t;
}

std::optional<std::string> evidence_png(store::Database& db, std::int64_t unit_id,
                                        const std::string& moment) {
    auto& s = db.cached(
        "SELECT png FROM unit_evidence WHERE unit_id = ?1 AND moment = ?2 AND png IS NOT NULL");
    s.bind_all(unit_id, moment);
    std::optional<std::string> out;
    if (s.step()) out = s.blob(0);
    s.reset();
    return out;
}

Table unit_measurements(store::Database& db, std::int64_t unit_id) {
    Table t{"unit_measurements", {"name", "value", "unit", "min", "max", "outcome"}, {}};
    auto& s = db.cached(
        "SELECT name, value, unit, min, max, outcome FROM measurements WHERE unit_id = ?1 "
        "ORDER BY id");
    s.bind_all(unit_id);
    const auto real = [&](int c) -> Cell {
        if (s.is_null(c)) return std::monostate{};
        return s.real(c);
    };
    while (s.step()) t.rows.push_back({s.text(0), real(1), s.text(2), real(3), real(4), s.text(5)});
    s.reset();
    return t;
}

Table cloud_accounts(store::Database& db) {
    Table t{"cloud_accounts",
            {"id", "name", "endpoint", "client_id", "uid", "relation", "secret_ref"},
            {}};
    auto& s = db.cached(
        "SELECT id, name, endpoint, client_id, uid, relation, secret_ref "
        "FROM cloud_accounts ORDER BY id");
    while (s.step()) {
        t.rows.push_back(
            {s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6)});
    }
    s.reset();
    return t;
}

Table verdict_totals(store::Database& db) {
    Table t{"verdict_totals", {"verdict", "reason", "count"}, {}};
    auto& s = db.cached(
        "SELECT verdict, COALESCE(reason, ''), COUNT(*) FROM units "
        "WHERE verdict IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2");
    while (s.step()) t.rows.push_back({s.text(0), s.text(1), s.int64(2)});
    s.reset();
    return t;
}

Histogram cycle_time_histogram(store::Database& db, const std::vector<double>& bounds_s) {
    Histogram h;
    h.bounds_s = bounds_s;
    std::string sql = "SELECT COUNT(*), COALESCE(SUM(d), 0)";
    for (std::size_t i = 0; i < bounds_s.size(); ++i) {
        sql += ", COALESCE(SUM(d <= ?" + std::to_string(i + 1) + "), 0)";
    }
    sql +=
        " FROM (SELECT (ended_ms - started_ms) / 1000.0 AS d FROM units "
        "WHERE ended_ms IS NOT NULL AND verdict IS NOT NULL)";
    auto s = db.prepare(sql);
    for (std::size_t i = 0; i < bounds_s.size(); ++i) s.bind(static_cast<int>(i + 1), bounds_s[i]);
    if (s.step()) {
        h.count = s.int64(0);
        h.sum_s = s.real(1);
        for (std::size_t i = 0; i < bounds_s.size(); ++i) {
            h.cumulative.push_back(s.int64(static_cast<int>(i + 2)));
        }
    }
    return h;
}

std::string to_csv(const Table& table) {
    auto quote = [](const std::string& v) {
        // Cells starting with a formula character are prefixed so spreadsheets show text.
        std::string text = v;
        if (!text.empty() &&
            (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')) {
            text = "'" + text;
        }
        if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
        std::string out = "\"";
        for (char c : text) {
            if (c == '"') out += '"';
            out += c;
        }
        return out + "\"";
    };
    std::ostringstream out;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        out << (i ? "," : "") << quote(table.columns[i]);
    }
    out << "\r\n";
    for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) out << ',';
            std::visit(
                [&](const auto& v) {
                    using V = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<V, std::string>) {
                        out << quote(v);
                    } else if constexpr (!std::is_same_v<V, std::monostate>) {
                        out << v;
                    }
                },
                row[i]);
        }
        out << "\r\n";
    }
    return out.str();
}

}  // namespace linestation::reports
