#pragma once

#include <string>

#include "drivers/core/digital_output.hpp"

namespace linestation::drivers {

// Throws DriverError unless 0 <= channel < channels.
inline void require_channel(int channel, int channels, const std::string& board,
                            const std::string& port, int first = 0) {
    if (channel < first || channel >= channels + first) {
        throw DriverError(board, port,
                          "channel " + std::to_string(channel) + " out of range " +
                              std::to_string(first) + ".." + std::to_string(channels + first - 1));
    }
}

}  // namespace linestation::drivers
