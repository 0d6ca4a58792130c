#pragma once
// What a slot needs from a fixture: a power switch and a reset button. A relay channel
// becomes either one by composition, as the fixture file says. The controller may run on
// virtual time, so presses are expressed as hold()/release() that it times on its own
// Clock; press_for()/power_cycle() are blocking conveniences for the command line.

#include <chrono>
#include <string>

#include "drivers/core/digital_output.hpp"

namespace linestation::drivers {

class Power {
  public:
    virtual ~Power() = default;
    virtual void on() = 0;
    virtual void off() = 0;
    virtual bool is_on() = 0;
    virtual std::string describe() const = 0;
};

class Reset {
  public:
    virtual ~Reset() = default;
    // Presses (and keeps pressing) the reset button.
    virtual void hold() = 0;
    virtual void release() = 0;
    virtual std::string describe() const = 0;
};

// A relay channel that switches a slot's power. `energized_is_on` is false for a
// normally-closed wiring, where energizing the relay cuts the power.
class RelayPower final : public Power {
  public:
    RelayPower(DigitalOutput& board, int channel, bool energized_is_on = true);
    void on() override;
    void off() override;
    bool is_on() override;
    std::string describe() const override;

  private:
    DigitalOutput& board_;
    int channel_;
    bool energized_is_on_;
};

// A relay channel wired across a reset button.
class RelayReset final : public Reset {
  public:
    RelayReset(DigitalOutput& board, int channel);
    void hold() override;
    void release() override;
    std::string describe() const override;

  private:
    DigitalOutput& board_;
    int channel_;
};

// A device without a reachable button is reset by cutting its power: holding the
// "button" is power off, releasing it is power on.
class PowerCycleReset final : public Reset {
  public:
    explicit PowerCycleReset(Power& power) : power_(power) {}
    void hold() override { power_.off(); }
    void release() override { power_.on(); }
    std::string describe() const override { return "power-cycle reset via " + power_.describe(); }

  private:
    Power& power_;
};

// Blocking helpers (wall time). The release/on always runs, even when the wait is cut short
// by an exception from the board, so a button is never left pressed by this code.
void press_for(Reset& reset, std::chrono::milliseconds duration);
void power_cycle(Power& power, std::chrono::milliseconds off_time);
// Switches a channel on for `duration`, then off (off is attempted even after a failure).
void pulse(DigitalOutput& board, int channel, std::chrono::milliseconds duration);

}  // namespace linestation::drivers
