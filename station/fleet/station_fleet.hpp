#pragma once
// Everything one station runs toward the fleet, from its config's "fleet" section: the
// forwarder that drains its outbox into PostgreSQL on its own thread, and the central
// quota its scheduler asks (SchedulerOptions::shared_quota).

#include <filesystem>
#include <functional>
#include <string>

#include "station/config/station_config.hpp"
#include "station/fleet/central_quota.hpp"
#include "station/fleet/fleet_sink.hpp"
#include "station/outbox/forwarder.hpp"

namespace linestation::fleet {

class StationFleet {
  public:
    StationFleet(const config::FleetSettings& settings, const std::filesystem::path& store_file);
    QuotaGate& quota() { return quota_; }
    outbox::Forwarder& forwarder() { return forwarder_; }
    // For SchedulerOptions::quota_day.
    std::function<std::string(std::int64_t)> day_function() const;
    const config::FleetSettings& settings() const { return settings_; }

  private:
    config::FleetSettings settings_;
    // Its own connection to the station's store: the quota's leases and settlements.
    store::Store ledger_store_;
    CentralQuota quota_;
    FleetResultSink sink_;
    outbox::Forwarder forwarder_;  // last: its thread starts once the sink exists
};

}  // namespace linestation::fleet
