#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "station/store/dashboard_access.hpp"
#include "station/store/schema.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"

using namespace linestation::store;
using linestation::testing::TempDir;

TEST(Store, CreatesSchemaAtLatestVersionInWalMode) {
    TempDir dir;
    Store store(dir / "s.db");
    EXPECT_EQ(store.schema_version(), latest_schema_version());
    auto s = store.database().prepare("PRAGMA journal_mode");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.text(0), "wal");
    EXPECT_EQ(store.integrity_check(), "ok");
}

TEST(Store, MigratesFromFirstVersionWithDataKept) {
    TempDir dir;
    {
        Store v1(dir / "s.db", 1);
        EXPECT_EQ(v1.schema_version(), 1);
        v1.upsert_station({"st-1", "Line 1"});
    }
    Store latest(dir / "s.db");
    EXPECT_EQ(latest.schema_version(), latest_schema_version());
    ASSERT_TRUE(latest.station("st-1"));
    EXPECT_EQ(latest.station("st-1")->name, "Line 1");
}

// Migration 3: a batch recorded before it keeps its row with no provenance; batches after
// it carry the software version and recipe hash, and an attempt's measurements are kept
// with their limits and outcomes, in the verdict's transaction.
// Migration 5 only adds the dashboard's sessions and display tokens: a version 4 file keeps
// its users and batches, and starts with no session and no token.
TEST(Store, Migration5AddsDashboardSessionsAndDisplayTokens) {
    TempDir dir;
    {
        Store v3(dir / "s.db", 4);
        OperatorRecord op;
        op.login = "boss";
        op.role = "admin";
        op.password_hash = "x";
        v3.add_operator(op);
    }
    Store store(dir / "s.db", 5);
    EXPECT_EQ(store.schema_version(), 5);
    EXPECT_TRUE(store.find_operator("boss"));
    EXPECT_TRUE(sessions(store).empty());
    EXPECT_TRUE(display_tokens(store).empty());
    save_session(store, {"hash-1", "csrf-1", "boss", "admin", {}, 10, 20});
    touch_session(store, "hash-1", 30);
    ASSERT_EQ(sessions(store).size(), 1u);
    EXPECT_EQ(sessions(store)[0].last_seen_ms, 30);
    delete_expired_sessions(store, 31, 0);
    EXPECT_TRUE(sessions(store).empty());
    auto id = add_display_token(store, {0, "token-hash", "st-1", "QR 1", "boss", 5, std::nullopt});
    EXPECT_TRUE(live_display_token(store, "token-hash", "st-1"));
    EXPECT_FALSE(live_display_token(store, "token-hash", "st-2"));
    EXPECT_TRUE(revoke_display_token(store, id, 6));
    EXPECT_FALSE(revoke_display_token(store, id, 7));
    EXPECT_FALSE(live_display_token(store, "token-hash", "st-1"));
    EXPECT_EQ(display_tokens(store).at(0).revoked_ms, 6);
}

// Migration 6: a verdict's camera evidence. A version 5 file keeps its units; the crops
// are kept as bytes (a PNG is not UTF-8), and retention drops the oldest images past the
// size or the age bound while their rows, the units and their timelines stay.
TEST(Store, Migration6KeepsEvidenceBoundedBySizeAndAge) {
    TempDir dir;
    std::int64_t unit = 0;
    {
        Store v5(dir / "s.db", 5);
        UnitRecord u;
        u.serial = "SN-1";
        u.station_id = "st-1";
        u.slot = "A1";
        u.started_ms = 1000;
        unit = v5.begin_unit(u);
    }
    Store store(dir / "s.db", 6);
    EXPECT_EQ(store.schema_version(), 6);
    ASSERT_TRUE(store.unit(unit));
    EXPECT_TRUE(store.evidence(unit).empty());
    // PNG's signature, a NUL, then bytes that are no UTF-8: 1000 bytes.
    const std::string png =
        std::string("\x89PNG\r\n\x1a\n", 8) + std::string(1, '\0') + std::string(991, '\xff');
    const EvidenceRetention room{2500, 3'600'000};
    const std::int64_t now = 10'000'000;
    store.add_evidence(
        {unit, "ready", now - 30, R"({"color":"red","pattern":"blink"})", png, {}, 0}, room,
        now - 30);
    store.add_evidence({unit, "green", now - 20, R"({"color":"green"})", png, {}, 0}, room,
                       now - 20);
    EXPECT_EQ(store.evidence_bytes(), 2000u);
    // The third image would make 3000 bytes: the oldest one goes, its row stays.
    store.add_evidence({unit, "final", now, R"({"color":"red","timeline":[]})", png, {}, 0}, room,
                       now);
    EXPECT_EQ(store.evidence_bytes(), 2000u);
    auto kept = store.evidence(unit, true);
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_EQ(kept[0].moment, "ready");
    EXPECT_TRUE(kept[0].png.empty());
    EXPECT_EQ(kept[0].pruned_ms, now);
    EXPECT_EQ(kept[0].led_json, R"({"color":"red","pattern":"blink"})");
    EXPECT_EQ(kept[1].moment, "green");
    EXPECT_EQ(kept[1].png, png);  // byte for byte, NULs and all
    EXPECT_EQ(kept[2].moment, "final");
    EXPECT_EQ(kept[2].png_bytes, 1000);
    EXPECT_FALSE(kept[2].pruned_ms);
    // An hour later every image is past its age: all dropped, every record kept.
    const std::int64_t later = now + 3'600'001;
    store.add_evidence({unit, "final", later, R"({"color":"red"})", "", {}, 0}, room, later);
    EXPECT_EQ(store.evidence_bytes(), 0u);
    for (const auto& e : store.evidence(unit, true)) {
        EXPECT_TRUE(e.png.empty()) << e.moment;
        EXPECT_EQ(e.png_bytes, 0) << e.moment;
    }
    EXPECT_EQ(store.evidence(unit).size(), 3u);
    ASSERT_TRUE(store.unit(unit));
    EXPECT_EQ(store.unit(unit)->serial, "SN-1");
}

TEST(Store, Migration3AddsBatchProvenanceAndMeasurementRecords) {
    TempDir dir;
    BatchRecord b;
    b.kind = "pre_activation";
    b.recipe = "tuya-ipc-camera";
    b.station_id = "st-1";
    b.started_ms = 1000;
    std::int64_t old_batch = 0;
    {
        Store v2(dir / "s.db", 2);
        // Written as version 2 knew a batch: no provenance columns yet.
        v2.database().exec(
            "INSERT INTO batches(kind, recipe, station_id, started_ms) "
            "VALUES('unbind', 'tuya-ipc-camera', 'st-1', 500)");
        old_batch = v2.database().last_insert_id();
    }
    // Up to the latest: what version 3 added must survive every later migration.
    Store store(dir / "s.db");
    EXPECT_EQ(store.schema_version(), latest_schema_version());
    auto before = store.batch(old_batch);
    ASSERT_TRUE(before);
    EXPECT_FALSE(before->software_version);
    EXPECT_FALSE(before->recipe_sha256);

    b.software_version = "1.2.3";
    b.recipe_sha256 = std::string(64, 'a');
    auto id = store.start_batch(b);
    EXPECT_EQ(store.batch(id)->software_version, "1.2.3");
    EXPECT_EQ(store.batch(id)->recipe_sha256, std::string(64, 'a'));

    UnitRecord u;
    u.batch_id = id;
    u.station_id = "st-1";
    u.slot = "A1";
    u.started_ms = 1000;
    auto unit = store.begin_unit(u);
    store.finish_unit(unit, "FAIL", "out_of_limits", "{}", 2000,
                      {{"time_to_ready_s", 50.5, "s", std::nullopt, 45.0, "FAIL"},
                       {"time_to_online_s", std::nullopt, "s", 1.0, 90.0, "UNSET"}});
    auto m = store.measurements(unit);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].name, "time_to_ready_s");
    EXPECT_EQ(m[0].value, 50.5);
    EXPECT_FALSE(m[0].min);
    EXPECT_EQ(m[0].max, 45.0);
    EXPECT_EQ(m[0].outcome, "FAIL");
    EXPECT_FALSE(m[1].value);
    EXPECT_EQ(m[1].min, 1.0);
    EXPECT_EQ(m[1].outcome, "UNSET");
    // An outcome outside OpenHTF's three is refused, and with it the verdict: both or neither.
    auto other = store.begin_unit(u);
    EXPECT_THROW(store.finish_unit(other, "PASS", "ok", "{}", 2000,
                                   {{"x", 1.0, "s", std::nullopt, std::nullopt, "MAYBE"}}),
                 std::exception);
    EXPECT_FALSE(store.unit(other)->verdict);
    EXPECT_TRUE(store.measurements(other).empty());
}

TEST(Store, RefusesFileFromNewerVersion) {
    TempDir dir;
    {
        Database db(dir / "s.db");
        db.exec("PRAGMA user_version=" + std::to_string(latest_schema_version() + 1));
    }
    try {
        Store store(dir / "s.db");
        FAIL() << "opened a store newer than this software";
    } catch (const SchemaTooNew& e) {
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos);
    }
}

TEST(Store, EveryTableRoundTrips) {
    TempDir dir;
    Store store(dir / "s.db");
    store.upsert_station({"st-1", "Return line 1"});
    EXPECT_EQ(store.station("st-1")->name, "Return line 1");

    OperatorRecord op{0, "ana", "operator", {"tuya-ipc-camera", "tuya-smart-plug"}, "hash", false};
    auto op_id = store.add_operator(op);
    auto found = store.find_operator("ana");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, op_id);
    EXPECT_EQ(found->products, op.products);
    EXPECT_EQ(found->role, "operator");
    EXPECT_FALSE(store.find_operator("nobody"));
    EXPECT_FALSE(found->disabled);
    EXPECT_TRUE(store.disable_operator("ana"));
    EXPECT_TRUE(store.find_operator("ana")->disabled);
    EXPECT_FALSE(store.disable_operator("nobody"));
    // A login is unique.
    EXPECT_THROW(store.add_operator(op), SqliteError);
    // A role outside the three is refused by the schema.
    EXPECT_THROW(store.add_operator({0, "eve", "root", {}, "h", false}), SqliteError);

    auto account = store.add_cloud_account(
        {0, "owner", "https://openapi.tuyaeu.com", "cid", "uid-1", "owner", "env:TUYA_SECRET"});
    EXPECT_EQ(store.cloud_account(account)->secret_ref, "env:TUYA_SECRET");

    store.upsert_product(
        {"tuya-ipc-camera", "Tuya IP camera", "ipc", "strong", "tuya-ipc-camera.json"});
    EXPECT_EQ(store.product("tuya-ipc-camera")->binding_mode, "strong");

    BatchRecord batch;
    batch.kind = "unbind";
    batch.recipe = "tuya-ipc-camera";
    batch.product_id = "tuya-ipc-camera";
    batch.station_id = "st-1";
    batch.operator_login = "ana";
    batch.cloud_account_id = account;
    batch.started_ms = 1000;
    auto batch_id = store.start_batch(batch);
    store.end_batch(batch_id, 2000, "done");
    auto b = store.batch(batch_id);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->ended_ms, 2000);
    EXPECT_EQ(b->state, "done");
    EXPECT_FALSE(b->token);

    UnitRecord unit;
    unit.batch_id = batch_id;
    unit.serial = "SN-001";
    unit.device_id = "6c1234";
    unit.product_id = "tuya-ipc-camera";
    unit.station_id = "st-1";
    unit.slot = "A1";
    unit.started_ms = 1100;
    auto unit_id = store.begin_unit(unit);
    store.add_event({0, unit_id, 1200, "led", R"({"color":"red","pattern":"blink"})"});
    store.add_event({0, unit_id, 1150, "actuator", R"({"reset":"press"})"});
    store.finish_unit(unit_id, "PASS", "unbound", R"({"time_to_ready_s":12.5})", 1900);
    auto u = store.unit(unit_id);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->verdict, "PASS");
    EXPECT_EQ(u->reason, "unbound");
    EXPECT_EQ(u->ended_ms, 1900);
    auto events = store.events(unit_id);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, "actuator");  // ordered by time
    EXPECT_EQ(store.units_by_serial("SN-001").size(), 1u);
    EXPECT_THROW(store.finish_unit(9999, "PASS", "", "{}", 1), std::runtime_error);
    // Unknown event kinds are refused.
    EXPECT_THROW(store.add_event({0, unit_id, 1, "gossip", "{}"}), SqliteError);

    store.audit(5000, "ana", "batch.start", R"({"batch":1})");
    auto log = store.audit_log(0);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].action, "batch.start");
}

TEST(Store, ValuesAreBoundNeverSpliced) {
    TempDir dir;
    Store store(dir / "s.db");
    const std::string hostile = "x'); DROP TABLE units; --";
    UnitRecord unit;
    unit.station_id = "st";
    unit.slot = "A1";
    unit.serial = hostile;
    auto id = store.begin_unit(unit);
    EXPECT_EQ(store.unit(id)->serial, hostile);
    EXPECT_EQ(store.count_units(), 1);
}

TEST(Store, QuotaReservationStopsAtLimitAndGivesBack) {
    TempDir dir;
    Store store(dir / "s.db");
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(store.reserve_quota(1, "p", "2026-11-22", 3));
    EXPECT_FALSE(store.reserve_quota(1, "p", "2026-11-22", 3));
    store.settle_quota(1, "p", "2026-11-22", true);   // spent
    store.settle_quota(1, "p", "2026-11-22", false);  // never reached the cloud
    auto q = store.quota(1, "p", "2026-11-22");
    EXPECT_EQ(q.used, 1);
    EXPECT_EQ(q.reserved, 1);
    EXPECT_TRUE(store.reserve_quota(1, "p", "2026-11-22", 3));
    EXPECT_FALSE(store.reserve_quota(1, "p", "2026-11-22", 3));
    // Another day is a fresh count.
    EXPECT_TRUE(store.reserve_quota(1, "p", "2026-11-23", 3));
}

namespace {

// Account 7's and product "cam"'s rows of the day count one use and nothing reserved, and
// the one spent reservation paid for dev-1.
void expect_one_used_by_dev_1(Store& store, const std::string& day) {
    for (const auto& [account, product] : {std::pair<std::int64_t, std::string>{0, "cam"},
                                           std::pair<std::int64_t, std::string>{7, "*"}}) {
        const auto q = store.quota(account, product, day);
        EXPECT_EQ(q.used, 1) << account << " " << product;
        EXPECT_EQ(q.reserved, 0) << account << " " << product;
    }
    EXPECT_EQ(store.spent_devices(7), std::vector<std::string>{"dev-1"});
}

}  // namespace

// A clean stop's settlement without the cloud's word is kept for a recheck: the next start
// settles it anew, once, in either direction, and only the used counts move (it left the
// reserved ones at the stop). Until then it pays for no device.
TEST(Store, AReservationSettledForARecheckIsSettledAnewOnce) {
    TempDir dir;
    Store store(dir / "s.db");
    const std::string day = "2026-12-03";
    ReservationRequest r{7, "cam", day, "A1", 100, 10, 10};
    const auto given_back = store.open_reservation(r);
    const auto spent = store.open_reservation(r);
    ASSERT_TRUE(given_back && spent);
    ASSERT_EQ(store.settle_reservations(
                  {{*given_back, false, std::nullopt, "no answer for a code it never read", true},
                   {*spent, true, "dev-2", "the cloud could not say", true}},
                  200),
              2);
    EXPECT_TRUE(store.open_reservations().empty());
    ASSERT_EQ(store.reservations_to_recheck().size(), 2u);
    EXPECT_FALSE(store.reservations_to_recheck()[0].spent);
    EXPECT_TRUE(store.reservations_to_recheck()[1].spent);
    EXPECT_TRUE(store.spent_devices(7).empty()) << "a spend waiting for a recheck paid for dev-2";
    EXPECT_EQ(store.quota(0, "cam", day).used, 1);
    EXPECT_EQ(store.quota(0, "cam", day).reserved, 0);

    // The cloud's final word: the one given back activated late, the spent one never did.
    EXPECT_EQ(store.settle_reservations({{*given_back, true, "dev-1", "activated late"},
                                         {*spent, false, std::nullopt, "never activated"}},
                                        900),
              2);
    EXPECT_TRUE(store.reservations_to_recheck().empty());
    EXPECT_EQ(store.settle_reservations({{*spent, true, std::nullopt, "again"}}, 910), 0)
        << "settled for good";
    expect_one_used_by_dev_1(store, day);
}

// A reservation counts on the account's row and the product's row at once, or on neither;
// it is settled once (a second settlement of the same one changes nothing); a count no
// reservation row stands for (a store from before the rows) is spent at recovery.
TEST(Store, ReservationsCountOnBothRowsAndSettleOnce) {
    TempDir dir;
    Store store(dir / "s.db");
    const std::string day = "2026-12-02";
    ReservationRequest r{7, "cam", day, "A1", 100, /*account_limit=*/2, /*product_limit=*/3};
    const auto first = store.open_reservation(r);
    const auto second = store.open_reservation(r);
    ASSERT_TRUE(first && second);
    EXPECT_FALSE(store.open_reservation(r)) << "the account's row is full";
    EXPECT_EQ(store.quota(0, "cam", day).reserved, 2) << "a refused one leaves no trace";
    EXPECT_EQ(store.quota(7, "*", day).reserved, 2);
    ASSERT_EQ(store.open_reservations().size(), 2u);

    UnitRecord unit;
    unit.station_id = "st";
    unit.slot = "A1";
    unit.device_id = "dev-1";
    unit.started_ms = 50;
    store.begin_unit(unit);
    EXPECT_EQ(store.open_reservations()[0].device_id, "dev-1") << "the slot's unit's device";
    store.journal_removal(*first, "dev-1", 120);
    EXPECT_TRUE(store.open_reservations()[0].removal_sent);
    EXPECT_FALSE(store.open_reservations()[1].removal_sent);

    EXPECT_EQ(store.settle_reservations({{*first, true, "dev-1", "activated"}}, 200), 1);
    EXPECT_EQ(store.settle_reservations({{*first, false, std::nullopt, "again"}}, 210), 0);
    EXPECT_EQ(store.settle_reservations({{*second, false, std::nullopt, "refused"}}, 220), 1);
    expect_one_used_by_dev_1(store, day);
    EXPECT_TRUE(store.open_reservations().empty());

    // Counted the old way, with no row: spent, since nothing says what became of it.
    EXPECT_TRUE(store.reserve_quota(0, "cam", day, 10));
    EXPECT_TRUE(store.reserve_quota(7, "*", day, 10));
    r.account_limit = 10;
    ASSERT_TRUE(store.open_reservation(r));
    EXPECT_EQ(store.spend_unrecorded_reservations(), 1);
    EXPECT_EQ(store.quota(0, "cam", day).used, 2);
    EXPECT_EQ(store.quota(0, "cam", day).reserved, 1) << "the recorded one stays open";
    EXPECT_EQ(store.quota(7, "*", day).reserved, 1);

    store.journal_shown_token({7, "TOKEN001", 100, 400});
    store.journal_shown_token({7, "TOKEN002", 500, 800});
    store.journal_shown_token({8, "TOKEN003", 100, 900});
    const auto tokens = store.shown_tokens(7, 450, 600);
    ASSERT_EQ(tokens.size(), 1u) << "expired before 450, or another account's";
    EXPECT_EQ(tokens[0].token, "TOKEN002");
    EXPECT_TRUE(store.shown_tokens(7, 0, 100).empty()) << "shown at or after `before`";
}

TEST(Store, MarksUnitsInFlightInterrupted) {
    TempDir dir;
    Store store(dir / "s.db");
    UnitRecord unit;
    unit.station_id = "st";
    unit.slot = "A1";
    auto done = store.begin_unit(unit);
    store.finish_unit(done, "FAIL", "not ready", "{}", 10);
    auto in_flight = store.begin_unit(unit);
    auto ids = store.mark_interrupted(20, "station restarted");
    ASSERT_EQ(ids, std::vector<std::int64_t>{in_flight});
    EXPECT_EQ(store.unit(in_flight)->verdict, "INTERRUPTED");
    EXPECT_EQ(store.unit(done)->verdict, "FAIL");
}

TEST(Store, ReaderReadsWhileWriterWrites) {
    TempDir dir;
    auto file = dir / "s.db";
    Store writer_store(file);
    std::atomic<bool> writing{true};
    std::atomic<int> written{0};
    std::thread writer([&] {
        UnitRecord unit;
        unit.station_id = "st";
        unit.slot = "A1";
        for (int i = 0; i < 400; ++i) {
            auto id = writer_store.begin_unit(unit);
            writer_store.finish_unit(id, "PASS", "ok", "{}", i);
            written = i + 1;
        }
        writing = false;
    });
    Store reader_store(file);
    int reads = 0;
    std::int64_t last = 0;
    while (writing || reads == 0) {
        auto before = written.load();
        auto count = reader_store.count_units();
        // A reader sees a consistent, growing snapshot and is never blocked out.
        EXPECT_GE(count, before - 1);
        EXPECT_GE(count, last);
        last = count;
        ++reads;
    }
    writer.join();
    EXPECT_EQ(reader_store.count_units(), 400);
    EXPECT_GT(reads, 1);
}

// Issue 12, "Nothing left bound" counted in the store: a device found bound to the
// station's account is recorded once (a second finding keeps the first time, token and
// unit), its unit filled in from the store when the finder does not know it, until it is
// removed; found bound again after that, it is a new record. A reopened store still has it.
TEST(Store, DevicesLeftBoundAreRecordedOnceUntilRemoved) {
    TempDir dir;
    {
        Store store(dir / "s.db");
        BatchRecord batch;
        batch.kind = "unbind";
        batch.recipe = "cam";
        batch.station_id = "st";
        const auto batch_id = store.start_batch(batch);
        UnitRecord unit;
        unit.batch_id = batch_id;
        unit.station_id = "st";
        unit.slot = "A1";
        unit.serial = "tuya0123456789abcdef";
        unit.device_id = "dev-1";
        unit.started_ms = 10;
        const auto unit_id = store.begin_unit(unit);

        EXPECT_TRUE(store.left_bound().empty());
        EXPECT_TRUE(store.record_left_bound({0, "dev-1", 3, "AbCd1234", {}, {}, {}, 1000, {}}));
        EXPECT_FALSE(store.record_left_bound({0, "dev-1", 3, "ZzZz9999", {}, {}, {}, 2000, {}}))
            << "recorded twice while still bound";
        EXPECT_TRUE(store.record_left_bound({0, "stranger", 3, {}, {}, {}, {}, 1500, {}}));
        auto left = store.left_bound();
        ASSERT_EQ(left.size(), 2u);
        EXPECT_EQ(left[0].device_id, "dev-1");
        EXPECT_EQ(left[0].first_seen_ms, 1000);
        EXPECT_EQ(left[0].token, "AbCd1234");
        EXPECT_EQ(left[0].account_id, 3);
        EXPECT_EQ(left[0].unit_id, unit_id) << "the unit comes from the store";
        EXPECT_EQ(left[0].batch_id, batch_id);
        EXPECT_EQ(left[0].serial, "tuya0123456789abcdef");
        EXPECT_EQ(left[1].device_id, "stranger");
        EXPECT_FALSE(left[1].unit_id) << "a device nobody loaded is no unit's";

        EXPECT_TRUE(store.record_left_bound_removed("dev-1", 3000));
        EXPECT_FALSE(store.record_left_bound_removed("dev-1", 3500)) << "removed twice";
        EXPECT_FALSE(store.record_left_bound_removed("never-bound", 3500));
        ASSERT_EQ(store.left_bound().size(), 1u);
        EXPECT_EQ(store.left_bound()[0].device_id, "stranger");
        // Re-paired after its removal: bound again, from the new finding on.
        EXPECT_TRUE(store.record_left_bound({0, "dev-1", 3, "ZzZz9999", {}, {}, {}, 4000, {}}));
    }
    Store reopened(dir / "s.db");
    const auto left = reopened.left_bound();
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].device_id, "stranger");
    EXPECT_EQ(left[1].device_id, "dev-1");
    EXPECT_EQ(left[1].first_seen_ms, 4000);
    EXPECT_EQ(left[1].token, "ZzZz9999");
}
