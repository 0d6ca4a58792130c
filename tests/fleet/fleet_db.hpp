#pragma once
// What the fleet's PostgreSQL holds, read back for assertions.

#include <set>
#include <string>

#include "station/fleet/pg.hpp"
#include "station/store/store.hpp"

namespace linestation::testing {

inline std::int64_t pg_count(const std::string& url, const std::string& sql) {
    fleet::PgConnection c(url);
    return c.exec(sql).int64(0, 0);
}

// Every result in the fleet as "station/unit", once per row: a unit sent twice shows twice.
inline std::multiset<std::string> pg_units(const std::string& url) {
    fleet::PgConnection c(url);
    auto r = c.exec("SELECT station_id || '/' || unit_id FROM fleet_results");
    std::multiset<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.insert(r.text(i, 0));
    return ids;
}

// Every unit of the station's store that has its verdict, as "station/unit".
inline std::multiset<std::string> station_units(store::Store& s) {
    std::multiset<std::string> ids;
    auto q =
        s.database().prepare("SELECT station_id || '/' || id FROM units WHERE verdict IS NOT NULL");
    while (q.step()) ids.insert(q.text(0));
    return ids;
}

}  // namespace linestation::testing
