// The outbox in the station's SQLite: written in the verdict's own transaction, read and
// acknowledged per sink in order.
#include <gtest/gtest.h>

#include "station/store/sqlite.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"

using namespace linestation;
using linestation::testing::TempDir;

TEST(Outbox, EveryVerdictLandsInTheOutboxWithItsRecordsAndTimeline) {
    TempDir dir;
    store::Store s(dir / "s.db");
    linestation::testing::commit_results(s, "st-7", 3);
    auto pending = s.outbox_pending("fleet", 10);
    ASSERT_EQ(pending.size(), 3u);
    const auto& e = pending[0];
    EXPECT_EQ(e.created_ms, 1'700'000'000'000);
    EXPECT_EQ(e.result_id.rfind("st-7/" + std::to_string(e.unit_id) + "/", 0), 0u) << e.result_id;
    // The payload is the committed unit: verdict, reason, original times, records, timeline.
    store::Database db(dir / "s.db", store::Database::Mode::ReadOnly);
    auto q = db.prepare(
        "SELECT json_extract(payload, '$.verdict'), json_extract(payload, '$.ended_ms'), "
        "json_extract(payload, '$.records[0].name'), json_extract(payload, '$.timeline[0].kind'), "
        "json_extract(payload, '$.measurements.boot_s'), json_extract(payload, '$.serial') "
        "FROM outbox WHERE id = ?");
    q.bind(1, e.id);
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.text(0), "FAIL");
    EXPECT_EQ(q.int64(1), 1'700'000'000'000);
    EXPECT_EQ(q.text(2), "boot_s");
    EXPECT_EQ(q.text(3), "led");
    EXPECT_DOUBLE_EQ(q.real(4), 12.5);
    EXPECT_EQ(q.text(5), "SN-0");
    EXPECT_NE(pending[0].result_id, pending[1].result_id);
}

TEST(Outbox, AFailedVerdictLeavesNoOutboxRow) {
    TempDir dir;
    store::Store s(dir / "s.db");
    EXPECT_THROW(s.finish_unit(4242, "PASS", "", "{}", 1), std::runtime_error);
    EXPECT_EQ(s.outbox_backlog("fleet").count, 0);
}

TEST(Outbox, InterruptedUnitsAreResultsToo) {
    TempDir dir;
    store::Store s(dir / "s.db");
    store::UnitRecord u;
    u.station_id = "st-1";
    u.slot = "A1";
    u.started_ms = 10;
    s.begin_unit(u);
    s.begin_unit(u);
    EXPECT_EQ(s.outbox_backlog("fleet").count, 0);
    s.mark_interrupted(99, "station restarted");
    auto b = s.outbox_backlog("fleet");
    EXPECT_EQ(b.count, 2);
    EXPECT_EQ(b.oldest_ms, 99);
}

TEST(Outbox, EachSinkAcknowledgesInOrderAndOnlyForItself) {
    TempDir dir;
    store::Store s(dir / "s.db");
    linestation::testing::commit_results(s, "st-1", 5);
    auto first = s.outbox_pending("fleet", 2);
    ASSERT_EQ(first.size(), 2u);
    s.acknowledge_outbox("fleet", first.back().id);
    EXPECT_EQ(s.outbox_backlog("fleet").count, 3);
    EXPECT_EQ(s.outbox_backlog("fleet").oldest_ms, 1'700'000'000'002);
    EXPECT_EQ(s.outbox_backlog("mes").count, 5);  // another sink has taken nothing yet
    // An older acknowledgement arriving late never moves the cursor back.
    s.acknowledge_outbox("fleet", first.front().id);
    auto rest = s.outbox_pending("fleet", 10);
    ASSERT_EQ(rest.size(), 3u);
    EXPECT_GT(rest.front().id, first.back().id);
}

TEST(Outbox, WhatEverySinkHasTakenIsPrunedAndTheRestStays) {
    TempDir dir;
    store::Store s(dir / "s.db");
    linestation::testing::commit_results(s, "st-1", 6);
    const auto all = s.outbox_pending("fleet", 10);
    s.acknowledge_outbox("fleet", all[4].id);
    s.acknowledge_outbox("mes", all[1].id);
    EXPECT_EQ(s.prune_outbox(), 2);
    EXPECT_EQ(s.outbox_backlog("mes").count, 4);
    EXPECT_EQ(s.outbox_backlog("fleet").count, 1);
    EXPECT_EQ(s.outbox_pending("mes", 10).front().id, all[2].id);
    // The results themselves stay in the store.
    EXPECT_EQ(s.count_units(), 6);
    // A new result after pruning never reuses a pruned id (the cursors stay right).
    s.acknowledge_outbox("mes", all[5].id);
    s.acknowledge_outbox("fleet", all[5].id);
    s.prune_outbox();
    linestation::testing::commit_results(s, "st-1", 1, "NEW");
    auto next = s.outbox_pending("fleet", 10);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_GT(next[0].id, all[5].id);
}
