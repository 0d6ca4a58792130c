#include "station/fleet/central_quota.hpp"

#include <algorithm>
#include <random>

namespace linestation::fleet {

namespace {

// Locks the two rows in one order (account before product) so two stations never wait on
// each other crosswise, then grants n on both or on neither.
constexpr const char* kReserve = R"sql(
WITH prev AS (SELECT 1 FROM fleet_reservations WHERE reservation_id = $1),
l AS (SELECT scope, id, day, used, cap FROM fleet_quota
      WHERE day = $5 AND ((scope = 'account' AND id = $3) OR (scope = 'product' AND id = $4))
      ORDER BY scope FOR UPDATE),
ok AS (SELECT NOT EXISTS (SELECT 1 FROM prev) AND count(*) = 2
              AND bool_and(used + $6::integer <= cap) AS go FROM l),
upd AS (UPDATE fleet_quota q SET used = q.used + $6::integer FROM l, ok
        WHERE ok.go AND q.scope = l.scope AND q.id = l.id AND q.day = l.day
          AND q.used + $6::integer <= q.cap
        RETURNING q.scope),
res AS (INSERT INTO fleet_reservations(reservation_id, station_id, kind, account, product, day,
                                       n, state, expires_at)
        SELECT $1, $2, $7, $3, $4, $5, $6::integer, 'held',
               now() + make_interval(secs => $8::integer)
        FROM ok WHERE ok.go
        RETURNING 1)
SELECT EXISTS (SELECT 1 FROM prev), (SELECT count(*) FROM upd), (SELECT count(*) FROM res)
)sql";

constexpr const char* kEnsureRows = R"sql(
INSERT INTO fleet_quota(scope, id, day, used, cap)
VALUES ('account', $1, $3, 0, $4::integer), ('product', $2, $3, 0, $5::integer)
ON CONFLICT (scope, id, day) DO NOTHING
)sql";

// Spent units stay counted; the rest of the reservation goes back on both rows.
constexpr const char* kSettle = R"sql(
WITH r AS (UPDATE fleet_reservations
           SET state = CASE WHEN $2::integer > 0 THEN 'spent' ELSE 'released' END,
               spent = least($2::integer, n), settled_at = now()
           WHERE reservation_id = $1 AND state = 'held'
           RETURNING account, product, day, n - least($2::integer, n) AS back),
l AS (SELECT q.scope, q.id, q.day, r.back FROM fleet_quota q, r
      WHERE q.day = r.day AND ((q.scope = 'account' AND q.id = r.account)
                               OR (q.scope = 'product' AND q.id = r.product))
      ORDER BY q.scope FOR UPDATE OF q)
UPDATE fleet_quota q SET used = greatest(q.used - l.back, 0) FROM l
WHERE q.scope = l.scope AND q.id = l.id AND q.day = l.day AND l.back > 0
)sql";

constexpr const char* kSweep = R"sql(
UPDATE fleet_reservations SET state = 'expired', spent = n, settled_at = now()
WHERE state = 'held' AND expires_at < now()
)sql";

constexpr const char* kRoom = R"sql(
SELECT count(*) FILTER (WHERE used + 1 > cap) FROM fleet_quota
WHERE day = $3 AND ((scope = 'account' AND id = $1) OR (scope = 'product' AND id = $2))
)sql";

// A serialization failure or deadlock is retried: the statement changed nothing.
bool transient(const PgError& e) {
    return e.sqlstate() == "40001" || e.sqlstate() == "40P01";
}

}  // namespace

CentralQuota::CentralQuota(FleetLink link, CentralQuotaOptions options, store::Store* durable)
    : conn_(std::move(link)), options_(options) {
    std::random_device rd;
    char text[17];
    std::snprintf(text, sizeof text, "%08x%08x", rd(), rd());
    instance_ = text;
    if (!durable) return;
    ledger_.emplace(*durable);
    for (const auto& l : ledger_->leases()) {
        if (!l.confirmed) {
            // Asked for when the last process died, answer unknown: released, which is a
            // no-op on the fleet if it never was granted.
            ledger_->lease_to_settlement(l.reservation_id, 0);
            continue;
        }
        leases_[{l.account, l.product, l.day}] =
            Lease{l.reservation_id, l.n, l.used, l.offline_used};
    }
    for (const auto& p : ledger_->settlements()) pending_.push_back({p.reservation_id, p.spent});
}

void CentralQuota::record_lease(const LeaseKey& key, const Lease& lease, bool confirmed) {
    if (!ledger_) return;
    ledger_->put_lease({std::get<0>(key), std::get<1>(key), std::get<2>(key), lease.reservation_id,
                        lease.n, lease.used, lease.offline_used, confirmed});
}

void CentralQuota::drain_pending_locked() {
    while (!pending_.empty()) {
        try {
            send_settlement(pending_.front());
        } catch (const PgError&) {
            return;
        }
        if (ledger_) ledger_->settlement_taken(pending_.front().reservation_id);
        pending_.erase(pending_.begin());
    }
}

void CentralQuota::link_failed() {
    conn_.drop();
    backoff_ =
        std::min(options_.backoff_max, std::max(std::chrono::milliseconds(250), backoff_ * 2));
    retry_after_ = std::chrono::steady_clock::now() + backoff_;
}

std::string CentralQuota::next_id(const char* kind) {
    return conn_.link().station_id + "/" + kind + "/" + instance_ + "/" +
           std::to_string(++sequence_);
}

QuotaAnswer CentralQuota::take(const std::string& id, const QuotaRequest& r, int n,
                               const char* kind) {
    const auto hold_s = std::to_string(options_.hold.count());
    if (away()) return QuotaAnswer::Unreachable;
    for (int attempt = 0;; ++attempt) {
        try {
            auto& c = conn_.get();
            const LeaseKey key{r.account, r.product, r.day};
            if (!rows_exist_.count(key)) {
                c.exec(kEnsureRows, {r.account, r.product, r.day, std::to_string(r.account_cap),
                                     std::to_string(r.product_cap)});
                rows_exist_.insert(key);
            }
            auto res = c.exec(kReserve, {id, conn_.link().station_id, r.account, r.product, r.day,
                                         std::to_string(n), kind, hold_s});
            link_ok();
            // A retry whose first try did commit finds its own row: granted then.
            if (res.text(0, 0) == "t" || res.int64(0, 2) == 1) return QuotaAnswer::Granted;
            return QuotaAnswer::Refused;
        } catch (const PgError& e) {
            if (!e.link_lost() && !transient(e)) throw;
            if (e.link_lost()) conn_.drop();
            if (attempt >= 1) {
                link_failed();
                return QuotaAnswer::Unreachable;
            }
        }
    }
}

void CentralQuota::send_settlement(const Settlement& s) {
    if (away()) throw PgError("fleet database away (backing off)", "", true);
    for (int attempt = 0;; ++attempt) {
        try {
            conn_.get().exec(kSettle, {s.reservation_id, std::to_string(s.spent)});
            link_ok();
            return;
        } catch (const PgError& e) {
            if (e.link_lost()) conn_.drop();
            if (attempt >= 1 || (!e.link_lost() && !transient(e))) {
                if (e.link_lost()) link_failed();
                throw;
            }
        }
    }
}

bool CentralQuota::flush() {
    std::lock_guard lock(mutex_);
    drain_pending_locked();
    if (!pending_.empty()) return false;
    settle_leases_locked();
    return pending_.empty();
}

void CentralQuota::settle_leases_locked() {
    // A lease spent from while offline is settled once the fleet is back: what it used is
    // spent, the rest goes back to the other stations. Units of it still running count as
    // spent (the cloud may see them). The lease becomes a settlement in the ledger before
    // the fleet is told, so a crash in between neither forgets it nor spends from it again.
    for (auto it = leases_.begin(); it != leases_.end();) {
        if (!it->second.offline_used) {
            ++it;
            continue;
        }
        if (away()) return;
        const Settlement s{it->second.reservation_id, it->second.used};
        if (ledger_) ledger_->lease_to_settlement(s.reservation_id, s.spent);
        for (auto f = from_lease_.begin(); f != from_lease_.end();) {
            f = f->second == it->first ? from_lease_.erase(f) : std::next(f);
        }
        it = leases_.erase(it);
        pending_.push_back(s);
        drain_pending_locked();
        if (!pending_.empty()) return;
    }
}

QuotaGrant CentralQuota::reserve(const QuotaRequest& r) {
    std::lock_guard lock(mutex_);
    const LeaseKey key{r.account, r.product, r.day};
    auto from_own_lease = [&](bool offline) -> std::optional<QuotaGrant> {
        auto it = leases_.find(key);
        if (it == leases_.end() || it->second.used >= it->second.n) return std::nullopt;
        ++it->second.used;
        if (offline) it->second.offline_used = true;
        record_lease(key, it->second, true);
        auto id = next_id("from-lease");
        from_lease_[id] = key;
        return QuotaGrant{QuotaAnswer::Granted, id};
    };
    // Settlements that waited go first: they may give back what this one needs.
    const bool had_pending = !pending_.empty();
    drain_pending_locked();
    // Leases are given back only on a link just seen working: one converted while the
    // fleet is still away would leave the station without its offline block.
    if (had_pending && pending_.empty()) settle_leases_locked();
    if (!away() && std::chrono::steady_clock::now() >= next_sweep_) {
        try {
            conn_.get().exec(kSweep);
        } catch (const PgError& e) {
            // The next reservation tries again.
            if (e.link_lost()) link_failed();
        }
        next_sweep_ = std::chrono::steady_clock::now() + options_.sweep_every;
    }
    auto id = next_id("unit");
    QuotaAnswer answer = QuotaAnswer::Unreachable;
    try {
        answer = take(id, r, 1, "unit");
    } catch (const PgError&) {
        answer = QuotaAnswer::Unreachable;
    }
    if (answer == QuotaAnswer::Granted) {
        if (options_.when_offline == WhenOffline::Lease && !leases_.count(key)) {
            const Lease lease{next_id("lease"), options_.lease, 0, false};
            // Recorded before asking: a crash before the answer releases it on restart.
            record_lease(key, lease, false);
            auto lease_answer = QuotaAnswer::Unreachable;
            try {
                lease_answer = take(lease.reservation_id, r, options_.lease, "lease");
            } catch (const PgError&) {
                // No lease this time: the unit's own reservation stands.
            }
            if (lease_answer == QuotaAnswer::Granted) {
                leases_[key] = lease;
                record_lease(key, lease, true);
            } else if (lease_answer == QuotaAnswer::Refused) {
                if (ledger_) ledger_->lease_settled(lease.reservation_id);
            } else {
                // Unknown whether the fleet granted it: released (a no-op if it did not),
                // like an unconfirmed lease after a crash.
                if (ledger_) ledger_->lease_to_settlement(lease.reservation_id, 0);
                pending_.push_back({lease.reservation_id, 0});
            }
        }
        settle_leases_locked();
        return {QuotaAnswer::Granted, id};
    }
    if (answer == QuotaAnswer::Refused) settle_leases_locked();
    if (options_.when_offline == WhenOffline::Lease) {
        // Refused online, the station's own block is still its to spend; offline, it is
        // all there is.
        if (auto g = from_own_lease(answer == QuotaAnswer::Unreachable)) return *g;
    }
    return {answer, ""};
}

QuotaAnswer CentralQuota::reserve_as(const std::string& reservation_id,
                                     const QuotaRequest& request) {
    std::lock_guard lock(mutex_);
    return take(reservation_id, request, 1, "unit");
}

void CentralQuota::settle(const std::string& reservation_id, bool spent) {
    std::lock_guard lock(mutex_);
    if (auto f = from_lease_.find(reservation_id); f != from_lease_.end()) {
        if (!spent) {
            if (auto l = leases_.find(f->second); l != leases_.end() && l->second.used > 0) {
                --l->second.used;
                record_lease(l->first, l->second, true);
            }
        }
        from_lease_.erase(f);
        // Nothing for the fleet (the lease is settled whole), so nothing owed any more.
        if (ledger_) ledger_->settlement_taken(reservation_id);
        return;
    }
    Settlement s{reservation_id, spent ? 1 : 0};
    if (pending_.empty()) {
        try {
            send_settlement(s);
            // Journaled by a BackgroundQuota before it was queued: taken now.
            if (ledger_) ledger_->settlement_taken(reservation_id);
            return;
        } catch (const PgError&) {
            // Kept, and sent with the next reservation or flush(); without a ledger, if this
            // station dies first, the sweeper expires the reservation as spent.
        }
    }
    // A row journaled already stands (the first one queued is final).
    if (ledger_) ledger_->queue_settlement({s.reservation_id, s.spent});
    pending_.push_back(s);
}

std::optional<bool> CentralQuota::has_room(const QuotaRequest& r) {
    std::lock_guard lock(mutex_);
    if (away()) return std::nullopt;
    try {
        auto res = conn_.get().exec(kRoom, {r.account, r.product, r.day});
        return res.int64(0, 0) == 0;
    } catch (const PgError& e) {
        if (e.link_lost()) link_failed();
        return std::nullopt;
    }
}

int CentralQuota::sweep() {
    std::lock_guard lock(mutex_);
    try {
        return static_cast<int>(conn_.get().exec(kSweep).affected());
    } catch (const PgError& e) {
        if (e.link_lost()) conn_.drop();
        throw;
    }
}

int CentralQuota::pending_settlements() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(pending_.size());
}

int CentralQuota::lease_spent_offline() const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& [key, lease] : leases_) {
        if (lease.offline_used) n += lease.used;
    }
    return n;
}

}  // namespace linestation::fleet
