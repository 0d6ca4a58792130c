#pragma once
// From a fixture file's board entry to a live board.

#include <memory>
#include <string>

#include "drivers/core/digital_output.hpp"
#include "drivers/core/fixture_config.hpp"
#include "drivers/core/transport.hpp"

namespace linestation::drivers {

SerialLine serial_line(const config::SerialSettings& settings);

// Opens the board `board` describes. Throws DriverError naming the board id, its port and
// the cause (unknown driver, port missing, USB device absent...). The boards' pacing (a
// pause between commands, a frame gap) is kept on `clock` (null: the wall clock).
std::unique_ptr<DigitalOutput> open_board(const config::BoardConfig& board,
                                          const Clock* clock = nullptr);

}  // namespace linestation::drivers
