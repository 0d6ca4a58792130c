// How much camera evidence `station serve` keeps comes from the station config's "evidence"
// section (issue 13, "Disk use is bounded"): the virtual line's crops in a real store, pruned
// past the configured size while their records stay.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "app/line_assembly.hpp"
#include "station/config/station_config.hpp"
#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::ChildProcess;
using linestation::testing::TempDir;

namespace {

linestation::config::StationConfig config_of(const std::string& text) {
    return linestation::config::parse_station_config(
        linestation::config::JsonNode::parse(text, "station.json"), "");
}

struct KeptEvidence {
    int records = 0;
    int pruned = 0;
    std::uint64_t bytes = 0;
};

KeptEvidence kept_in(const std::filesystem::path& db) {
    linestation::store::Store store(db);
    KeptEvidence k;
    const auto units = store.count_units();
    for (std::int64_t id = 1; id <= units; ++id) {
        for (const auto& e : store.evidence(id)) {
            ++k.records;
            if (e.pruned_ms) ++k.pruned;
        }
    }
    k.bytes = store.evidence_bytes();
    return k;
}

}  // namespace

TEST(ServeEvidence, TheConfigsBoundsBecomeTheStoresRetention) {
    auto both = linestation::app::evidence_retention(
        config_of(R"({"evidence": {"max_mb": 2, "max_days": 0.5}})"));
    EXPECT_EQ(both.max_bytes, 2u << 20);
    EXPECT_EQ(both.max_age_ms, 12 * 3600 * 1000);
    // What the section leaves out keeps the store's default.
    const linestation::store::EvidenceRetention defaults;
    auto days_only =
        linestation::app::evidence_retention(config_of(R"({"evidence": {"max_days": 7}})"));
    EXPECT_EQ(days_only.max_bytes, defaults.max_bytes);
    EXPECT_EQ(days_only.max_age_ms, 7ll * 24 * 3600 * 1000);
    // A capped store without the section: pictures keep to a quarter of its cap.
    auto capped = linestation::app::evidence_retention(
        config_of(R"({"store": {"path": "s.db", "max_size_mb": 40}})"));
    EXPECT_EQ(capped.max_bytes, 10u << 20);
    EXPECT_EQ(capped.max_age_ms, defaults.max_age_ms);
}

// The virtual line (no fixture) in real time, a batch started by serve itself: with room for
// a few crops only, the oldest are dropped as new ones come, and every dropped one keeps its
// record (moment, LED reading, when it was dropped).
TEST(ServeEvidence, ServeKeepsNoMoreCropsThanTheConfigAllows) {
    TempDir dir;
    const double max_mb = 0.01;
    std::ofstream(dir / "station.json") << R"({
  "schema": 1,
  "station": {"id": "st-evidence"},
  "http": {"bind": "127.0.0.1", "port": 0},
  "store": {"path": "station.db"},
  "log": {"file": "station.log"},
  "fixture": null,
  "recipes": ")" << LS_SOURCE_DIR << R"(/recipes",
  "evidence": {"max_mb": )" << max_mb << R"(, "max_days": 30}
})";
    ChildProcess serve({LS_STATION_BINARY, "serve", "--config", (dir / "station.json").string(),
                        "--batch", "unbind:tuya-ipc-camera"});
    ASSERT_NE(serve.wait_for_line("listening on", 30), "");
    KeptEvidence k;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::seconds(2));
        k = kept_in(dir / "station.db");
        if (k.pruned >= 3) break;
    }
    serve.stop();
    k = kept_in(dir / "station.db");
    ASSERT_GE(k.pruned, 3) << k.records << " crops recorded, " << k.bytes << " bytes kept";
    EXPECT_GT(k.records, k.pruned) << "the newest crops are kept";
    EXPECT_LE(k.bytes, static_cast<std::uint64_t>(max_mb * 1024 * 1024));
    EXPECT_GT(k.bytes, 0u);
}
