#include "drivers/numato/numato_codec.hpp"

#include <stdexcept>

namespace linestation::drivers::numato {

std::string relay_index(int relay) {
    if (relay < 0 || relay > 31) throw std::out_of_range("numato relay " + std::to_string(relay));
    return relay < 10 ? std::string(1, static_cast<char>('0' + relay))
                      : std::string(1, static_cast<char>('A' + relay - 10));
}

std::optional<int> parse_relay_index(std::string_view text) {
    if (text.size() != 1) return std::nullopt;
    const char c = text[0];
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'V') return 10 + c - 'A';
    if (c >= 'a' && c <= 'v') return 10 + c - 'a';
    return std::nullopt;
}

std::string relay_on(int relay) {
    return "relay on " + relay_index(relay) + "\r";
}
std::string relay_off(int relay) {
    return "relay off " + relay_index(relay) + "\r";
}
std::string relay_read(int relay) {
    return "relay read " + relay_index(relay) + "\r";
}
std::string relay_readall() {
    return "relay readall\r";
}

std::optional<std::string> response_body(std::string_view received, std::string_view command) {
    if (!command.empty() && command.back() == '\r') command.remove_suffix(1);
    const auto echo = received.find(command);
    if (echo == std::string_view::npos) return std::nullopt;
    auto rest = received.substr(echo + command.size());
    const auto prompt = rest.find('>');
    if (prompt == std::string_view::npos) return std::nullopt;
    rest = rest.substr(0, prompt);
    std::string body;
    for (char c : rest) {
        if (c != '\r' && c != '\n') body += c;
    }
    return body;
}

std::optional<bool> parse_state(std::string_view body) {
    if (body == "on") return true;
    if (body == "off") return false;
    return std::nullopt;
}

std::optional<std::vector<bool>> parse_readall(std::string_view body, int relays) {
    if (body.empty() || body.size() > 8) return std::nullopt;
    unsigned long mask = 0;
    for (char c : body) {
        int v = 0;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = 10 + c - 'a';
        else if (c >= 'A' && c <= 'F')
            v = 10 + c - 'A';
        else
            return std::nullopt;
        mask = (mask << 4) | static_cast<unsigned long>(v);
    }
    std::vector<bool> out;
    for (int i = 0; i < relays; ++i) out.push_back(((mask >> i) & 1u) != 0);
    return out;
}

}  // namespace linestation::drivers::numato
