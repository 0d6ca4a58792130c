#pragma once
// Numato Lab USB relay modules (CDC-ACM): text commands ended by CR, e.g. "relay on 3\r".
// The board echoes the command, answers (for reads) on the next line, and ends with the
// prompt '>'. Relays 10 and up are letters: 10 is 'A', 31 is 'V'.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace linestation::drivers::numato {

// "0".."9", "A".."V"; throws std::out_of_range above 31.
std::string relay_index(int relay);
// Inverse of relay_index; nullopt for anything else.
std::optional<int> parse_relay_index(std::string_view text);

std::string relay_on(int relay);
std::string relay_off(int relay);
std::string relay_read(int relay);
std::string relay_readall();

// What the board said after echoing `command`, without the echo, line ends and prompt;
// nullopt until the prompt has arrived.
std::optional<std::string> response_body(std::string_view received, std::string_view command);
// "on"/"off" -> state; nullopt for anything else.
std::optional<bool> parse_state(std::string_view body);
// readall's hex answer ("00a5"), relay 0 in the lowest bit.
std::optional<std::vector<bool>> parse_readall(std::string_view body, int relays);

}  // namespace linestation::drivers::numato
