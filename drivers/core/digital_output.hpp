#pragma once
// The smallest thing a fixture board can do: switch numbered channels on and off.
// A relay channel becomes a reset button or a power switch by composition (see
// drivers/core/slot_actuators.hpp), as the fixture file says.

#include <stdexcept>
#include <string>

namespace linestation::drivers {

// A board failed: names the board, its port and the cause, in one line.
class DriverError : public std::runtime_error {
  public:
    DriverError(const std::string& board, const std::string& port, const std::string& cause)
        : std::runtime_error(board + " on " + port + ": " + cause),
          board_(board),
          port_(port),
          cause_(cause) {}
    const std::string& board() const { return board_; }
    const std::string& port() const { return port_; }
    const std::string& cause() const { return cause_; }

  private:
    std::string board_, port_, cause_;
};

class DigitalOutput {
  public:
    virtual ~DigitalOutput() = default;
    virtual int channels() const = 0;
    // Throws DriverError when the board does not confirm (or cannot be reached).
    virtual void set(int channel, bool on) = 0;
    virtual bool get(int channel) = 0;
    // e.g. "modbus-rtu slave 1 on /dev/ttyUSB0"
    virtual std::string describe() const = 0;
};

}  // namespace linestation::drivers
