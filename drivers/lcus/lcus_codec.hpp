#pragma once
// LCUS-1/2/4/8 relay modules (CH340, 9600 8N1). A command is `A0 relay state sum`, relays
// counted from 1; the board does not acknowledge. Boards that support it answer the status
// query `FF` with one line per relay, "CH1: OFF\r\n".

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace linestation::drivers::lcus {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t kStatusQuery = 0xFF;

// `relay` counts from 1, as printed on the board.
Bytes switch_frame(int relay, bool on);

struct Command {
    int relay = 0;
    bool on = false;
};
// Decodes a 4-byte command; nullopt when the header or the sum is wrong.
std::optional<Command> parse_frame(const std::uint8_t* frame);

// The relay states once all `relays` status lines have arrived; nullopt until then.
std::optional<std::vector<bool>> parse_status(std::string_view text, int relays);
std::string status_text(const std::vector<bool>& states);

}  // namespace linestation::drivers::lcus
