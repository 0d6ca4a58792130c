#include "station/runtime.hpp"

#include <filesystem>

#include "linestation/version.hpp"

namespace linestation {

Runtime::Runtime(config::StationConfig config)
    : config_(std::move(config)), started_(std::chrono::steady_clock::now()) {
    if (config_.store_path.has_parent_path()) {
        std::filesystem::create_directories(config_.store_path.parent_path());
    }
    store_ = std::make_unique<store::Store>(config_.store_path);
    store_->upsert_station({config_.station_id, config_.station_name});
}

HealthReport Runtime::health() {
    HealthReport h;
    h.version = kVersion;
    h.station_id = config_.station_id;
    h.station_name = config_.station_name;
    h.uptime_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    try {
        h.schema_version = store_->schema_version();
        // A cheap liveness query rather than a full integrity check on every poll.
        h.store_ok = h.schema_version > 0;
    } catch (const std::exception&) {
        h.store_ok = false;
    }
    h.virtual_line = !config_.fixture_file.has_value();
    return h;
}

}  // namespace linestation
