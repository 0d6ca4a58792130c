// The forwarder against a real PostgreSQL: every result present exactly once after the
// server crashed, after a half-open link (a frozen relay) and after a long outage, with
// the station's own timestamps.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "station/fleet/fleet_sink.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_db.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/fleet/pg_server.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::commit_results;
using linestation::testing::FreezableProxy;
using linestation::testing::PgServer;
using linestation::testing::TempDir;

namespace {

fleet::FleetLink link_to(const std::string& url, const std::string& station,
                         std::chrono::milliseconds deadline = 2000ms) {
    return {url, station, {deadline, deadline}};
}

outbox::ForwarderOptions quick() {
    outbox::ForwarderOptions o;
    o.idle_poll = 20ms;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    return o;
}

void expect_exactly_once(store::Store& s, const std::string& url) {
    const auto want = linestation::testing::station_units(s);
    const auto got = linestation::testing::pg_units(url);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "the fleet's results differ from the station's verdicts";
}

}  // namespace

TEST(Forwarder, DeliversEveryResultWithTheStationsOwnTimes) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    TempDir dir;
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 50);
    fleet::FleetResultSink sink(link_to(url, "st-1"));
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    ASSERT_TRUE(forwarder.drain(20s)) << forwarder.state().last_error;
    expect_exactly_once(s, url);
    // The verdict's time is the station's, not the server's arrival time.
    EXPECT_EQ(linestation::testing::pg_count(
                  url, "SELECT min(ended_ms) FROM fleet_results WHERE station_id = 'st-1'"),
              1'700'000'000'000);
    EXPECT_EQ(linestation::testing::pg_count(
                  url,
                  "SELECT count(*) FROM fleet_results WHERE verdict = 'FAIL' AND "
                  "reason = 'never_ready' AND payload->'records'->0->>'name' = 'boot_s'"),
              10);
    EXPECT_EQ(linestation::testing::pg_count(
                  url, "SELECT backlog FROM fleet_backlog WHERE station_id = 'st-1'"),
              0);
    EXPECT_EQ(forwarder.state().delivered, 50);
}

TEST(Forwarder, ServerCrashMidStreamLosesAndDuplicatesNothing) {
    PgServer pg;
    TempDir dir;
    store::Store s(dir / "s.db");
    fleet::FleetResultSink sink(link_to(pg.url(), "st-1", 1000ms));
    auto options = quick();
    options.batch = 7;  // many small deliveries, so the crash lands in the middle of them
    outbox::Forwarder forwarder(dir / "s.db", sink, options);
    // The line keeps committing verdicts until the server is back.
    std::atomic<bool> server_back{false};
    std::atomic<int> committed{0};
    std::thread line([&] {
        for (int round = 0; !server_back || round < 10; ++round) {
            commit_results(s, "st-1", 10, "R" + std::to_string(round));
            committed += 10;
            forwarder.nudge();
            std::this_thread::sleep_for(10ms);
        }
    });
    std::this_thread::sleep_for(100ms);
    pg.stop_immediate();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (forwarder.state().failures == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(200ms);
    EXPECT_GT(forwarder.state().failures, 0);
    EXPECT_FALSE(forwarder.state().sink_reachable);
    EXPECT_GT(forwarder.backlog().count, 0);
    pg.start();
    server_back = true;
    line.join();
    ASSERT_TRUE(forwarder.drain(30s)) << forwarder.state().last_error;
    EXPECT_EQ(s.outbox_backlog("fleet").count, 0);
    expect_exactly_once(s, pg.url());
    EXPECT_EQ(linestation::testing::pg_count(pg.url(), "SELECT count(*) FROM fleet_results"),
              committed.load());
    // The per-station count the summary reads counts each result once, resent or not.
    EXPECT_EQ(linestation::testing::pg_count(
                  pg.url(), "SELECT units FROM fleet_station_units WHERE station_id = 'st-1'"),
              committed.load());
}

TEST(Forwarder, HalfOpenLinkIsGivenUpOnAtTheDeadlineAndLostAnswersAreNotDuplicated) {
    auto& pg = linestation::testing::shared_pg_server();
    const auto direct = linestation::testing::fresh_database(pg);
    const auto db_name = direct.substr(direct.rfind('/') + 1);
    FreezableProxy proxy(pg.port());
    TempDir dir;
    store::Store s(dir / "s.db");
    const auto url = pg.url_on_port(proxy.port(), db_name);
    fleet::FleetResultSink sink(link_to(url, "st-1", 500ms));
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    commit_results(s, "st-1", 20, "A");
    ASSERT_TRUE(forwarder.drain(20s)) << forwarder.state().last_error;

    // The server's answers stop coming back: a delivery commits there, the station never
    // hears it and sends it again once the link is back.
    proxy.freeze(/*replies_only=*/true);
    commit_results(s, "st-1", 20, "B");
    forwarder.nudge();
    std::this_thread::sleep_for(1500ms);
    EXPECT_GT(forwarder.state().failures, 0);
    EXPECT_GT(linestation::testing::pg_count(direct, "SELECT count(*) FROM fleet_results"), 20)
        << "the delivery whose answer was lost should have committed on the server";
    EXPECT_EQ(s.outbox_backlog("fleet").count, 20) << "not acknowledged without an answer";

    // Nothing moves at all (a dead switch): no error ever comes, only the deadline.
    proxy.thaw();
    proxy.freeze();
    commit_results(s, "st-1", 20, "C");
    const auto before = forwarder.state().failures;
    std::this_thread::sleep_for(1500ms);
    EXPECT_GT(forwarder.state().failures, before);
    EXPECT_NE(forwarder.state().last_error.find("within"), std::string::npos)
        << forwarder.state().last_error;

    proxy.thaw();
    ASSERT_TRUE(forwarder.drain(20s)) << forwarder.state().last_error;
    expect_exactly_once(s, direct);
    EXPECT_EQ(linestation::testing::pg_count(direct, "SELECT count(*) FROM fleet_results"), 60);
    EXPECT_EQ(linestation::testing::pg_count(direct, "SELECT units FROM fleet_station_units"), 60);
}

TEST(Forwarder, TenThousandResultsQueuedInAnOutageAreDrainedNoneLostNoneDuplicated) {
    PgServer pg;
    TempDir dir;
    store::Store s(dir / "s.db");
    pg.stop_immediate();
    fleet::FleetResultSink sink(link_to(pg.url(), "st-9", 1000ms));
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    // The verdicts' own durability is not under test here: spare the 10,000 fsyncs.
    s.database().exec("PRAGMA synchronous=OFF");
    commit_results(s, "st-9", 10'000);
    EXPECT_EQ(s.outbox_backlog("fleet").count, 10'000);
    EXPECT_EQ(forwarder.state().delivered, 0);
    pg.start();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(forwarder.drain(90s)) << forwarder.state().last_error;
    const double s_taken =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "drained 10000 results in " << s_taken << " s\n";
    expect_exactly_once(s, pg.url());
    EXPECT_EQ(linestation::testing::pg_count(pg.url(),
                                             "SELECT count(DISTINCT serial) FROM fleet_results"),
              10'000);
}
