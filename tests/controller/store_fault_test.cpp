// The fault matrix's store case (issue 16): the store stops taking writes mid-batch, as on
// a full disk. SQLite's max_page_count makes the real SQLITE_FULL a full disk gives, through
// the same code, without a mount (the station's own "store": {"max_size_mb"} cap). The
// station must then admit no units and say why on /api/health and in its log, keep every
// record it had committed, and admit units again once the store takes writes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "app/demo_line.hpp"
#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/config/shipped_files.hpp"
#include "station/logging.hpp"
#include "station/runtime.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::TempDir;
using ::testing::HasSubstr;

namespace {

// Waits (real time) until `done` or `limit_s` passes; true when done.
template <typename Done>
bool wait_until(Done done, double limit_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

std::string file_text(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST(StoreFault, AFullStoreStopsAdmissionSaysWhyKeepsWhatWasCommittedAndRecovers) {
    TempDir dir;
    auto config = linestation::config::default_station_config();
    config.store_path = dir / "station.db";
    config.log_file = dir / "station.log";
    linestation::configure_logging(config.log_file, "information", false);
    linestation::Runtime runtime(config);
    const auto shipped = linestation::config::shipped_files();
    linestation::app::DemoLine demo(
        runtime, linestation::config::load_fixture(shipped.fixtures_dir / "virtual-8.json"),
        linestation::config::load_recipes(config.recipes_dir), 0.5);
    linestation::StartBatchRequest request;
    request.kind = "unbind";
    request.recipe = "tuya-ipc-camera";
    request.operator_login = "tester";
    runtime.start_batch(request);

    // Some verdicts committed (real time on the virtual line). Read on a connection of the
    // test's own: the station's belongs to its line thread.
    linestation::store::Store store(config.store_path);
    std::map<std::int64_t, std::string> committed;
    auto read_committed = [&] {
        committed.clear();
        for (std::int64_t id = 1; id <= store.count_units(); ++id) {
            auto u = store.unit(id);
            if (u && u->verdict) committed[id] = *u->verdict;
        }
        return committed.size() >= 2;
    };
    ASSERT_TRUE(wait_until(read_committed, 150)) << "no verdicts from the virtual line";
    const auto events_before = store.events(committed.begin()->first).size();

    // The disk is full from now on: not one more page.
    runtime.with_line([&](linestation::flow::Line&) { runtime.store().limit_size(0); });
    ASSERT_TRUE(wait_until([&] { return !runtime.health().store_problem.empty(); }, 60))
        << "the station did not notice that its store takes no writes";
    auto health = runtime.health();
    EXPECT_FALSE(health.store_ok);
    EXPECT_THAT(health.store_problem, HasSubstr("cannot be written"));
    EXPECT_THAT(health.store_problem, HasSubstr("full"));
    // No unit is admitted: neither a batch nor a reloaded slot.
    try {
        runtime.start_batch(request);
        ADD_FAILURE() << "a batch was started on a store that takes no writes";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("no units are admitted"));
    }
    try {
        runtime.reload_slot("A1", false, "tester");
        ADD_FAILURE() << "a slot was reloaded on a store that takes no writes";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("no units are admitted"));
    }
    // The virtual operator loads nothing either: no unit row appears while it is full.
    const auto units_at_fault = store.count_units();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_EQ(store.count_units(), units_at_fault);

    // Nothing committed was lost.
    EXPECT_EQ(store.integrity_check(), "ok");
    for (const auto& [id, verdict] : committed) {
        auto u = store.unit(id);
        ASSERT_TRUE(u && u->verdict) << "unit " << id << " lost its verdict";
        EXPECT_EQ(*u->verdict, verdict) << "unit " << id;
    }
    EXPECT_EQ(store.events(committed.begin()->first).size(), events_before);

    // Room again: the station finds out by itself and admits units.
    runtime.with_line(
        [&](linestation::flow::Line&) { runtime.store().limit_size(std::uint64_t{1} << 30); });
    ASSERT_TRUE(wait_until([&] { return runtime.health().store_problem.empty(); }, 30));
    EXPECT_TRUE(runtime.health().store_ok);
    // The log said both (its file is buffered: closed here by logging elsewhere).
    linestation::configure_logging("", "information", false);
    const auto log = file_text(config.log_file);
    EXPECT_THAT(log, HasSubstr("cannot be written"));
    EXPECT_THAT(log, HasSubstr("no units are admitted until it can"));
    EXPECT_THAT(log, HasSubstr("can be written again"));
}
