#pragma once
// Keeps a fixture's boards usable while some of them fail. A board that stops answering is
// marked faulted (its slots can be marked faulted; the others carry on), dropped, and
// reopened with exponential backoff on the station's Clock until it answers again. No
// exception leaves these classes: a controller thread only sees true/false and a cause.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "drivers/core/clock.hpp"
#include "drivers/core/digital_output.hpp"
#include "drivers/core/fixture_config.hpp"

namespace linestation::drivers {

struct Backoff {
    double first_s = 0.5;
    double max_s = 30.0;
    double factor = 2.0;
};

class BoardSupervisor {
  public:
    using Opener = std::function<std::unique_ptr<DigitalOutput>()>;
    // Called on every change between healthy and faulted, with the cause when faulted.
    using OnChange =
        std::function<void(const std::string& board, bool healthy, const std::string& cause)>;

    // Tries to open the board at once; `probe_channel` is read to prove the board answers.
    BoardSupervisor(std::string board, Opener open, const Clock& clock, Backoff backoff = {},
                    OnChange on_change = {}, int probe_channel = 0);

    // Runs `command` against the board. False when the board is faulted or fails now (it is
    // then marked faulted). Never throws.
    bool run(const std::function<void(DigitalOutput&)>& command) noexcept;
    bool set(int channel, bool on) noexcept;
    // Retries a faulted board once its backoff has passed; call it from the controller's tick.
    void poll() noexcept;

    const std::string& board() const { return board_; }
    bool healthy() const;
    std::string cause() const;
    // Clock time of the next reopen attempt (meaningful while faulted).
    double next_retry_s() const;
    int attempts() const;

  private:
    void fault_locked(const std::string& cause);
    void try_open_locked();

    std::string board_;
    Opener open_;
    const Clock& clock_;
    Backoff backoff_;
    OnChange on_change_;
    int probe_channel_;
    mutable std::mutex mutex_;
    std::unique_ptr<DigitalOutput> output_;
    bool healthy_ = false;
    bool reported_ = false;  // whether on_change has said anything yet
    std::string cause_;
    double delay_s_ = 0;
    double next_retry_s_ = 0;
    int attempts_ = 0;
};

// One output's safe state: reset released, power as the fixture says.
struct SafeOutput {
    std::string board;
    int channel = 0;
    bool on = false;   // the channel's level (energized), the wiring already applied
    std::string role;  // "reset of A1", "power of A1"
};
std::vector<SafeOutput> safe_outputs(const config::FixtureConfig& fixture);

// All boards of a fixture under supervision. Drives every output to its safe state when
// built and when destroyed.
class FixtureBoards {
  public:
    FixtureBoards(const config::FixtureConfig& fixture, const Clock& clock,
                  std::function<std::unique_ptr<DigitalOutput>(const config::BoardConfig&)> open,
                  Backoff backoff = {}, BoardSupervisor::OnChange on_change = {});
    ~FixtureBoards();
    FixtureBoards(const FixtureBoards&) = delete;
    FixtureBoards& operator=(const FixtureBoards&) = delete;

    BoardSupervisor* board(const std::string& id);
    // A slot's reset button and power, as the fixture wires them. False (never a throw)
    // when the slot has no such output or its board is faulted; the controller then marks
    // the slot faulted. The controller times presses on its own Clock.
    bool press_reset(const std::string& slot, bool pressed) noexcept;
    // `on` is the device's power, whatever the relay's wiring.
    bool set_power(const std::string& slot, bool on) noexcept;
    // Drives every output to its safe state; returns one line per output that failed.
    std::vector<std::string> drive_safe_state() noexcept;
    // Slots whose reset or power board is faulted now.
    std::vector<std::string> faulted_slots() const;
    void poll() noexcept;

  private:
    std::vector<config::SlotConfig> slots_;
    std::vector<SafeOutput> safe_;
    std::map<std::string, std::unique_ptr<BoardSupervisor>> boards_;
};

}  // namespace linestation::drivers
