// Supervisor reports against a real store with known attempts.
#include <gtest/gtest.h>

#include "station/reports/supervisor.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"

using namespace linestation;
using linestation::testing::TempDir;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

class Reports : public ::testing::Test {
  protected:
    void SetUp() override {
        store = std::make_unique<store::Store>(dir / "st.db");
        store::BatchRecord b;
        b.kind = "unbind";
        b.recipe = "cam-a";
        b.station_id = "station-1";
        b.operator_login = "ann";
        b.started_ms = kNow - 3'600'000;
        batch_ann = store->start_batch(b);
        b.operator_login = "bob";
        batch_bob = store->start_batch(b);
    }

    void attempt(std::int64_t batch, const std::string& serial, const std::string& product,
                 const std::string& verdict, const std::string& reason, std::int64_t ended_ago_ms,
                 std::int64_t cycle_ms = 60'000) {
        store::UnitRecord u;
        u.batch_id = batch;
        u.serial = serial;
        u.product_id = product;
        u.station_id = "station-1";
        u.slot = "A1";
        u.started_ms = kNow - ended_ago_ms - cycle_ms;
        auto id = store->begin_unit(u);
        store->finish_unit(id, verdict, reason, "{}", kNow - ended_ago_ms);
    }

    reports::Period day() { return reports::period_named("day", kNow); }

    TempDir dir;
    std::unique_ptr<store::Store> store;
    std::int64_t batch_ann = 0, batch_bob = 0;
};

std::int64_t int_at(const reports::Table& t, std::size_t row, std::size_t col) {
    return std::get<std::int64_t>(t.rows.at(row).at(col));
}

TEST_F(Reports, YieldCountsDevicesNotAttemptsAndIgnoresNeighbourFaults) {
    // S1: passes first time. S2: fails, then passes on retest (one unit, final pass).
    // S3: aborted because its neighbour faulted, then passes: first pass counts as PASS.
    // S4: fails twice. S5: only ever interrupted: not counted at all.
    attempt(batch_ann, "S1", "cam-a", "PASS", "", 5000);
    attempt(batch_ann, "S2", "cam-a", "FAIL", "cloud_timeout", 9000);
    attempt(batch_ann, "S2", "cam-a", "PASS", "", 4000);
    attempt(batch_ann, "S3", "cam-a", "INTERRUPTED", "neighbour_fault", 8000);
    attempt(batch_ann, "S3", "cam-a", "PASS", "", 3000);
    attempt(batch_bob, "S4", "cam-b", "FAIL", "never_ready", 7000);
    attempt(batch_bob, "S4", "cam-b", "FAIL", "never_ready", 2000);
    attempt(batch_bob, "S5", "cam-b", "INTERRUPTED", "aborted by operator", 1000);
    // S6: the operator aborted it, S7: the fixture faulted: neither is the unit's doing.
    attempt(batch_bob, "S6", "cam-b", "FAIL", "operator_abort", 1000);
    attempt(batch_bob, "S7", "cam-b", "FAIL", "fixture_fault", 1000);
    auto y = reports::yield(store->database(), day());
    ASSERT_EQ(y.rows.size(), 3u);  // cam-a, cam-b, (all)
    EXPECT_EQ(std::get<std::string>(y.rows[0][0]), "cam-a");
    EXPECT_EQ(int_at(y, 0, 1), 3);  // units
    EXPECT_EQ(int_at(y, 0, 2), 2);  // first pass: S1, S3
    EXPECT_EQ(int_at(y, 0, 3), 3);  // final pass: S1, S2, S3
    EXPECT_EQ(int_at(y, 1, 1), 1);  // cam-b: S4 only
    EXPECT_EQ(int_at(y, 1, 3), 0);
    EXPECT_EQ(int_at(y, 2, 1), 4);
    EXPECT_DOUBLE_EQ(std::get<double>(y.rows[2][4]), 0.5);
    EXPECT_DOUBLE_EQ(std::get<double>(y.rows[2][5]), 0.75);
}

TEST_F(Reports, ThroughputByOperatorCountsRetestedUnitsOnce) {
    attempt(batch_ann, "S1", "cam-a", "PASS", "", 5000);
    attempt(batch_ann, "S2", "cam-a", "FAIL", "x", 9000);
    attempt(batch_ann, "S2", "cam-a", "PASS", "", 4000);
    attempt(batch_bob, "S4", "cam-b", "PASS", "", 2000);
    attempt(batch_bob, "OLD", "cam-b", "PASS", "", 2LL * 24 * 3'600'000);  // outside the day
    auto t = reports::throughput(store->database(), day(), "operator");
    ASSERT_EQ(t.rows.size(), 2u);
    EXPECT_EQ(std::get<std::string>(t.rows[0][0]), "ann");
    EXPECT_EQ(int_at(t, 0, 1), 2);  // units
    EXPECT_EQ(int_at(t, 0, 2), 3);  // attempts
    EXPECT_EQ(int_at(t, 1, 1), 1);
    EXPECT_NEAR(std::get<double>(t.rows[0][3]), 2.0 / 24, 0.05);
    auto week =
        reports::throughput(store->database(), reports::period_named("week", kNow), "product");
    EXPECT_EQ(int_at(week, 0, 1) + int_at(week, 1, 1), 4);
    EXPECT_THROW(reports::throughput(store->database(), day(), "colour"), std::invalid_argument);
    EXPECT_THROW(reports::period_named("year", kNow), std::invalid_argument);
}

TEST_F(Reports, ParetoSortsReasonsWithCumulativeShare) {
    for (int i = 0; i < 3; ++i)
        attempt(batch_ann, "A" + std::to_string(i), "cam-a", "FAIL", "never_ready", 1000);
    attempt(batch_ann, "B", "cam-a", "FAIL", "quota_exceeded", 1000);
    attempt(batch_ann, "C", "cam-a", "INCONCLUSIVE", "led_unreadable", 1000);
    attempt(batch_ann, "D", "cam-a", "INTERRUPTED", "neighbour_fault", 1000);
    attempt(batch_ann, "E", "cam-a", "PASS", "", 1000);
    auto p = reports::pareto(store->database(), day());
    // Station-side reasons stay in the Pareto: that is where fixture faults show.
    ASSERT_EQ(p.rows.size(), 4u);
    EXPECT_EQ(std::get<std::string>(p.rows[0][0]), "never_ready");
    EXPECT_EQ(int_at(p, 0, 1), 3);
    EXPECT_DOUBLE_EQ(std::get<double>(p.rows[0][2]), 0.5);
    EXPECT_DOUBLE_EQ(std::get<double>(p.rows[3][2]), 1.0);
}

TEST_F(Reports, CycleTimesFallInTheirBuckets) {
    attempt(batch_ann, "A", "cam-a", "PASS", "", 1000, 10'000);
    attempt(batch_ann, "B", "cam-a", "PASS", "", 1000, 45'000);
    attempt(batch_ann, "C", "cam-a", "PASS", "", 1000, 50'000);
    auto c = reports::cycle_times(store->database(), day(), 30);
    ASSERT_EQ(c.rows.size(), 2u);
    EXPECT_EQ(int_at(c, 0, 0), 0);
    EXPECT_EQ(int_at(c, 0, 2), 1);
    EXPECT_EQ(int_at(c, 1, 0), 30);
    EXPECT_EQ(int_at(c, 1, 2), 2);
    auto h = reports::cycle_time_histogram(store->database(), {30, 60});
    EXPECT_EQ(h.count, 3);
    EXPECT_EQ(h.cumulative[0], 1);
    EXPECT_EQ(h.cumulative[1], 3);
    EXPECT_NEAR(h.sum_s, 105.0, 1e-6);
}

TEST_F(Reports, QuotaShowsAccountAndProductRowsAndWarnsNearTheLimit) {
    store::CloudAccountRecord account{0, "rma", "https://x", "id", "uid", "owner", "ENV"};
    auto id = store->add_cloud_account(account);
    store->upsert_product({"cam-a", "Camera A", "ipc", "strong", "cam-a"});
    auto today = reports::utc_day(kNow);
    // As the controller books them: the account row (product "*") and the product row
    // (account 0).
    for (int i = 0; i < 9; ++i) {
        ASSERT_TRUE(store->reserve_quota(id, "*", today, 10));
        ASSERT_TRUE(store->reserve_quota(0, "cam-a", today, 100));
    }
    for (int i = 0; i < 8; ++i) {
        store->settle_quota(id, "*", today, true);
        store->settle_quota(0, "cam-a", today, true);
    }
    auto q = reports::quota_today(store->database(), today, {10, 100, 0.9});
    ASSERT_EQ(q.rows.size(), 2u);
    EXPECT_EQ(std::get<std::string>(q.rows[0][0]), "account");
    EXPECT_EQ(std::get<std::string>(q.rows[0][1]), std::to_string(id));
    EXPECT_EQ(std::get<std::string>(q.rows[0][2]), "rma");
    EXPECT_EQ(int_at(q, 0, 3), 8);
    EXPECT_EQ(int_at(q, 0, 4), 1);
    EXPECT_EQ(int_at(q, 0, 5), 10);
    EXPECT_EQ(std::get<std::string>(q.rows[0][6]), "near limit");
    EXPECT_EQ(std::get<std::string>(q.rows[1][0]), "product");
    EXPECT_EQ(std::get<std::string>(q.rows[1][1]), "cam-a");
    EXPECT_EQ(std::get<std::string>(q.rows[1][2]), "Camera A");
    EXPECT_EQ(std::get<std::string>(q.rows[1][6]), "");
    ASSERT_TRUE(store->reserve_quota(id, "*", today, 10));
    auto full = reports::quota_today(store->database(), today, {10, 100, 0.9});
    EXPECT_EQ(std::get<std::string>(full.rows[0][6]), "at limit");
}

// A supervisor narrows the period to one station, operator, product or batch: every report
// of the summary keeps to it, and an empty scope takes everything.
TEST_F(Reports, TheScopeNarrowsEveryReportToItsStationOperatorProductOrBatch) {
    attempt(batch_ann, "S1", "cam-a", "PASS", "", 5000);
    attempt(batch_ann, "S2", "cam-b", "FAIL", "not_ready", 6000);
    attempt(batch_bob, "S3", "cam-a", "FAIL", "still_bound", 7000, 200'000);
    attempt(batch_bob, "S4", "cam-a", "PASS", "", 8000);
    auto scoped = [&](reports::Scope scope) {
        auto p = day();
        p.scope = std::move(scope);
        return p;
    };
    auto units = [&](const reports::Period& p) {
        auto t = reports::yield(store->database(), p);
        return int_at(t, t.rows.size() - 1, 1);  // the (all) row
    };
    EXPECT_EQ(units(day()), 4);
    EXPECT_EQ(units(scoped({"", "ann", "", 0})), 2);
    EXPECT_EQ(units(scoped({"", "", "cam-a", 0})), 3);
    EXPECT_EQ(units(scoped({"", "", "", batch_bob})), 2);
    EXPECT_EQ(units(scoped({"station-1", "bob", "cam-a", 0})), 2);
    EXPECT_EQ(units(scoped({"station-2", "", "", 0})), 0);
    auto pareto = reports::pareto(store->database(), scoped({"", "bob", "", 0}));
    ASSERT_EQ(pareto.rows.size(), 1u);
    EXPECT_EQ(std::get<std::string>(pareto.rows[0][0]), "still_bound");
    auto by_product = reports::throughput(store->database(), scoped({"", "ann", "", 0}), "product");
    EXPECT_EQ(by_product.rows.size(), 2u);
    auto by_operator =
        reports::throughput(store->database(), scoped({"", "", "cam-b", 0}), "operator");
    ASSERT_EQ(by_operator.rows.size(), 1u);
    EXPECT_EQ(std::get<std::string>(by_operator.rows[0][0]), "ann");
    auto cycles = reports::cycle_times(store->database(), scoped({"", "", "", batch_bob}));
    std::int64_t counted = 0;
    for (const auto& row : cycles.rows) counted += std::get<std::int64_t>(row[2]);
    EXPECT_EQ(counted, 2);
    std::int64_t hourly = 0;
    for (const auto& row : reports::hourly(store->database(), scoped({"", "", "cam-b", 0})).rows) {
        hourly += std::get<std::int64_t>(row[1]);
    }
    EXPECT_EQ(hourly, 1);
}

TEST(ReportsCsv, QuotesAndDefusesFormulas) {
    reports::Table t{"t",
                     {"a", "b"},
                     {{std::string("x,y"), std::int64_t{3}},
                      {std::string("=cmd()"), std::monostate{}},
                      {std::string("say \"hi\""), 1.5}}};
    EXPECT_EQ(reports::to_csv(t), "a,b\r\n\"x,y\",3\r\n'=cmd(),\r\n\"say \"\"hi\"\"\",1.5\r\n");
}

}  // namespace
