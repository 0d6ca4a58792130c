#include "station/fleet/fleet_status.hpp"

#include <sstream>

#include "station/fleet/fleet_sink.hpp"

namespace linestation::fleet {

namespace {

void append_counts(std::string& out, const std::map<std::string, std::int64_t>& counts) {
    out += '{';
    bool first = true;
    for (const auto& [key, n] : counts) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key);
        out += ':' + std::to_string(n);
    }
    out += '}';
}

}  // namespace

FleetStatus read_fleet_status(PgConnection& c, const std::optional<std::string>& day) {
    FleetStatus s;
    // One snapshot for all four answers, so the units add up to the stations' counts.
    PgTransaction tx(c);
    c.exec_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    auto units = c.exec("SELECT station_id, units FROM fleet_station_units");
    for (int i = 0; i < units.rows(); ++i) {
        s.by_station[units.text(i, 0)] = units.int64(i, 1);
        s.units += units.int64(i, 1);
    }
    auto quota = c.exec(
        "SELECT scope, id, day, used, cap FROM fleet_quota WHERE day = coalesce($1, (SELECT "
        "max(day) FROM fleet_quota)) ORDER BY day, scope, id",
        {day ? PgParam(*day) : PgParam()});
    for (int i = 0; i < quota.rows(); ++i) {
        s.quota.push_back({quota.text(i, 0), quota.text(i, 1), quota.text(i, 2), quota.int64(i, 3),
                           quota.int64(i, 4)});
    }
    auto backlog = c.exec("SELECT station_id, backlog FROM fleet_backlog");
    for (int i = 0; i < backlog.rows(); ++i) s.backlog[backlog.text(i, 0)] = backlog.int64(i, 1);
    tx.commit();
    return s;
}

std::string FleetStatus::json() const {
    std::string out = "{\"units\":" + std::to_string(units) + ",\"by_station\":";
    append_counts(out, by_station);
    out += ",\"quota\":[";
    for (std::size_t i = 0; i < quota.size(); ++i) {
        const auto& q = quota[i];
        if (i) out += ',';
        out += "{\"scope\":";
        append_json_string(out, q.scope);
        out += ",\"id\":";
        append_json_string(out, q.id);
        out += ",\"day\":";
        append_json_string(out, q.day);
        out += ",\"used\":" + std::to_string(q.used) + ",\"cap\":" + std::to_string(q.cap) + "}";
    }
    out += "],\"backlog\":";
    append_counts(out, backlog);
    out += '}';
    return out;
}

std::string FleetStatus::text() const {
    std::ostringstream out;
    out << "units            " << units << "\n";
    for (const auto& [station, n] : by_station) {
        const auto b = backlog.find(station);
        out << "  " << station << "  " << n << " results, backlog "
            << (b == backlog.end() ? std::string("unknown") : std::to_string(b->second)) << "\n";
    }
    for (const auto& q : quota) {
        out << "quota " << q.scope << " " << q.id << " " << q.day << "  " << q.used << "/" << q.cap
            << "\n";
    }
    return out.str();
}

}  // namespace linestation::fleet
