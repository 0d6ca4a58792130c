#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "station/flow/scheduler.hpp"
#include "tests/controller/rig.hpp"

using linestation::flow::Admission;
using linestation::flow::QrScheduler;
using linestation::testing::Rig;
using linestation::testing::RigOptions;

namespace {

// A scheduler on the rig's cloud emulator and store, outside any line.
struct SchedulerRig {
    explicit SchedulerRig(int account_count = 1, int quota = 1000) {
        RigOptions o;
        o.accounts = account_count;
        o.quota_per_account = quota;
        o.quota_per_product = quota;
        rig = std::make_unique<Rig>(o);
        for (const auto& a : rig->assembly->accounts()) {
            auto id = rig->store->add_cloud_account(
                {0, a.uid + "-s", "virtual", a.uid, a.uid, "owner", ""});
            accounts.push_back({id, a.uid, a.uid, a.cloud, quota, quota});
        }
        scheduler = std::make_unique<QrScheduler>(rig->clock, *rig->store, accounts,
                                                  linestation::config::WifiSettings{"ssid", "pw"},
                                                  &station_screen);
    }
    std::unique_ptr<Rig> rig;
    std::vector<linestation::flow::CloudAccount> accounts;
    linestation::virtual_line::VirtualScreen screen;
    linestation::app::TwinScreen station_screen{screen};
    std::unique_ptr<QrScheduler> scheduler;
};

}  // namespace

TEST(Scheduler, ShowsAFreshCodeBeforeExpiryWhileDevicesWait) {
    SchedulerRig s;
    ASSERT_EQ(s.scheduler->admit("A1", "tuya-ipc-camera"), Admission::Admitted);
    s.scheduler->tick();
    const auto first = s.screen.payload();
    ASSERT_NE(first.find("\"t\":"), std::string::npos);
    const auto lifetime = s.scheduler->view().expires_in_s;
    ASSERT_GT(lifetime, 30);
    s.rig->clock.advance(lifetime - 31);
    s.scheduler->tick();
    EXPECT_EQ(s.screen.payload(), first) << "still fresh enough";
    s.rig->clock.advance(2);
    s.scheduler->tick();
    EXPECT_NE(s.screen.payload(), first) << "a device is waiting: a new code before expiry";
    EXPECT_GT(s.scheduler->view().expires_in_s, lifetime - 1);
}

TEST(Scheduler, NoCodeStaysUpWhenNobodyWaits) {
    SchedulerRig s;
    ASSERT_EQ(s.scheduler->admit("A1", "tuya-ipc-camera"), Admission::Admitted);
    s.scheduler->tick();
    ASSERT_TRUE(s.scheduler->join("A1", "dev-1"));
    s.scheduler->picked_up("A1");
    s.scheduler->settle("A1");
    s.rig->clock.advance(s.scheduler->view().expires_in_s + 1);
    s.scheduler->tick();
    EXPECT_TRUE(s.screen.payload().empty());
    EXPECT_FALSE(s.scheduler->view().active);
}

TEST(Scheduler, OneCodeServesAtMostThirtyDevices) {
    SchedulerRig s;
    for (int i = 0; i < 31; ++i) {
        ASSERT_EQ(s.scheduler->admit("S" + std::to_string(i), "tuya-ipc-camera"),
                  Admission::Admitted);
    }
    s.scheduler->tick();
    const auto generation = s.scheduler->view().generation;
    for (int i = 0; i < 30; ++i) {
        ASSERT_TRUE(s.scheduler->join("S" + std::to_string(i), "d" + std::to_string(i)));
        s.scheduler->picked_up("S" + std::to_string(i));
    }
    EXPECT_FALSE(s.scheduler->join("S30", "d30"));
    s.scheduler->tick();
    EXPECT_NE(s.scheduler->view().generation, generation);
    EXPECT_TRUE(s.scheduler->join("S30", "d30"));
}

TEST(Quota, ReservedBeforeTheAttemptAndGivenBackWhenTheCloudNeverSawIt) {
    SchedulerRig s(1, 2);
    const auto day = linestation::flow::utc_day(s.rig->clock.wall_ms());
    ASSERT_EQ(s.scheduler->admit("A1", "tuya-ipc-camera"), Admission::Admitted);
    ASSERT_EQ(s.scheduler->admit("A2", "tuya-ipc-camera"), Admission::Admitted);
    EXPECT_EQ(s.scheduler->admit("A3", "tuya-ipc-camera"), Admission::Exhausted);
    // Product-wide (all accounts) and account-wide rows, as the cloud counts them.
    EXPECT_EQ(s.rig->store->quota(0, "tuya-ipc-camera", day).reserved, 2);
    EXPECT_EQ(s.rig->store->quota(s.accounts[0].store_id, "*", day).reserved, 2);
    s.scheduler->settle("A1");  // never reached the cloud
    auto q = s.rig->store->quota(0, "tuya-ipc-camera", day);
    EXPECT_EQ(q.reserved, 1);
    EXPECT_EQ(q.used, 0);
    EXPECT_EQ(s.scheduler->admit("A3", "tuya-ipc-camera"), Admission::Admitted);
}

TEST(Quota, ExhaustedQuotaFailsUnitsWithoutSpendingADeviceCycle) {
    RigOptions o;
    o.quota_per_product = 2;
    Rig rig(o);
    rig.start();
    rig.run_until(1);
    for (int i = 0; i < 3; ++i) {
        rig.line->next_unit("A1", rig.vline->load("A1"));
        rig.run_until(rig.results.size() + 1);
    }
    ASSERT_EQ(rig.results.size(), 4u);
    EXPECT_EQ(rig.results[0].verdict, "PASS");
    EXPECT_EQ(rig.results[1].verdict, "PASS");
    for (int i = 2; i < 4; ++i) {
        EXPECT_EQ(rig.results[i].reason, "quota_exceeded");
        for (const auto& e : rig.store->events(rig.results[i].unit_id)) {
            EXPECT_NE(e.kind, "actuator") << "a refused unit's device was still reset";
        }
    }
}

TEST(Quota, SpreadsWorkOverSeveralAuthorizedAccounts) {
    RigOptions o;
    o.slots = 2;
    o.accounts = 2;
    o.quota_per_product = 10;
    o.quota_per_account = 2;
    Rig rig(o);
    rig.start();
    int loaded = 2;
    while (rig.results.size() < 4) {
        const auto before = rig.results.size();
        rig.run_until(before + 1);
        ASSERT_GT(rig.results.size(), before);
        for (auto i = before; i < rig.results.size() && loaded < 4; ++i, ++loaded) {
            const auto slot = rig.results[i].slot;
            rig.line->next_unit(slot, rig.vline->load(slot));
        }
    }
    for (const auto& r : rig.results) EXPECT_EQ(r.verdict, "PASS") << r.reason << " " << r.detail;
    EXPECT_EQ(rig.vline->cloud().unbinds_today_for_account("station-account-1"), 2);
    EXPECT_EQ(rig.vline->cloud().unbinds_today_for_account("station-account-2"), 2);
}

// Issue 12, "the cloud never stalls the line": with every cloud answer held for seconds, the
// scheduler's tick (run by the line under its lock, between a relay's press and release)
// returns at once; the code and the cloud's answers arrive with later ticks.
TEST(Scheduler, ASlowCloudNeverHoldsTheTick) {
    SchedulerRig s;
    linestation::virtual_line::TwinFaults slow;
    slow.latency_min_s = slow.latency_max_s = 1.5;
    s.rig->vline->cloud().set_faults(slow);
    linestation::flow::SchedulerOptions o;
    o.background_cloud = true;
    QrScheduler scheduler(s.rig->clock, *s.rig->store, s.accounts,
                          linestation::config::WifiSettings{"ssid", "pw"}, &s.station_screen, o);
    ASSERT_EQ(scheduler.admit("A1", "tuya-ipc-camera"), Admission::Admitted);
    using Clock = std::chrono::steady_clock;
    double longest_ms = 0;
    const auto began = Clock::now();
    bool shown = false;
    while (Clock::now() - began < std::chrono::seconds(8) && !shown) {
        const auto t0 = Clock::now();
        scheduler.tick();
        longest_ms = std::max(longest_ms,
                              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        shown = scheduler.generation_id() != 0;
        s.rig->clock.advance(0.1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(shown) << "the code never came: " << scheduler.last_error();
    // Token grant and pairing token took 1.5 s each; no tick waited for them.
    EXPECT_GT(std::chrono::duration<double>(Clock::now() - began).count(), 2.9);
    EXPECT_LT(longest_ms, 50.0);
}

// Under the world's latency the sweep's device checks were most of the cloud requests; in
// one queue they held a unit's answer back past its flow's window (issue 11). A unit's
// request submitted after the sweep's is run before them.
TEST(CloudCalls, AUnitsRequestGoesBeforeTheSweepsChecks) {
    using linestation::flow::CloudCalls;
    auto calls = linestation::flow::make_cloud_calls(true);
    std::mutex mutex;
    std::condition_variable released_cv;
    bool released = false;
    std::vector<std::string> ran;
    auto request = [&](std::string name) {
        return [&, name]() -> CloudCalls::Completion {
            std::lock_guard lock(mutex);
            ran.push_back(name);
            return {};
        };
    };
    // Holds the worker until every other request is queued.
    calls->submit(CloudCalls::Lane::Unit, [&]() -> CloudCalls::Completion {
        std::unique_lock lock(mutex);
        released_cv.wait(lock, [&] { return released; });
        ran.push_back("first");
        return {};
    });
    calls->submit(CloudCalls::Lane::Sweep, request("sweep 1"));
    calls->submit(CloudCalls::Lane::Sweep, request("sweep 2"));
    calls->submit(CloudCalls::Lane::Unit, request("unit"));
    {
        std::lock_guard lock(mutex);
        released = true;
    }
    released_cv.notify_all();
    const auto began = std::chrono::steady_clock::now();
    while (calls->running() > 0 &&
           std::chrono::steady_clock::now() - began < std::chrono::seconds(5)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard lock(mutex);
    EXPECT_EQ(ran, (std::vector<std::string>{"first", "unit", "sweep 1", "sweep 2"}));
}
