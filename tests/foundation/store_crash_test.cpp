// A power cut mid-batch, approximated by SIGKILL: every unit whose commit returned
// must be in the file afterwards, and the file must pass integrity_check.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"

using namespace linestation::store;
using linestation::testing::TempDir;

TEST(StoreCrash, EveryCommittedUnitSurvivesSigkill) {
    TempDir dir;
    auto file = dir / "crash.db";
    { Store init(file); }
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(pipe_fds[0]);
        Store store(file);
        UnitRecord unit;
        unit.station_id = "st";
        unit.slot = "A1";
        for (std::int64_t i = 0;; ++i) {
            unit.serial = "SN-" + std::to_string(i);
            auto id = store.begin_unit(unit);
            store.add_event({0, id, i, "flow", "{}"});
            store.finish_unit(id, "PASS", "ok", "{}", i);
            // Only after the commit returned does the parent learn of this unit.
            std::int64_t done = id;
            if (write(pipe_fds[1], &done, sizeof done) != sizeof done) _exit(1);
        }
    }
    close(pipe_fds[1]);
    std::int64_t last_committed = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
    while (std::chrono::steady_clock::now() < deadline) {
        std::int64_t id;
        if (read(pipe_fds[0], &id, sizeof id) == sizeof id) last_committed = id;
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Drain ids written before the kill.
    std::int64_t id;
    while (read(pipe_fds[0], &id, sizeof id) == sizeof id) last_committed = id;
    close(pipe_fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_GT(last_committed, 10) << "the child committed too little to test anything";

    Store reopened(file);
    EXPECT_EQ(reopened.integrity_check(), "ok");
    for (std::int64_t u = 1; u <= last_committed; ++u) {
        auto unit = reopened.unit(u);
        ASSERT_TRUE(unit) << "committed unit " << u << " lost";
        ASSERT_EQ(unit->verdict, "PASS") << "unit " << u;
    }
    // A unit begun but not finished at the kill is found and marked interrupted.
    auto interrupted = reopened.mark_interrupted(0, "station restarted");
    EXPECT_LE(interrupted.size(), 1u);
}
