#include "drivers/dcttech_hid/hid_relay_codec.hpp"

namespace linestation::drivers::hid_relay {

Report switch_report(int relay, bool on) {
    return {static_cast<std::uint8_t>(on ? 0xFF : 0xFD),
            static_cast<std::uint8_t>(relay),
            0,
            0,
            0,
            0,
            0,
            0};
}

Report switch_all_report(bool on) {
    return {static_cast<std::uint8_t>(on ? 0xFE : 0xFC), 0, 0, 0, 0, 0, 0, 0};
}

State parse_state(const Report& report) {
    State state;
    for (std::size_t i = 0; i < 5 && report[i] != 0; ++i) {
        state.board_id += static_cast<char>(report[i]);
    }
    state.relays = report[7];
    return state;
}

Report state_report(const State& state) {
    Report r{};
    for (std::size_t i = 0; i < 5 && i < state.board_id.size(); ++i) {
        r[i] = static_cast<std::uint8_t>(state.board_id[i]);
    }
    r[7] = state.relays;
    return r;
}

std::optional<int> relays_from_product(const std::string& product) {
    const std::string prefix = "USBRelay";
    if (product.rfind(prefix, 0) != 0 || product.size() == prefix.size()) return std::nullopt;
    int n = 0;
    for (std::size_t i = prefix.size(); i < product.size(); ++i) {
        if (product[i] < '0' || product[i] > '9') return std::nullopt;
        n = n * 10 + (product[i] - '0');
        // Boards have 1..8 relays; stop before a long run of digits overflows the count.
        if (n > 8) return std::nullopt;
    }
    if (n < 1 || n > 8) return std::nullopt;
    return n;
}

}  // namespace linestation::drivers::hid_relay
