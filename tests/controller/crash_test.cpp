#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <set>
#include <sstream>
#include <thread>

#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::ChildProcess;
using linestation::testing::run_process;
using linestation::testing::TempDir;

TEST(Crash, KillNineMidBatchLosesNoVerdictAndMarksInFlightUnitsInterrupted) {
    TempDir dir;
    const auto db = (dir / "station.db").string();
    std::set<std::int64_t> committed;
    {
        ChildProcess child({LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "100000",
                            "--db", db, "--progress", "--no-vision"});
        // Each progress line is printed only after its verdict was committed.
        for (int i = 0; i < 12; ++i) {
            auto line = child.wait_for_line("unit ", 60);
            ASSERT_FALSE(line.empty()) << "no progress from the shift";
            std::istringstream in(line.substr(line.find("unit ")));
            std::string word;
            std::int64_t id = 0;
            in >> word >> id;
            committed.insert(id);
        }
        const int status = child.stop(SIGKILL);
        EXPECT_TRUE(status == 128 + SIGKILL || status == -SIGKILL) << status;
    }
    std::vector<std::int64_t> in_flight;
    {
        linestation::store::Store store(db);
        for (auto id : committed) {
            auto u = store.unit(id);
            ASSERT_TRUE(u && u->verdict) << "unit " << id << " lost its committed verdict";
        }
        for (std::int64_t id = 1; id <= store.count_units(); ++id) {
            auto u = store.unit(id);
            if (u && !u->verdict) in_flight.push_back(id);
        }
    }
    ASSERT_FALSE(in_flight.empty()) << "the kill should have caught units in flight";
    // Start again: recovery runs before anything else.
    auto r = run_process(
        {LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "0", "--db", db, "--no-vision"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("interrupted      " + std::to_string(in_flight.size())), std::string::npos)
        << r.out;
    linestation::store::Store store(db);
    for (auto id : in_flight) {
        auto u = store.unit(id);
        ASSERT_TRUE(u);
        EXPECT_EQ(u->verdict.value_or(""), "INTERRUPTED");
        const auto events = store.events(id);
        ASSERT_FALSE(events.empty());
        bool says_interrupted = false;
        for (const auto& e : events)
            says_interrupted |= e.detail_json.find("INTERRUPTED") != std::string::npos;
        EXPECT_TRUE(says_interrupted) << "unit " << id;
        // What it recorded before the kill is still there: at least its start.
        EXPECT_GE(events.size(), 2u) << "unit " << id << " lost its timeline";
    }
    for (auto id : committed) EXPECT_NE(store.unit(id)->verdict.value_or(""), "INTERRUPTED");
}

TEST(Crash, ServeKilledMidBatchComesBackWithItsUnitsInterrupted) {
    TempDir dir;
    const auto db = (dir / "station.db").string();
    std::vector<std::int64_t> started;
    {
        ChildProcess serve({LS_STATION_BINARY, "serve", "--port", "0", "--db", db, "--batch",
                            "unbind:tuya-ipc-camera"});
        ASSERT_FALSE(serve.wait_for_line("listening on", 30).empty());
        // Real time: within a few seconds every slot's unit is started and pressing reset.
        for (int i = 0; i < 100 && started.size() < 8; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            linestation::store::Store store(db);
            started.clear();
            for (std::int64_t id = 1; id <= store.count_units(); ++id) {
                for (const auto& e : store.events(id)) {
                    if (e.kind == "actuator") {
                        started.push_back(id);
                        break;
                    }
                }
            }
        }
        ASSERT_EQ(started.size(), 8u);
        serve.stop(SIGKILL);
    }
    ChildProcess again({LS_STATION_BINARY, "serve", "--port", "0", "--db", db});
    ASSERT_FALSE(again.wait_for_line("listening on", 30).empty());
    linestation::store::Store store(db);
    for (auto id : started) {
        auto u = store.unit(id);
        ASSERT_TRUE(u);
        // Its verdict came before the kill, or it is INTERRUPTED now: never left open.
        ASSERT_TRUE(u->verdict) << "unit " << id;
        if (*u->verdict == "INTERRUPTED") {
            EXPECT_GE(store.events(id).size(), 3u);
        }
    }
    EXPECT_EQ(again.stop(SIGTERM), 0);
}
