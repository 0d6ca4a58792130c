// Issue 14, "quota calls never hold the line", in real time: the virtual line's station with
// its quota shared through a fleet database that hangs (a frozen link: every call waits
// for its 1.5-3 s deadline). Two slots spend the block this station leased while online;
// the other two have nothing to spend and ask again and again. Their questions go to the
// quota's worker, so the two reset presses last their recipe time.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "app/demo_line.hpp"
#include "station/config/recipe.hpp"
#include "station/fleet/central_quota.hpp"
#include "station/fleet/station_fleet.hpp"
#include "station/runtime.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/pg_server.hpp"

namespace {

using namespace linestation;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point t) {
    return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

// What the station asks the fleet for: the virtual line's first account (its uid, as the
// virtual cloud names it) and product, today in UTC (the default quota day).
fleet::QuotaRequest first_account_today(const config::FleetSettings& f) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return {"station-account-1", "tuya-ipc-camera", f.quota_zone.day_of(now_ms), 100, 100};
}

void press_times_while_the_fleet_hangs(bool off_line_thread, std::vector<double>& presses) {
    linestation::testing::PgServer pg;
    linestation::testing::FreezableProxy proxy(pg.port());
    linestation::testing::TempDir dir;
    auto config = config::default_station_config();
    config.store_path = dir / "station.db";
    config::FleetSettings settings;
    settings.url = pg.url_on_port(proxy.port());
    settings.station_id = "st-hang";
    settings.when_offline = "lease";
    settings.lease = 2;
    Runtime runtime(config);
    {
        // Online first: a unit and the block of 2 beside it, kept in the station's store.
        store::Store store(config.store_path);
        fleet::CentralQuotaOptions o;
        o.when_offline = fleet::WhenOffline::Lease;
        o.lease = settings.lease;
        fleet::CentralQuota online(
            fleet::FleetLink{pg.url(), settings.station_id, {1000ms, 2000ms}}, o, &store);
        const auto grant = online.reserve(first_account_today(settings));
        ASSERT_EQ(grant.answer, fleet::QuotaAnswer::Granted);
        online.settle(grant.reservation_id, /*spent=*/false);
    }
    proxy.freeze();
    fleet::StationFleet fleet_link(settings, config.store_path, off_line_thread);
    const auto recipes = config::load_recipes(config.recipes_dir);
    const auto& recipe = recipes.at("tuya-ipc-camera");
    app::DemoLine line(runtime, virtual_line::virtual_fixture(4), recipes, 3600, &fleet_link);

    StartBatchRequest request;
    request.kind = "unbind";
    request.recipe = "tuya-ipc-camera";
    request.operator_login = "test";
    runtime.start_batch(request);

    const auto& fixture = line.twins().fixture();
    auto pressed = [&](const auto& s) {
        auto& board = line.twins().twin(s.reset->board);
        return board.last_on_time(s.reset->channel) && !board.channel(s.reset->channel);
    };
    const auto started = Steady::now();
    // The lease's two units are admitted once the first question has timed out (3 s),
    // then pressed for press_s; the other two never are.
    const double watch_ms = (recipe.reset.press_s + recipe.reset.power_off_s + 15) * 1000;
    while (ms_since(started) < watch_ms &&
           std::count_if(fixture.slots.begin(), fixture.slots.end(), pressed) < 2) {
        std::this_thread::sleep_for(50ms);
    }
    for (const auto& s : fixture.slots) {
        if (!pressed(s)) continue;
        const auto on = *line.twins().twin(s.reset->board).last_on_time(s.reset->channel);
        presses.push_back(on);
        std::printf("%s reset press %.3f s (recipe %.1f s) with the fleet hanging, quota %s\n",
                    s.id.c_str(), on, recipe.reset.press_s,
                    off_line_thread ? "off the line thread" : "inline");
    }
    proxy.thaw();
}

}  // namespace

TEST(FleetLine, ResetPressesKeepTheirTimeWhileTheFleetDatabaseHangs) {
    std::vector<double> presses;
    press_times_while_the_fleet_hangs(/*off_line_thread=*/true, presses);
    const auto recipes = config::load_recipes(config::default_station_config().recipes_dir);
    const double press_s = recipes.at("tuya-ipc-camera").reset.press_s;
    ASSERT_EQ(presses.size(), 2u) << "the lease's two units should have been pressed";
    for (double p : presses) EXPECT_NEAR(p, press_s, 0.05);
}
