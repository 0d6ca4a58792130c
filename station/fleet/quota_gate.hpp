#pragma once
// Quota shared beyond this station: the scheduler asks the gate before a device spends a
// cycle on an attempt, after its own store's quota said yes. The fleet's PostgreSQL is
// one gate (CentralQuota); a station alone has none.

#include <optional>
#include <string>

namespace linestation::fleet {

struct QuotaRequest {
    std::string account;  // the cloud account's identity across the fleet (its uid)
    std::string product;
    std::string day;  // YYYY-MM-DD in the fleet's quota time zone
    int account_cap = 100;
    int product_cap = 100;
};

enum class QuotaAnswer {
    Granted,
    Refused,      // the day's quota is spent
    Unreachable,  // the fleet cannot be asked and the station may not spend on its own
    Pending,      // asked off the line's thread: the answer is taken at a later tick
};

struct QuotaGrant {
    QuotaAnswer answer = QuotaAnswer::Refused;
    std::string reservation_id;  // set when granted: settle() takes it
};

class QuotaGate {
  public:
    virtual ~QuotaGate() = default;
    virtual QuotaGrant reserve(const QuotaRequest& request) = 0;
    // The attempt is over: spent (the cloud saw it) or given back.
    virtual void settle(const std::string& reservation_id, bool spent) = 0;
    // Whether one more unit would be granted now; none when the fleet cannot be asked.
    virtual std::optional<bool> has_room(const QuotaRequest& request) = 0;
    // Sends the settlements that waited for the gate (from before a restart too); true when
    // nothing is owed any more. A gate that owes nothing has nothing to send.
    virtual bool flush() { return true; }
};

}  // namespace linestation::fleet
