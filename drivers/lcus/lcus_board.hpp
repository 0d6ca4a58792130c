#pragma once
// An LCUS relay module. It never acknowledges a command, so when the board answers the
// status query the driver reads back after every switch; without it, get() returns what
// was last commanded and a dead board goes unnoticed (say so in the fixture).

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "drivers/core/clock.hpp"
#include "drivers/core/digital_output.hpp"
#include "drivers/core/transport.hpp"

namespace linestation::drivers {

struct LcusOptions {
    int channels = 1;
    bool status_query = true;
    // Ask once when opened whether the board answers the status query, and use read-back
    // only if it does (not every LCUS model does). A board that is dead when opened then
    // looks like one without status replies: no LCUS can be told apart from that.
    bool detect_status_query = false;
    int pause_ms = 30;  // the CH340 boards drop commands sent back to back
    int timeout_ms = 300;
    // The clock the pause is kept on (null: the wall clock). Reply timeouts are the
    // transport's waits for bytes and stay in wall time.
    const Clock* clock = nullptr;
};

class LcusRelayBoard final : public DigitalOutput {
  public:
    LcusRelayBoard(std::unique_ptr<Transport> transport, LcusOptions options);
    int channels() const override { return options_.channels; }
    void set(int channel, bool on) override;
    bool get(int channel) override;
    std::string describe() const override;
    std::vector<bool> read_all();
    bool reads_back() const { return options_.status_query; }

  private:
    std::vector<bool> query_locked();
    void send_locked(const std::vector<std::uint8_t>& bytes);
    void check_channel(int channel) const;
    std::string board_name() const;

    std::unique_ptr<Transport> transport_;
    LcusOptions options_;
    const Clock& clock_;
    std::mutex mutex_;
    std::vector<bool> commanded_;
    double last_command_s_ = -1e300;
};

}  // namespace linestation::drivers
