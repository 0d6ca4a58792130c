#include "station/fleet/station_fleet.hpp"

#include <chrono>
#include <cstdio>

namespace linestation::fleet {

namespace {
FleetLink link_of(const config::FleetSettings& s) {
    // The line thread waits on the quota's calls: short deadlines, then the slot waits.
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

std::string quota_day(std::int64_t wall_ms, int offset_min) {
    using namespace std::chrono;
    const auto local = sys_time<milliseconds>(milliseconds(wall_ms)) + minutes(offset_min);
    const year_month_day ymd{floor<days>(local)};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text;
}

StationFleet::StationFleet(const config::FleetSettings& settings,
                           const std::filesystem::path& store_file)
    : settings_(settings),
      quota_(link_of(settings), quota_options(settings)),
      sink_(link_of(settings)),
      forwarder_(store_file, sink_) {}

std::function<std::string(std::int64_t)> StationFleet::day_function() const {
    const int offset = settings_.day_offset_min;
    return [offset](std::int64_t wall_ms) { return quota_day(wall_ms, offset); };
}

}  // namespace linestation::fleet
