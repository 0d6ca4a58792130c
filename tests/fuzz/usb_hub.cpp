// USB hubs: the hub descriptor and GET_STATUS bytes a hub (or a broken one) returns.
#include <span>

#include "drivers/usb_hub/hub_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace hub = linestation::drivers::usb_hub;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    if (auto descriptor = hub::parse_hub_descriptor(bytes)) {
        if (descriptor->ports < 0 || descriptor->ports > 255) {
            linestation::fuzz::broken("usb_hub", "a port count outside one byte");
        }
        (void)hub::switching_text(descriptor->switching);
    }
    (void)hub::port_status(bytes);
    return 0;
}
