#include "station/fleet/quota_ledger.hpp"

#include <chrono>
#include <mutex>

namespace linestation::fleet {

namespace {
std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A settlement is final: queued twice (after a crash between queueing and sending), the
// first one stands.
constexpr const char* kQueueSettlement =
    "INSERT INTO fleet_settlements(reservation_id, spent, queued_ms) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(reservation_id) DO NOTHING";
constexpr const char* kDropLease = "DELETE FROM fleet_leases WHERE reservation_id = ?1";

template <typename... Args>
void write(store::Store& store, const char* sql, const Args&... args) {
    std::lock_guard lock(store.mutex());
    store.database().prepare(sql).bind_all(args...).run();
}
}  // namespace

std::vector<LedgerSettlement> QuotaLedger::settlements() {
    std::lock_guard lock(store_.mutex());
    auto s = store_.database().prepare(
        "SELECT reservation_id, spent FROM fleet_settlements ORDER BY queued_ms, rowid");
    std::vector<LedgerSettlement> out;
    while (s.step()) out.push_back({s.text(0), static_cast<int>(s.int64(1))});
    return out;
}

void QuotaLedger::queue_settlement(const LedgerSettlement& settlement) {
    write(store_, kQueueSettlement, settlement.reservation_id, settlement.spent, now_ms());
}

void QuotaLedger::settlement_taken(const std::string& reservation_id) {
    write(store_, "DELETE FROM fleet_settlements WHERE reservation_id = ?1", reservation_id);
}

std::vector<LedgerLease> QuotaLedger::leases() {
    std::lock_guard lock(store_.mutex());
    auto s = store_.database().prepare(
        "SELECT account, product, day, reservation_id, n, used, offline_used, confirmed "
        "FROM fleet_leases");
    std::vector<LedgerLease> out;
    while (s.step()) {
        out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), static_cast<int>(s.int64(4)),
                       static_cast<int>(s.int64(5)), s.int64(6) != 0, s.int64(7) != 0});
    }
    return out;
}

void QuotaLedger::put_lease(const LedgerLease& l) {
    write(store_,
          "INSERT OR REPLACE INTO fleet_leases(account, product, day, reservation_id, n, used, "
          "offline_used, confirmed) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
          l.account, l.product, l.day, l.reservation_id, l.n, l.used, l.offline_used ? 1 : 0,
          l.confirmed ? 1 : 0);
}

void QuotaLedger::lease_settled(const std::string& reservation_id) {
    write(store_, kDropLease, reservation_id);
}

void QuotaLedger::lease_to_settlement(const std::string& reservation_id, int spent) {
    std::lock_guard lock(store_.mutex());
    auto& db = store_.database();
    store::Transaction tx(db);
    db.prepare(kDropLease).bind_all(reservation_id).run();
    db.prepare(kQueueSettlement).bind_all(reservation_id, spent, now_ms()).run();
    tx.commit();
}

}  // namespace linestation::fleet
