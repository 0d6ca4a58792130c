#pragma once
// Hands a pairing token to a wired gateway over the LAN: one request line over TCP to the
// address the gateway announced on UDP 6666/6667, and its one answer line, within a
// deadline (wall time: it waits on a socket). The frame is ours ("linestation-lan-1",
// handover_codec.hpp); Tuya does not document the gateway's LAN pairing frame.

#include <string>

#include "drivers/lan_handover/handover_codec.hpp"

namespace linestation::drivers {

struct LanHandoverSettings {
    int port = 0;           // the gateway's TCP port for the hand-over
    int timeout_ms = 3000;  // connect, send and answer together
};

// What became of one hand-over. Never thrown: the slot flow turns a failure into its verdict.
struct HandoverOutcome {
    enum class Result { Accepted, Refused, Unreachable, Timeout, BadAnswer };
    Result result = Result::Unreachable;
    std::string detail;  // the gateway's refusal, or what went wrong; never the token
    bool accepted() const { return result == Result::Accepted; }
};
const char* to_string(HandoverOutcome::Result result);

class LanHandover {
  public:
    explicit LanHandover(LanHandoverSettings settings) : settings_(settings) {}
    // Sends `request` to ip:port and reads the answer. Safe to call from any thread (each
    // call has its own connection).
    HandoverOutcome hand_over(const std::string& ip,
                              const lan_handover::HandoverRequest& request) const;
    const LanHandoverSettings& settings() const { return settings_; }

  private:
    LanHandoverSettings settings_;
};

}  // namespace linestation::drivers
