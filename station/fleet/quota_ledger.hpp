#pragma once
// The station's own record of what it owes the fleet's central quota, in its SQLite store,
// so that a station killed -9 loses neither a leased block (nor what it spent from it) nor
// a settlement the fleet had not taken yet. Written before the fleet is told: a crash
// after telling only repeats a settlement, which the fleet takes once.

#include <string>
#include <vector>

#include "station/store/store.hpp"

namespace linestation::fleet {

struct LedgerSettlement {
    std::string reservation_id;
    int spent = 0;
};

struct LedgerLease {
    std::string account;
    std::string product;
    std::string day;
    std::string reservation_id;
    int n = 0;
    int used = 0;
    bool offline_used = false;
    bool confirmed = false;  // the fleet granted it (else: asked, answer not known)
};

class QuotaLedger {
  public:
    explicit QuotaLedger(store::Store& store) : store_(store) {}

    std::vector<LedgerSettlement> settlements();
    void queue_settlement(const LedgerSettlement& s);
    void settlement_taken(const std::string& reservation_id);

    std::vector<LedgerLease> leases();
    void put_lease(const LedgerLease& lease);  // inserts or replaces (by account, product, day)
    void lease_settled(const std::string& reservation_id);
    // A lease the fleet settled is gone and its settlement with it, in one transaction.
    void lease_to_settlement(const std::string& reservation_id, int spent);

  private:
    store::Store& store_;  // not owned
};

}  // namespace linestation::fleet
