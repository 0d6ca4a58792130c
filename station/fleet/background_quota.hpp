#pragma once
// The shared quota asked off the line's thread. A call to the fleet's database may wait
// for its deadline (1.5-3 s on a link that hangs) once per backoff period; on the line's
// thread that would stretch a reset press by as much. Here the line's calls never wait:
// reserve() hands over a grant an earlier question brought back, or asks and answers
// Pending (the slot waits and asks again at its next tick); settle() is queued; has_room()
// answers from the last word the fleet gave. One worker thread asks the inner gate.
//
// Given the station's store, a settlement is journaled there (QuotaLedger, the table the
// inner gate keeps what it owes in) before it is queued: a process killed -9 with
// settlements still in the queue owes them at its next start, where the worker sends them
// first (inner.flush()), and again every flush_every while the fleet is away.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <variant>

#include "station/fleet/quota_gate.hpp"
#include "station/fleet/quota_ledger.hpp"

namespace linestation::fleet {

struct BackgroundQuotaOptions {
    // A grant nobody came back for (its slot was aborted meanwhile) is given back after.
    std::chrono::milliseconds unclaimed_after{60000};
    // How long has_room()'s last answer stands before the fleet is asked again.
    std::chrono::milliseconds room_fresh_for{2000};
    // How often, while idle, what the inner gate still owes is sent again.
    std::chrono::milliseconds flush_every{5000};
};

class BackgroundQuota : public QuotaGate {
  public:
    // `durable`: the station's store (not owned), where a queued settlement is journaled
    // for the inner gate to find after a crash; none keeps the queue in memory only.
    explicit BackgroundQuota(QuotaGate& inner, BackgroundQuotaOptions options = {},
                             store::Store* durable = nullptr);
    // Sends the settlements still queued, gives back unclaimed grants, then stops.
    ~BackgroundQuota() override;
    BackgroundQuota(const BackgroundQuota&) = delete;
    BackgroundQuota& operator=(const BackgroundQuota&) = delete;

    QuotaGrant reserve(const QuotaRequest& request) override;
    void settle(const std::string& reservation_id, bool spent) override;
    std::optional<bool> has_room(const QuotaRequest& request) override;

    // Questions and settlements queued or running (for tests and /metrics).
    int outstanding() const;

  private:
    using Key = std::tuple<std::string, std::string, std::string>;
    struct Ask {
        QuotaRequest request;
    };
    struct Room {
        QuotaRequest request;
    };
    struct Settle {
        std::string reservation_id;
        bool spent = false;
    };
    struct Flush {};
    using Job = std::variant<Ask, Room, Settle, Flush>;
    struct Answered {
        QuotaGrant grant;
        std::chrono::steady_clock::time_point at;
    };
    struct RoomWord {
        std::optional<bool> room;
        std::chrono::steady_clock::time_point at;
    };

    static Key key_of(const QuotaRequest& r) { return {r.account, r.product, r.day}; }
    void run();
    void give_back_unclaimed_locked(std::unique_lock<std::mutex>& lock, bool all);

    QuotaGate& inner_;  // not owned; called from the worker only
    BackgroundQuotaOptions options_;
    std::optional<QuotaLedger> journal_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    bool running_job_ = false;
    bool stop_ = false;
    std::map<Key, bool> asking_;                    // a question in flight per key
    std::map<Key, std::deque<Answered>> answered_;  // answers not yet taken by a slot
    std::map<Key, bool> rooming_;                   // a has_room question in flight
    std::map<Key, RoomWord> room_;
    // The inner gate may still owe settlements (from before a restart, or kept while the
    // fleet was away): flushed when idle at next_flush_.
    bool owed_ = true;
    std::chrono::steady_clock::time_point next_flush_{};
    std::thread worker_;  // last: starts once everything it reads exists
};

}  // namespace linestation::fleet
