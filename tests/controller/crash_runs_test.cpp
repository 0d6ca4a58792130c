// The store under repeated power cuts (issue 16): 50 runs of a shift, each killed with
// SIGKILL at a different moment mid-batch, on the same store file. After every kill the file
// passes SQLite's integrity check and every verdict the station had reported as committed
// (its --progress line is printed only after the commit) is there, unchanged; the next run's
// recovery marks the units caught in flight INTERRUPTED and leaves the others alone.
// A long run (label `long`, `make test-long`); tests/controller/crash_test.cpp has the one
// kill that `make test` runs.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::ChildProcess;
using linestation::testing::TempDir;

namespace {

int runs_wanted() {
    const char* value = std::getenv("LS_CRASH_RUNS");
    return value ? std::max(1, std::atoi(value)) : 50;
}

}  // namespace

TEST(CrashRuns, FiftyKillNineRunsLoseNoCommittedVerdictAndKeepTheStoreIntact) {
    TempDir dir;
    const auto db = (dir / "station.db").string();
    std::map<std::int64_t, std::string> committed;  // unit id -> verdict, over every run
    std::mt19937 random(16);
    const int runs = runs_wanted();
    int interrupted_seen = 0;
    for (int run = 0; run < runs; ++run) {
        // Kill after 1..40 committed verdicts, so the kill lands in every phase of a unit.
        const int wait_for = std::uniform_int_distribution<int>(1, 40)(random);
        {
            ChildProcess child({LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "100000",
                                "--db", db, "--progress", "--no-vision", "--seed",
                                std::to_string(run + 1)});
            for (int i = 0; i < wait_for; ++i) {
                auto line = child.wait_for_line("unit ", 60);
                ASSERT_FALSE(line.empty()) << "run " << run << ": no progress from the shift";
                std::istringstream in(line.substr(line.find("unit ")));
                std::string word, slot, serial, verdict;
                std::int64_t id = 0;
                in >> word >> id >> slot >> serial >> verdict;
                committed[id] = verdict;
            }
            const int status = child.stop(SIGKILL);
            ASSERT_TRUE(status == 128 + SIGKILL || status == -SIGKILL)
                << "run " << run << ": " << status;
        }
        linestation::store::Store store(db);
        ASSERT_EQ(store.integrity_check(), "ok") << "run " << run;
        for (const auto& [id, verdict] : committed) {
            auto u = store.unit(id);
            ASSERT_TRUE(u && u->verdict)
                << "run " << run << ": unit " << id << " lost its committed verdict";
            ASSERT_EQ(*u->verdict, verdict) << "run " << run << ": unit " << id;
        }
        for (std::int64_t id = 1; id <= store.count_units(); ++id) {
            auto u = store.unit(id);
            if (u && u->verdict && *u->verdict == "INTERRUPTED") ++interrupted_seen;
        }
    }
    // The runs after the first recovered what the kills caught in flight.
    EXPECT_GT(interrupted_seen, 0);
    std::cout << runs << " kill -9 runs, " << committed.size()
              << " committed verdicts checked after each, 0 lost, 0 integrity errors\n";
}
