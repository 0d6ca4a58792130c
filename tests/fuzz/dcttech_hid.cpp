// dcttech HID relays: the 8-byte GET_REPORT answer and the USB product string.
#include <algorithm>
#include <string>

#include "drivers/dcttech_hid/hid_relay_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace hid = linestation::drivers::hid_relay;

// The first 8 bytes are the feature report; all the bytes are also tried as a product string.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size >= 8) {
        hid::Report report{};
        std::copy(data, data + 8, report.begin());
        const auto state = hid::parse_state(report);
        if (state.board_id.size() > 5) {
            linestation::fuzz::broken("dcttech_hid", "a board id longer than 5 characters");
        }
        (void)hid::state_report(state);
    }
    const std::string product(reinterpret_cast<const char*>(data), size);
    if (auto relays = hid::relays_from_product(product)) {
        if (*relays < 1) linestation::fuzz::broken("dcttech_hid", "a relay count below 1");
    }
    return 0;
}
