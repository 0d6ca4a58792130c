#pragma once
// The fixture microcontroller's line protocol (see PROTOCOL.md beside this file).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace linestation::drivers::ascii {

std::string set_command(int channel, bool on);
std::string get_command(int channel);
std::string pulse_command(int channel, int ms);
std::string id_command();

struct Reply {
    bool ok = false;
    std::vector<std::string> words;  // after OK
    std::string error_code;          // after ERR
    std::string error_text;
};

// Takes the first complete line out of `buffer` (without its line end); nullopt if none.
std::optional<std::string> take_line(std::string& buffer);
// An OK or ERR line; nullopt for noise.
std::optional<Reply> parse_reply(std::string_view line);

}  // namespace linestation::drivers::ascii
