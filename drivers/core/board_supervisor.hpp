#pragma once
// Keeps a fixture's boards usable while some of them fail. A board that stops answering is
// marked faulted (its slots can be marked faulted; the others carry on), dropped, and
// reopened with exponential backoff on the station's Clock until it answers again; a board
// that comes back has its outputs put in their safe state before anything else may use it.
// No exception leaves the supervisors: a controller thread only sees true/false and a
// cause. SupervisedOutput is the one exception-speaking face, for the slot actuators.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
    // Run on every freshly opened board before it counts as healthy (its outputs to their
    // safe state); a throw keeps the board faulted.
    using Restore = std::function<void(DigitalOutput&)>;

    // Tries to open the board at once; `probe_channel` is read to prove the board answers.
    BoardSupervisor(std::string board, Opener open, const Clock& clock, Backoff backoff = {},
                    OnChange on_change = {}, int probe_channel = 0, Restore restore = {});

    // Runs `command` against the board. False when the board is faulted or fails now (it is
    // then marked faulted). Never throws.
    bool run(const std::function<void(DigitalOutput&)>& command) noexcept;
    bool set(int channel, bool on) noexcept;
    // Retries a faulted board once its backoff has passed; call it from the controller's tick
    // or a thread of its own. The open runs outside the board's lock: commands meanwhile are
    // refused at once rather than held for a connect timeout.
    void poll() noexcept;
    // Reads the probe channel of a healthy board nothing has used for `idle_s`: a board that
    // went away while idle is faulted now, not at its next press. False when it failed.
    bool probe_if_idle(double idle_s) noexcept;

    const std::string& board() const { return board_; }
    bool healthy() const;
    std::string cause() const;
    // Clock time of the next reopen attempt (meaningful while faulted).
    double next_retry_s() const;
    int attempts() const;

  private:
    struct Opened {
        std::unique_ptr<DigitalOutput> output;
        std::string error;
    };
    Opened open_checked() const;
    void fault_locked(const std::string& cause);
    void take_locked(Opened opened);

    std::string board_;
    Opener open_;
    const Clock& clock_;
    Backoff backoff_;
    OnChange on_change_;
    int probe_channel_;
    Restore restore_;
    mutable std::mutex mutex_;
    bool opening_ = false;
    std::unique_ptr<DigitalOutput> output_;
    bool healthy_ = false;
    bool reported_ = false;  // whether on_change has said anything yet
    std::string cause_;
    double delay_s_ = 0;
    double next_retry_s_ = 0;
    double last_used_s_ = 0;  // clock time of the last command that went through
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

// A supervised board as a DigitalOutput: what the slot actuators (RelayReset, RelayPower)
// drive. A command on a faulted board, or one that fails now, throws DriverError naming
// the board, its port and the cause, and the supervisor takes the board out until it is back.
class SupervisedOutput final : public DigitalOutput {
  public:
    SupervisedOutput(BoardSupervisor& board, std::string port, int channels)
        : board_(board), port_(std::move(port)), channels_(channels) {}
    int channels() const override { return channels_; }
    void set(int channel, bool on) override;
    bool get(int channel) override;
    std::string describe() const override { return board_.board() + " on " + port_; }

  private:
    [[noreturn]] void refused() const;
    BoardSupervisor& board_;
    std::string port_;
    int channels_;
};

struct BoardHealth {
    std::string board;
    bool healthy = false;
    std::string cause;  // why it is faulted
};

// All boards of a fixture under supervision. Every (re)opened board has its outputs driven
// to their safe state before it is used; all of them are driven there again when destroyed.
// A board that cannot be opened at first is only faulted: it is retried like any other.
class FixtureBoards {
  public:
    FixtureBoards(const config::FixtureConfig& fixture, const Clock& clock,
                  std::function<std::unique_ptr<DigitalOutput>(const config::BoardConfig&)> open,
                  Backoff backoff = {}, BoardSupervisor::OnChange on_change = {});
    ~FixtureBoards();
    FixtureBoards(const FixtureBoards&) = delete;
    FixtureBoards& operator=(const FixtureBoards&) = delete;

    BoardSupervisor* board(const std::string& id);
    // The board as the slot actuators drive it; nullptr when the fixture has no such board.
    DigitalOutput* output(const std::string& id);
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
    // Why `slot` cannot be driven now ("board ID faulted: " and the board's cause); nullopt:
    // it can.
    std::optional<std::string> slot_fault(const std::string& slot) const;
    std::vector<BoardHealth> health() const;
    // Retries faulted boards whose backoff has passed; nothing while reopen_in_background
    // runs (its thread does it).
    void poll() noexcept;
    // Reopens faulted boards on a thread of its own, every `period_ms` of wall time, so that
    // a connect that hangs (a device server gone from the network) holds no line tick.
    void reopen_in_background(int period_ms = 50);
    // Probes every board idle this long (station clock) at each poll; 0: never.
    void probe_idle_boards(double idle_s) { probe_idle_s_ = idle_s; }

  private:
    void poll_now() noexcept;
    std::vector<config::SlotConfig> slots_;
    std::vector<SafeOutput> safe_;
    std::map<std::string, std::unique_ptr<BoardSupervisor>> boards_;
    std::map<std::string, std::unique_ptr<SupervisedOutput>> outputs_;
    std::atomic<double> probe_idle_s_{0};
    // Last: stopped before the boards it polls go.
    std::jthread reopening_;
};

}  // namespace linestation::drivers
