#pragma once
// From a fixture file's board entry to a live board.

#include <functional>
#include <memory>
#include <string>

#include "drivers/core/digital_output.hpp"
#include "drivers/core/fixture_config.hpp"
#include "drivers/core/transport.hpp"

namespace linestation::drivers {

// How a serial board's port becomes a byte stream; the virtual line substitutes its own
// for "virtual:NAME" ports. Default: open_transport().
using TransportOpener =
    std::function<std::unique_ptr<Transport>(const std::string& port, const SerialLine& line)>;

SerialLine serial_line(const config::SerialSettings& settings);

// Opens the board `board` describes. Throws DriverError naming the board id, its port and
// the cause (unknown driver, port missing, USB device absent...).
std::unique_ptr<DigitalOutput> open_board(const config::BoardConfig& board,
                                          const TransportOpener& opener = {});

}  // namespace linestation::drivers
