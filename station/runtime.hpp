#pragma once
// The running station: its configuration, its store, and (as the controller grows)
// its line. Implements the service interface the web part talks to.

#include <chrono>
#include <memory>

#include "station/config/station_config.hpp"
#include "station/service.hpp"
#include "station/store/store.hpp"

namespace linestation {

class Runtime : public StationService {
public:
    explicit Runtime(config::StationConfig config);

    HealthReport health() override;

    const config::StationConfig& config() const { return config_; }
    store::Store& store() { return *store_; }

private:
    config::StationConfig config_;
    std::unique_ptr<store::Store> store_;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace linestation
