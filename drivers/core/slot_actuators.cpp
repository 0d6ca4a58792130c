#include "drivers/core/slot_actuators.hpp"

#include <thread>

namespace linestation::drivers {

RelayPower::RelayPower(DigitalOutput& board, int channel, bool energized_is_on)
    : board_(board), channel_(channel), energized_is_on_(energized_is_on) {}

void RelayPower::on() {
    board_.set(channel_, energized_is_on_);
}
void RelayPower::off() {
    board_.set(channel_, !energized_is_on_);
}
bool RelayPower::is_on() {
    return board_.get(channel_) == energized_is_on_;
}
std::string RelayPower::describe() const {
    return "power on channel " + std::to_string(channel_) + " of " + board_.describe();
}

RelayReset::RelayReset(DigitalOutput& board, int channel) : board_(board), channel_(channel) {}

void RelayReset::hold() {
    board_.set(channel_, true);
}
void RelayReset::release() {
    board_.set(channel_, false);
}
std::string RelayReset::describe() const {
    return "reset on channel " + std::to_string(channel_) + " of " + board_.describe();
}

namespace {

template <typename Start, typename Stop>
void timed(Start start, Stop stop, std::chrono::milliseconds duration) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
        start();
    } catch (...) {
        try {
            stop();
        } catch (...) {
            // The first failure is the one worth reporting.
        }
        throw;
    }
    // Sleep to an absolute deadline measured from before the command, so the time the
    // board took to acknowledge "on" counts towards the pulse.
    std::this_thread::sleep_until(t0 + duration);
    stop();
}

}  // namespace

void press_for(Reset& reset, std::chrono::milliseconds duration) {
    timed([&] { reset.hold(); }, [&] { reset.release(); }, duration);
}

void power_cycle(Power& power, std::chrono::milliseconds off_time) {
    timed([&] { power.off(); }, [&] { power.on(); }, off_time);
}

void pulse(DigitalOutput& board, int channel, std::chrono::milliseconds duration) {
    timed([&] { board.set(channel, true); }, [&] { board.set(channel, false); }, duration);
}

}  // namespace linestation::drivers
