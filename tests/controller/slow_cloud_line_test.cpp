// Issue 12, "The cloud never stalls the line", at line level and in real time: the virtual
// line's station (`serve` without a config) with every cloud answer held 30 s. The reset
// presses last their recipe time and the slots API keeps answering, because cloud calls run
// off the line's thread and their answers are taken at a later tick.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "app/demo_line.hpp"
#include "fixtures/virtual/cloud/tuya_cloud_twin.hpp"
#include "station/config/recipe.hpp"
#include "station/runtime.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"
#include "tests/web/test_users.hpp"
#include "web/server.hpp"

namespace {

using namespace linestation;
using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point t) {
    return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

}  // namespace

TEST(SlowCloudLine, PressesLastTheirRecipeTimeAndTheSlotsAnswerWhileEveryCloudCallTakes30s) {
    linestation::testing::TempDir dir;
    auto config = config::default_station_config();
    config.store_path = dir / "station.db";
    Runtime runtime(config);
    linestation::testing::add_test_user(runtime.store(), "op", "operator", {"tuya-ipc-camera"},
                                        "op-password-1");
    const auto recipes = config::load_recipes(config.recipes_dir);
    const auto& recipe = recipes.at("tuya-ipc-camera");
    // No virtual operator reloads during the run: only the first presses are measured.
    app::DemoLine line(runtime, virtual_line::virtual_fixture(4), recipes, 3600);
    virtual_line::TwinFaults slow;
    slow.latency_min_s = slow.latency_max_s = 30;
    line.twins().cloud().set_faults(slow);

    web::ServerOptions options;
    options.port = 0;
    options.store_path = config.store_path;
    web::Server server(runtime, options);
    server.start();
    linestation::testing::ApiClient op(server.port());
    ASSERT_EQ(op.login("op", "op-password-1").status, 200);

    const auto started = Steady::now();
    auto start = op.post("/api/batch", R"({"recipe":"tuya-ipc-camera","kind":"unbind"})");
    ASSERT_EQ(start.status, 201) << start.body;
    EXPECT_LT(ms_since(started), 1000) << "starting a batch waited on the cloud";

    // Every slot's reset relay, as its twin records it.
    const auto& fixture = line.twins().fixture();
    auto presses_done = [&] {
        return std::all_of(fixture.slots.begin(), fixture.slots.end(), [&](const auto& s) {
            auto& board = line.twins().twin(s.reset->board);
            return board.last_on_time(s.reset->channel) && !board.channel(s.reset->channel);
        });
    };
    std::vector<double> latencies;
    const double watch_ms = (recipe.reset.press_s + recipe.reset.power_off_s + 8) * 1000;
    while (ms_since(started) < watch_ms) {
        const auto t = Steady::now();
        auto slots = op.get("/api/slots");
        latencies.push_back(ms_since(t));
        ASSERT_EQ(slots.status, 200);
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
        if (presses_done() && ms_since(started) > recipe.reset.press_s * 1000 + 3000) break;
    }
    ASSERT_TRUE(presses_done()) << "the reset presses did not end";
    for (const auto& s : fixture.slots) {
        const auto on = line.twins().twin(s.reset->board).last_on_time(s.reset->channel);
        EXPECT_NEAR(*on, recipe.reset.press_s, 0.05) << s.id << "'s press, in s";
        std::printf("%s reset press %.3f s (recipe %.1f s)\n", s.id.c_str(), *on,
                    recipe.reset.press_s);
    }
    ASSERT_GE(latencies.size(), 50u);
    std::sort(latencies.begin(), latencies.end());
    const double p50 = latencies[latencies.size() / 2];
    const double p99 = latencies[latencies.size() * 99 / 100];
    std::printf(
        "GET /api/slots during 30 s cloud answers: %zu calls, p50 %.2f ms, p99 %.2f ms, "
        "max %.2f ms\n",
        latencies.size(), p50, p99, latencies.back());
    EXPECT_LT(p99, 100.0);
    // Nothing was decided on a cloud that has not answered yet.
    for (const auto& s : runtime.slots()) EXPECT_FALSE(s.verdict) << s.slot;
    server.stop();
}
