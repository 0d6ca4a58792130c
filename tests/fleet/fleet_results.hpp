#pragma once
// Results for the fleet tests: finished units committed through the store's own API, so
// each one lands in the outbox as a verdict does on the line.

#include <string>

#include "station/store/store.hpp"

namespace linestation::testing {

// Commits `n` finished units (serials prefix-0, prefix-1, ...) ended at base_ms + i.
inline void commit_results(store::Store& store, const std::string& station, int n,
                           const std::string& prefix = "SN",
                           std::int64_t base_ms = 1'700'000'000'000) {
    for (int i = 0; i < n; ++i) {
        store::UnitRecord u;
        u.station_id = station;
        u.slot = "A" + std::to_string(i % 16 + 1);
        u.serial = prefix + "-" + std::to_string(i);
        u.product_id = "tuya-ipc-camera";
        u.started_ms = base_ms + i - 60'000;
        const auto id =
            store.begin_unit(u, {{0, 0, base_ms + i - 59'000, "led", R"({"color":"red"})"}});
        store.finish_unit(id, i % 5 == 0 ? "FAIL" : "PASS", i % 5 == 0 ? "never_ready" : "",
                          R"({"boot_s":12.5})", base_ms + i,
                          {{"boot_s", 12.5, "s", 0.0, 60.0, "PASS"}});
    }
}

}  // namespace linestation::testing
