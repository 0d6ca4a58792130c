#pragma once
// Daily quotas reserved in the fleet's PostgreSQL, so that stations sharing a cloud
// account never overrun it together. A reservation is one conditional UPDATE of the
// account's and the product's rows (used + n <= cap) with a reservation row under an id
// the station chose: a reservation retried after a lost answer finds its first row
// instead of taking twice. Settled by the station; one never settled (a station that
// died) is expired by the sweeper and counted as spent, since the cloud may have seen it.
//
// While the fleet cannot be reached, the station's config decides: `stop` admits no unit
// (the slot waits), `lease` spends a small block granted while online, and gives back what
// it did not use once the fleet is back.
//
// Given the station's store, the leases (and what was spent from them) and the settlements
// not yet taken are kept there too (QuotaLedger): a station killed -9 and started again
// still has its block to spend offline and still owes what it owed.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "station/fleet/fleet_sink.hpp"
#include "station/fleet/quota_gate.hpp"
#include "station/fleet/quota_ledger.hpp"

namespace linestation::fleet {

enum class WhenOffline { Stop, Lease };

struct CentralQuotaOptions {
    WhenOffline when_offline = WhenOffline::Stop;
    int lease = 5;                                 // units per (account, product, day) block
    std::chrono::seconds hold{3600};               // a held reservation expires after
    std::chrono::seconds sweep_every{60};          // how often this station runs the sweeper
    std::chrono::milliseconds backoff_max{10000};  // longest pause before asking again
};

class CentralQuota : public QuotaGate {
  public:
    // `durable`: the station's store (not owned), where leases and settlements outlive the
    // process; none keeps them in memory only.
    CentralQuota(FleetLink link, CentralQuotaOptions options = {}, store::Store* durable = nullptr);
    QuotaGrant reserve(const QuotaRequest& request) override;
    void settle(const std::string& reservation_id, bool spent) override;
    std::optional<bool> has_room(const QuotaRequest& request) override;

    // The same reservation under an id the caller keeps: asking again with it after a lost
    // answer is granted once, never twice.
    QuotaAnswer reserve_as(const std::string& reservation_id, const QuotaRequest& request);
    // Expires held reservations past their time (counted as spent); returns how many.
    int sweep();
    // Sends the settlements that waited for the fleet; true when none is left.
    bool flush() override;
    int pending_settlements() const;
    // Units of the current leases spent while offline and not yet settled.
    int lease_spent_offline() const;

  private:
    struct Lease {
        std::string reservation_id;
        int n = 0;
        int used = 0;  // units spent from it (held or spent), settled as spent
        bool offline_used = false;
    };
    using LeaseKey = std::tuple<std::string, std::string, std::string>;
    struct Settlement {
        std::string reservation_id;
        int spent = 0;
    };

    // The one conditional reservation; link errors are retried once on a new connection
    // with the same id.
    QuotaAnswer take(const std::string& reservation_id, const QuotaRequest& request, int n,
                     const char* kind);
    void send_settlement(const Settlement& s);
    void settle_leases_locked();
    void record_lease(const LeaseKey& key, const Lease& lease, bool confirmed);
    void drain_pending_locked();
    std::string next_id(const char* kind);

    FleetConnection conn_;
    CentralQuotaOptions options_;
    std::optional<QuotaLedger> ledger_;
    mutable std::mutex mutex_;
    std::int64_t sequence_ = 0;
    std::string instance_;  // random per process: ids never repeat across restarts
    std::vector<Settlement> pending_;
    std::map<LeaseKey, Lease> leases_;
    // Offline grants from a lease: reservation id -> its lease, to give back.
    std::map<std::string, LeaseKey> from_lease_;
    std::chrono::steady_clock::time_point next_sweep_{};
    // Days whose quota rows this station has seen exist: their INSERT is skipped, since an
    // insert that meets a row being updated waits for that update's transaction.
    std::set<LeaseKey> rows_exist_;
    // After a lost link the fleet is not asked again before this, so a waiting slot that
    // asks every tick does not hold the line thread on a connect deadline each time.
    std::chrono::steady_clock::time_point retry_after_{};
    std::chrono::milliseconds backoff_{0};
    bool away() const { return std::chrono::steady_clock::now() < retry_after_; }
    void link_failed();
    void link_ok() { backoff_ = std::chrono::milliseconds(0); }
};

}  // namespace linestation::fleet
