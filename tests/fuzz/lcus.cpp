// LCUS relay modules: a 4-byte command frame and the status lines "CH1: OFF\r\n".
#include <algorithm>
#include <string>
#include <string_view>

#include "drivers/lcus/lcus_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace lcus = linestation::drivers::lcus;

// Byte 0 picks the relay count (1..8, as sold); the rest is a frame and status text.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const int relays = 1 + data[0] % 8;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    if (size >= 5) {
        if (auto command = lcus::parse_frame(data + 1)) {
            const auto again = lcus::switch_frame(command->relay, command->on);
            if (!std::equal(again.begin(), again.end(), data + 1)) {
                linestation::fuzz::broken("lcus", "a parsed frame does not encode back to itself");
            }
        }
    }
    if (auto states = lcus::parse_status(text, relays)) {
        if (states->size() != static_cast<std::size_t>(relays)) {
            linestation::fuzz::broken("lcus", "status without one state per relay");
        }
        if (lcus::parse_status(lcus::status_text(*states), relays) != states) {
            linestation::fuzz::broken("lcus", "status text does not read back");
        }
    }
    return 0;
}
