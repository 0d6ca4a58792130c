#pragma once
// The quota ledger after a stop (issue 12, "Quotas that match the cloud"). A stop leaves
// open the reservations of the units it caught in flight; some of those units activated
// (the cloud counted their unbind), some never did. Spending them all leaves the ledger far
// above the cloud's count; giving them all back leaves it below. So the station asks the
// cloud, off the line's thread, what activated with every code it showed before the stop
// ("Get the list of devices to be paired" per journaled token, once every one of them has
// expired, so that no activation can come after the answer) and whom each unit in flight
// is bound to now ("Get Device Details"), spends as many open reservations as there are
// activations the cloud confirms and no settled reservation paid for, and gives back the
// rest. Where the cloud cannot say (a token it no longer answers for, no answer at all) the
// reservations it would have decided are spent, and the ledger records why.
// A clean stop settles its units' reservations before it ends, but cannot wait for every
// answer: those it settled without the cloud's word on the unit (a code read in the last
// moment, a unit that activates 20 s later) are marked for a recheck and decided here again
// with the others, by the cloud's final list. And nothing is left bound: every device that
// activated with those codes and is on the station's account now is recorded left bound,
// for the line's sweep to remove.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "drivers/core/clock.hpp"
#include "station/fleet/quota_gate.hpp"
#include "station/flow/cloud_calls.hpp"
#include "station/flow/scheduler.hpp"
#include "station/store/store.hpp"

namespace linestation::flow {

struct LedgerRecoveryOptions {
    // The cloud is asked once no code shown before the stop can be used any more: Tuya
    // refuses an activation with an expired token, so after the last one's expiry the
    // cloud's list is final. The margin covers a cloud clock a little behind ours.
    double expiry_margin_s = 10;
    bool background = false;  // the cloud asked on a worker thread (a real-time line)
    fleet::QuotaGate* shared_quota = nullptr;  // not owned
};

class LedgerRecovery {
  public:
    // Takes the reservations a stop left open (and spends, at once, counted ones that no
    // reservation row stands for). Without accounts nothing can be asked: they are spent.
    LedgerRecovery(Clock& clock, store::Store& store, std::vector<CloudAccount> accounts,
                   LedgerRecoveryOptions options);
    ~LedgerRecovery();
    LedgerRecovery(const LedgerRecovery&) = delete;
    LedgerRecovery& operator=(const LedgerRecovery&) = delete;

    // On the line's thread, every tick: asks the cloud once the codes shown before the
    // stop have expired and settles the reservations with its answer.
    void tick();
    // Every reservation it took is settled.
    bool done() const { return done_; }
    // True once after it recorded devices left bound on the station's accounts (the line's
    // sweep is to watch and remove them).
    bool take_left_bound_found() { return std::exchange(left_bound_found_, false); }

  private:
    // Also adds to `bound` what activated with the codes and is on the account now.
    std::vector<store::Settlement> decide(std::int64_t account_id,
                                          const std::vector<store::OpenReservation>& open,
                                          std::vector<store::LeftBoundRecord>& bound) const;
    void apply(const std::vector<store::Settlement>& settlements,
               const std::vector<store::LeftBoundRecord>& bound);

    Clock& clock_;
    store::Store& store_;
    std::vector<CloudAccount> accounts_;
    LedgerRecoveryOptions options_;
    std::vector<store::OpenReservation> open_;
    std::int64_t recovered_ms_ = 0;  // codes journaled before this are the stopped run's
    double due_s_ = 0;
    bool asked_ = false;
    bool done_ = false;
    bool left_bound_found_ = false;
    // Last: destroyed first, so no request outlives the state its answer goes to.
    std::unique_ptr<CloudCalls> calls_;
};

}  // namespace linestation::flow
