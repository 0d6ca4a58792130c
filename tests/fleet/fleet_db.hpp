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

inline std::multiset<std::string> pg_result_ids(const std::string& url) {
    fleet::PgConnection c(url);
    auto r = c.exec("SELECT result_id FROM fleet_results");
    std::multiset<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.insert(r.text(i, 0));
    return ids;
}

inline std::multiset<std::string> outbox_result_ids(store::Store& s) {
    std::multiset<std::string> ids;
    for (const auto& e : s.outbox_pending("every-result", 1'000'000)) ids.insert(e.result_id);
    return ids;
}

}  // namespace linestation::testing
