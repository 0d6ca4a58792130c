#pragma once
// The supervisor's views over the whole fleet, read from its PostgreSQL: the same Tables
// (station/reports) the station's own dashboard draws and exports, with an optional
// filter to one station.

#include <optional>
#include <string>

#include "station/fleet/pg.hpp"
#include "station/reports/supervisor.hpp"

namespace linestation::fleet {

struct FleetFilter {
    reports::Period period;
    std::optional<std::string> station;  // none: every station
};

// by: station | product. Columns as reports::throughput.
reports::Table fleet_throughput(PgConnection& c, const FleetFilter& f, const std::string& by);
// Per product and in total: devices, devices that passed, and their share (a device's
// attempts grouped by serial, else device id; INTERRUPTED attempts are not its fault).
reports::Table fleet_yield(PgConnection& c, const FleetFilter& f);
// Columns as reports::pareto.
reports::Table fleet_pareto(PgConnection& c, const FleetFilter& f);
// Columns as reports::cycle_times.
reports::Table fleet_cycle_times(PgConnection& c, const FleetFilter& f, int bucket_s = 30);
// The quota rows of one day: scope, id, used, cap.
reports::Table fleet_quota(PgConnection& c, const std::string& day);
// Every attempt of the device with this serial (or device id) on any station, oldest first.
reports::Table fleet_unit_history(PgConnection& c, const std::string& serial,
                                  const std::optional<std::string>& station = {});

}  // namespace linestation::fleet
