#pragma once
// Everything one station runs toward the fleet, from its config's "fleet" section: the
// forwarder that drains its outbox into PostgreSQL on its own thread, and the central
// quota its scheduler asks (SchedulerOptions::shared_quota).

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "station/config/station_config.hpp"
#include "station/fleet/background_quota.hpp"
#include "station/fleet/central_quota.hpp"
#include "station/fleet/fleet_sink.hpp"
#include "station/outbox/forwarder.hpp"

namespace linestation::fleet {

class StationFleet {
  public:
    // `off_line_thread`: the quota is asked on a worker and its answers taken at a later
    // tick (a real-time line, whose reset presses must keep their time while the database
    // hangs); false asks inline (virtual time, where a wait costs no real press).
    StationFleet(const config::FleetSettings& settings, const std::filesystem::path& store_file,
                 bool off_line_thread = false);
    QuotaGate& quota() { return background_ ? static_cast<QuotaGate&>(*background_) : quota_; }
    outbox::Forwarder& forwarder() { return forwarder_; }
    // For SchedulerOptions::quota_day.
    std::function<std::string(std::int64_t)> day_function() const;
    const config::FleetSettings& settings() const { return settings_; }

  private:
    config::FleetSettings settings_;
    // Its own connection to the station's store: the quota's leases and settlements.
    store::Store ledger_store_;
    CentralQuota quota_;
    std::optional<BackgroundQuota> background_;
    FleetResultSink sink_;
    outbox::Forwarder forwarder_;  // last: its thread starts once the sink exists
};

}  // namespace linestation::fleet
