#include "station/fleet/station_fleet.hpp"

#include <chrono>

namespace linestation::fleet {

namespace {
FleetLink link_of(const config::FleetSettings& s) {
    // Short deadlines: a slot waits on the quota's answer (inline, the line thread does).
    return {
        s.url, s.station_id, {std::chrono::milliseconds(1500), std::chrono::milliseconds(3000)}};
}

CentralQuotaOptions quota_options(const config::FleetSettings& s) {
    CentralQuotaOptions o;
    o.when_offline = s.when_offline == "lease" ? WhenOffline::Lease : WhenOffline::Stop;
    o.lease = s.lease;
    return o;
}
}  // namespace

StationFleet::StationFleet(const config::FleetSettings& settings,
                           const std::filesystem::path& store_file, bool off_line_thread)
    : settings_(settings),
      ledger_store_(store_file),
      quota_(link_of(settings), quota_options(settings), &ledger_store_),
      sink_(link_of(settings)),
      forwarder_(store_file, sink_) {
    if (off_line_thread) background_.emplace(quota_, BackgroundQuotaOptions{}, &ledger_store_);
}

std::function<std::string(std::int64_t)> StationFleet::day_function() const {
    return [zone = settings_.quota_zone](std::int64_t wall_ms) { return zone.day_of(wall_ms); };
}

}  // namespace linestation::fleet
