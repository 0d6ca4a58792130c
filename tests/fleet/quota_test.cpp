// The central quota against a real PostgreSQL: stations racing on one account never get
// more than its cap, a retried reservation is granted once, what is given back is free
// again, the sweeper expires the forgotten, and the offline behaviours hold.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "station/fleet/background_quota.hpp"
#include "station/fleet/central_quota.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_db.hpp"
#include "tests/fleet/pg_server.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::pg_count;
using linestation::testing::PgServer;

namespace {

fleet::FleetLink link_to(const std::string& url, const std::string& station) {
    return {url, station, {1000ms, 2000ms}};
}

fleet::QuotaRequest shared_account(int account_cap = 100, int product_cap = 100) {
    return {"uid-shared", "tuya-ipc-camera", "2026-12-02", account_cap, product_cap};
}

std::int64_t used(const std::string& url, const std::string& scope, const std::string& id) {
    return pg_count(url, "SELECT coalesce(sum(used), 0) FROM fleet_quota WHERE scope = '" + scope +
                             "' AND id = '" + id + "'");
}

}  // namespace

TEST(CentralQuota, FourStationsOfSixteenSlotsNeverGetMoreThanTheCap) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    std::atomic<int> granted{0};
    std::atomic<int> refused{0};
    std::atomic<int> unreachable{0};
    std::atomic<int> connected{0};
    std::vector<std::thread> slots;
    for (int station = 1; station <= 4; ++station) {
        for (int slot = 0; slot < 16; ++slot) {
            slots.emplace_back([&, station] {
                // Each slot asks on its own connection, so the race is the server's.
                fleet::CentralQuota quota(link_to(url, "st-" + std::to_string(station)));
                // All 64 connected before any asks, so they race for real.
                quota.has_room(shared_account());
                ++connected;
                while (connected < 64) std::this_thread::yield();
                for (;;) {
                    const auto g = quota.reserve(shared_account());
                    if (g.answer == fleet::QuotaAnswer::Granted) {
                        ++granted;
                    } else if (g.answer == fleet::QuotaAnswer::Refused) {
                        ++refused;
                        return;
                    } else {
                        ++unreachable;
                        return;
                    }
                }
            });
        }
    }
    for (auto& t : slots) t.join();
    EXPECT_EQ(unreachable.load(), 0);
    EXPECT_EQ(granted.load(), 100);
    EXPECT_EQ(refused.load(), 64);
    EXPECT_EQ(used(url, "account", "uid-shared"), 100);
    EXPECT_EQ(pg_count(url, "SELECT count(*) FROM fleet_reservations WHERE state = 'held'"), 100);
}

TEST(CentralQuota, ARetriedReservationIsGrantedOnce) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    fleet::CentralQuota quota(link_to(url, "st-1"));
    EXPECT_EQ(quota.reserve_as("st-1/r/1", shared_account()), fleet::QuotaAnswer::Granted);
    EXPECT_EQ(quota.reserve_as("st-1/r/1", shared_account()), fleet::QuotaAnswer::Granted);
    EXPECT_EQ(used(url, "account", "uid-shared"), 1);
    EXPECT_EQ(used(url, "product", "tuya-ipc-camera"), 1);
}

TEST(CentralQuota, TheProductCapHoldsAcrossAccountsAndGivenBackIsFreeAgain) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    fleet::CentralQuota quota(link_to(url, "st-1"));
    auto a = shared_account(100, 2);
    auto b = a;
    b.account = "uid-other";
    const auto first = quota.reserve(a);
    ASSERT_EQ(first.answer, fleet::QuotaAnswer::Granted);
    ASSERT_EQ(quota.reserve(b).answer, fleet::QuotaAnswer::Granted);
    EXPECT_EQ(quota.reserve(a).answer, fleet::QuotaAnswer::Refused);
    // Refused on the product's row: the account's row was not charged for it.
    EXPECT_EQ(used(url, "account", "uid-shared"), 1);
    EXPECT_EQ(quota.has_room(b), false);
    quota.settle(first.reservation_id, /*spent=*/false);
    EXPECT_EQ(used(url, "product", "tuya-ipc-camera"), 1);
    EXPECT_EQ(used(url, "account", "uid-shared"), 0);
    const auto again = quota.reserve(a);
    ASSERT_EQ(again.answer, fleet::QuotaAnswer::Granted);
    quota.settle(again.reservation_id, /*spent=*/true);
    quota.settle(again.reservation_id, /*spent=*/false);  // a late repeat changes nothing
    EXPECT_EQ(used(url, "product", "tuya-ipc-camera"), 2);
}

TEST(CentralQuota, TheSweeperExpiresReservationsNeverSettledAsSpent) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    fleet::CentralQuotaOptions o;
    o.hold = 1s;
    fleet::CentralQuota quota(link_to(url, "st-1"), o);
    ASSERT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Granted);
    EXPECT_EQ(quota.sweep(), 0);
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(quota.sweep(), 1);
    EXPECT_EQ(pg_count(url,
                       "SELECT count(*) FROM fleet_reservations WHERE state = "
                       "'expired' AND spent = n"),
              1);
    EXPECT_EQ(used(url, "account", "uid-shared"), 1);
}

TEST(CentralQuota, OfflineStopAdmitsNothingAndAnswersAtOnce) {
    PgServer pg;
    fleet::CentralQuota quota(link_to(pg.url(), "st-1"));
    const auto first = quota.reserve(shared_account());
    ASSERT_EQ(first.answer, fleet::QuotaAnswer::Granted);
    pg.stop_immediate();
    EXPECT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Unreachable);
    // While backing off, the next slot's question costs no connect deadline.
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Unreachable);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
    // Settled while away: kept and sent once the fleet is back.
    quota.settle(first.reservation_id, /*spent=*/false);
    EXPECT_EQ(quota.pending_settlements(), 1);
    pg.start();
    std::this_thread::sleep_for(300ms);  // past the first backoff
    EXPECT_TRUE(quota.flush());
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 0);
}

TEST(CentralQuota, OfflineLeaseSpendsOnlyItsBlockAndGivesBackTheRest) {
    PgServer pg;
    fleet::CentralQuotaOptions o;
    o.when_offline = fleet::WhenOffline::Lease;
    o.lease = 3;
    fleet::CentralQuota quota(link_to(pg.url(), "st-1"), o);
    ASSERT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Granted);
    // The unit and the block leased beside it.
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 4);
    pg.stop_immediate();
    std::vector<fleet::QuotaGrant> offline;
    for (int i = 0; i < 3; ++i) {
        offline.push_back(quota.reserve(shared_account()));
        EXPECT_EQ(offline.back().answer, fleet::QuotaAnswer::Granted) << i;
    }
    EXPECT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Unreachable)
        << "the lease is spent: the station may not spend more alone";
    quota.settle(offline[0].reservation_id, /*spent=*/false);  // never reached the cloud
    quota.settle(offline[1].reservation_id, /*spent=*/true);
    EXPECT_EQ(quota.lease_spent_offline(), 2);  // one spent, one still running
    pg.start();
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(quota.flush());
    // The online unit (held) plus the two units of the lease; the third unit went back.
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 3);
    EXPECT_EQ(pg_count(pg.url(), "SELECT spent FROM fleet_reservations WHERE kind = 'lease'"), 2);
}

namespace {
// A station in a child process, killed -9 by the test: it and the test take turns with one
// byte over a pipe each way (the child says, the test hears, and back).
class ChildStation {
  public:
    // Forks; the child runs `station` and then waits to be killed.
    explicit ChildStation(const std::function<void(ChildStation&)>& station) {
        if (::pipe(to_child_) != 0 || ::pipe(to_parent_) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork");
        if (pid_ == 0) {
            station(*this);
            for (;;) ::pause();  // until killed
        }
    }
    // A test that stopped early leaves no station behind.
    ~ChildStation() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    ChildStation(const ChildStation&) = delete;
    ChildStation& operator=(const ChildStation&) = delete;
    // In the child: the test's turn now, and the child's turn again.
    void say() { write_byte(to_parent_[1]); }
    void hear() {
        if (!read_byte(to_child_[0])) ::_exit(3);
    }
    // In the test: the child's turn now, and the test's turn again.
    void tell() { write_byte(to_child_[1]); }
    bool heard() { return read_byte(to_parent_[0]); }
    ::testing::AssertionResult kill_minus9() {
        if (::kill(pid_, SIGKILL) != 0) return ::testing::AssertionFailure() << "kill failed";
        int status = 0;
        if (::waitpid(pid_, &status, 0) != pid_) return ::testing::AssertionFailure() << "waitpid";
        reaped_ = true;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            return ::testing::AssertionFailure() << "the child ended otherwise: " << status;
        }
        return ::testing::AssertionSuccess();
    }

  private:
    static void write_byte(int fd) {
        const char c = 'x';
        if (::write(fd, &c, 1) != 1) ::_exit(3);
    }
    static bool read_byte(int fd) {
        char c = 0;
        return ::read(fd, &c, 1) == 1;
    }
    int to_child_[2] = {-1, -1};
    int to_parent_[2] = {-1, -1};
    pid_t pid_ = -1;
    bool reaped_ = false;
};
}  // namespace

TEST(CentralQuota, AStationKilledMinus9KeepsItsLeaseAndItsSettlements) {
    PgServer pg;
    linestation::testing::TempDir dir;
    const auto store_file = dir / "station.db";
    store::Store{store_file};  // migrated before the child forks
    fleet::CentralQuotaOptions o;
    o.when_offline = fleet::WhenOffline::Lease;
    o.lease = 3;
    ChildStation child([&](ChildStation& turns) {
        // The station: online, one unit and the lease beside it; then, with the fleet gone,
        // three units from the lease, of which one is spent, one given back and one still
        // running when it is killed; the online unit is settled (given back) while away.
        store::Store store(store_file);
        fleet::CentralQuota quota(link_to(pg.url(), "st-1"), o, &store);
        const auto online = quota.reserve(shared_account());
        if (online.answer != fleet::QuotaAnswer::Granted) ::_exit(4);
        turns.say();
        turns.hear();  // the fleet is down now
        std::vector<fleet::QuotaGrant> offline;
        for (int i = 0; i < 3; ++i) {
            offline.push_back(quota.reserve(shared_account()));
            if (offline.back().answer != fleet::QuotaAnswer::Granted) ::_exit(6);
        }
        quota.settle(offline[0].reservation_id, /*spent=*/true);
        quota.settle(offline[1].reservation_id, /*spent=*/false);
        quota.settle(online.reservation_id, /*spent=*/false);
        turns.say();
    });
    ASSERT_TRUE(child.heard());
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 4);  // the unit and the lease of 3
    pg.stop_immediate();
    child.tell();
    ASSERT_TRUE(child.heard());
    ASSERT_TRUE(child.kill_minus9());

    // Started again, still offline: the settlement is still owed, and the lease still has
    // the one unit the dead process had not spent (the running one counts as spent).
    store::Store store(store_file);
    fleet::CentralQuota quota(link_to(pg.url(), "st-1"), o, &store);
    EXPECT_EQ(quota.pending_settlements(), 1);
    EXPECT_EQ(quota.lease_spent_offline(), 2);
    const auto last = quota.reserve(shared_account());
    EXPECT_EQ(last.answer, fleet::QuotaAnswer::Granted) << "the lease survives the kill";
    EXPECT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Unreachable)
        << "and no more than the lease";
    quota.settle(last.reservation_id, /*spent=*/true);

    pg.start();
    std::this_thread::sleep_for(300ms);  // past the first backoff
    EXPECT_TRUE(quota.flush());
    // The online unit went back; the lease spent 3 (one spent, one running at the kill,
    // one after the restart); the unit given back offline went back to the fleet too.
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 3);
    EXPECT_EQ(pg_count(pg.url(), "SELECT spent FROM fleet_reservations WHERE kind = 'lease'"), 3);
    EXPECT_EQ(pg_count(pg.url(), "SELECT count(*) FROM fleet_reservations WHERE state = 'held'"),
              0);
    // Nothing is owed any more, after one more restart either.
    fleet::CentralQuota again(link_to(pg.url(), "st-1"), o, &store);
    EXPECT_EQ(again.pending_settlements(), 0);
    EXPECT_EQ(again.lease_spent_offline(), 0);
}

TEST(BackgroundQuota, TheLinesCallsNeverWaitOnAHangingFleetAndAnswersComeAtALaterCall) {
    PgServer pg;
    linestation::testing::FreezableProxy proxy(pg.port());
    fleet::CentralQuota inner(link_to(pg.url_on_port(proxy.port()), "st-1"));
    fleet::BackgroundQuotaOptions o;
    o.unclaimed_after = 500ms;
    fleet::BackgroundQuota quota(inner, o);
    auto timed = [](auto&& call) {
        const auto t0 = std::chrono::steady_clock::now();
        call();
        return std::chrono::steady_clock::now() - t0;
    };
    proxy.freeze();
    fleet::QuotaGrant first;
    EXPECT_LT(timed([&] { first = quota.reserve(shared_account()); }), 50ms);
    EXPECT_EQ(first.answer, fleet::QuotaAnswer::Pending);
    EXPECT_LT(timed([&] { quota.settle("st-1/unit/none/1", false); }), 50ms);
    EXPECT_LT(timed([&] { (void)quota.has_room(shared_account()); }), 50ms);
    // The worker's question waits for its deadlines (1 s connect, once more on a new
    // connection); its answer is the next call's.
    fleet::QuotaGrant answer;
    for (int i = 0; i < 100 && answer.answer != fleet::QuotaAnswer::Unreachable; ++i) {
        std::this_thread::sleep_for(100ms);
        EXPECT_LT(timed([&] { answer = quota.reserve(shared_account()); }), 50ms);
    }
    EXPECT_EQ(answer.answer, fleet::QuotaAnswer::Unreachable);
    proxy.thaw();
    for (int i = 0; i < 150 && answer.answer != fleet::QuotaAnswer::Granted; ++i) {
        std::this_thread::sleep_for(100ms);
        EXPECT_LT(timed([&] { answer = quota.reserve(shared_account()); }), 50ms);
    }
    ASSERT_EQ(answer.answer, fleet::QuotaAnswer::Granted);
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 1);
    // A question nobody comes back for (its slot was aborted): its grant is given back.
    EXPECT_EQ(quota.reserve(shared_account()).answer, fleet::QuotaAnswer::Pending);
    std::this_thread::sleep_for(2500ms);
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 1);
    EXPECT_EQ(pg_count(pg.url(),
                       "SELECT count(*) FROM fleet_reservations WHERE state = "
                       "'released'"),
              1);
    quota.settle(answer.reservation_id, /*spent=*/true);
    while (quota.outstanding() > 0) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(pg_count(pg.url(), "SELECT count(*) FROM fleet_reservations WHERE state = 'spent'"),
              1);
}

TEST(BackgroundQuota, ASettlementQueuedWhenKilledMinus9ReachesTheFleetAfterTheRestart) {
    PgServer pg;
    linestation::testing::FreezableProxy proxy(pg.port());
    linestation::testing::TempDir dir;
    const auto store_file = dir / "station.db";
    store::Store{store_file};  // migrated before the child forks
    auto held = [&] {
        return pg_count(pg.url(), "SELECT count(*) FROM fleet_reservations WHERE state = 'held'");
    };
    ChildStation child([&](ChildStation& turns) {
        // A real-time station: one unit granted online; then, with the link hanging, a
        // question for another product holds the worker, and the unit's settlement (given
        // back) waits in the queue behind it when the process is killed.
        store::Store store(store_file);
        fleet::CentralQuota inner(link_to(pg.url_on_port(proxy.port()), "st-1"), {}, &store);
        fleet::BackgroundQuota quota(inner, {}, &store);
        fleet::QuotaGrant unit;
        for (int i = 0; i < 200 && unit.answer != fleet::QuotaAnswer::Granted; ++i) {
            unit = quota.reserve(shared_account());
            std::this_thread::sleep_for(50ms);
        }
        if (unit.answer != fleet::QuotaAnswer::Granted) ::_exit(4);
        turns.say();
        turns.hear();  // the link hangs now
        auto other = shared_account();
        other.product = "tuya-smart-plug";
        if (quota.reserve(other).answer != fleet::QuotaAnswer::Pending) ::_exit(6);
        quota.settle(unit.reservation_id, /*spent=*/false);
        turns.say();
    });
    ASSERT_TRUE(child.heard());
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 1);
    proxy.freeze();
    child.tell();
    ASSERT_TRUE(child.heard());
    ASSERT_TRUE(child.kill_minus9());
    // The settlement never reached the fleet before the kill: the unit is still held.
    ASSERT_EQ(held(), 1);
    ASSERT_EQ(used(pg.url(), "account", "uid-shared"), 1);

    // Started again, with the fleet reachable and no unit coming: the worker sends what the
    // dead process had queued, without a reservation to carry it.
    store::Store store(store_file);
    fleet::CentralQuota inner(link_to(pg.url(), "st-1"), {}, &store);
    EXPECT_EQ(inner.pending_settlements(), 1) << "the settlement was journaled before queueing";
    fleet::BackgroundQuota quota(inner, {}, &store);
    for (int i = 0; i < 100 && held() > 0; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(held(), 0);
    EXPECT_EQ(pg_count(pg.url(),
                       "SELECT count(*) FROM fleet_reservations WHERE state = "
                       "'released' AND kind = 'unit'"),
              1);
    EXPECT_EQ(used(pg.url(), "account", "uid-shared"), 0) << "the unit given back is free again";
    EXPECT_EQ(inner.pending_settlements(), 0);
    EXPECT_TRUE(fleet::QuotaLedger(store).settlements().empty()) << "and owed no more";
}
