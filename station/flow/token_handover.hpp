#pragma once
// The LAN hand-over of a wired unit's pairing token to its gateway (drivers::LanHandover),
// off the line's thread: a gateway that does not answer holds its connection until the
// fixture's deadline, and the line must not wait under its lock meanwhile (relays, LEDs,
// the web API). In real time the hand-overs run in order on a worker of their own; on
// virtual time inline, so a simulated shift stays deterministic. Either way the outcome
// reaches the slot at the line's next tick, on its thread.

#include <functional>
#include <memory>
#include <string>

#include "drivers/core/fixture_config.hpp"
#include "drivers/lan_handover/lan_handover.hpp"
#include "station/flow/cloud_calls.hpp"

namespace linestation::flow {

class TokenHandovers {
  public:
    using Done = std::function<void(const drivers::HandoverOutcome&)>;
    TokenHandovers(const config::WiredHandoverConfig& config, bool background);
    // Hands `request` to the gateway at `ip`; `done` runs at a later tick().
    void hand_over(const std::string& ip, drivers::lan_handover::HandoverRequest request,
                   Done done);
    // Runs the outcomes that came back (the line's tick, under its lock).
    void tick();
    // Hand-overs asked for and not yet taken back at a tick.
    int outstanding() const { return calls_->outstanding(); }

  private:
    drivers::LanHandover lan_;
    // After lan_: destroyed first, it waits for the hand-over in flight.
    std::unique_ptr<CloudCalls> calls_;
};

}  // namespace linestation::flow
