#include "drivers/lcus/lcus_codec.hpp"

#include <string>

namespace linestation::drivers::lcus {

Bytes switch_frame(int relay, bool on) {
    const auto r = static_cast<std::uint8_t>(relay);
    const auto s = static_cast<std::uint8_t>(on ? 1 : 0);
    return {0xA0, r, s, static_cast<std::uint8_t>(0xA0 + r + s)};
}

std::optional<Command> parse_frame(const std::uint8_t* f) {
    if (f[0] != 0xA0 || f[2] > 1) return std::nullopt;
    if (static_cast<std::uint8_t>(f[0] + f[1] + f[2]) != f[3]) return std::nullopt;
    return Command{f[1], f[2] == 1};
}

std::optional<std::vector<bool>> parse_status(std::string_view text, int relays) {
    std::vector<bool> states(static_cast<std::size_t>(relays), false);
    std::vector<bool> seen(states.size(), false);
    int found = 0;
    for (int r = 1; r <= relays; ++r) {
        const std::string key = "CH" + std::to_string(r) + ":";
        auto at = text.find(key);
        if (at == std::string_view::npos) continue;
        auto end = text.find('\n', at);
        if (end == std::string_view::npos) continue;
        auto value = text.substr(at + key.size(), end - at - key.size());
        const bool on = value.find("ON") != std::string_view::npos;
        const bool off = value.find("OFF") != std::string_view::npos;
        if (on == off) continue;
        states[static_cast<std::size_t>(r - 1)] = on;
        ++found;
    }
    if (found < relays) return std::nullopt;
    return states;
}

std::string status_text(const std::vector<bool>& states) {
    std::string out;
    for (std::size_t i = 0; i < states.size(); ++i) {
        out += "CH" + std::to_string(i + 1) + ": " + (states[i] ? "ON" : "OFF") + "\r\n";
    }
    return out;
}

}  // namespace linestation::drivers::lcus
