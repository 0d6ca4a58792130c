#pragma once
// Results for the fleet tests: finished units committed through the store's own API, so
// each one lands in the outbox as a verdict does on the line.

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
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

// Replaces the outbox payload of the unit with `serial` behind the store's back: a result no
// sink can read (written by another program, a page the disk lost).
inline void spoil_result(const std::filesystem::path& store_file, const std::string& serial,
                         const std::string& payload) {
    sqlite3* raw = nullptr;
    const int opened = sqlite3_open(store_file.c_str(), &raw);
    const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
    if (opened != SQLITE_OK) throw std::runtime_error("cannot open " + store_file.string());
    sqlite3_stmt* raw_stmt = nullptr;
    sqlite3_prepare_v2(db.get(),
                       "UPDATE outbox SET payload = ?1 WHERE unit_id IN (SELECT id FROM units "
                       "WHERE serial = ?2)",
                       -1, &raw_stmt, nullptr);
    const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw_stmt,
                                                                          &sqlite3_finalize);
    if (!stmt) throw std::runtime_error(sqlite3_errmsg(db.get()));
    sqlite3_bind_text(stmt.get(), 1, payload.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt.get(), 2, serial.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE || sqlite3_changes(db.get()) != 1) {
        throw std::runtime_error("no outbox result of " + serial + " to spoil");
    }
}

}  // namespace linestation::testing
