#pragma once
// The fleet at a glance, from its PostgreSQL: units per station, the quota rows of a day
// and every station's last reported outbox backlog. `station fleet status --json` prints
// it as the contract's one line (shared/DESIGN.md section 3).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "station/fleet/pg.hpp"

namespace linestation::fleet {

struct QuotaRow {
    std::string scope;  // account | product
    std::string id;
    std::string day;
    std::int64_t used = 0;
    std::int64_t cap = 0;
};

struct FleetStatus {
    std::int64_t units = 0;
    std::map<std::string, std::int64_t> by_station;
    std::vector<QuotaRow> quota;
    std::map<std::string, std::int64_t> backlog;

    // {"units":N,"by_station":{..},"quota":[{"scope","id","day","used","cap"}],"backlog":{..}}
    std::string json() const;
    std::string text() const;
};

// `day`: the quota rows of that day (YYYY-MM-DD); none: of the latest day on record.
FleetStatus read_fleet_status(PgConnection& c, const std::optional<std::string>& day = {});

}  // namespace linestation::fleet
