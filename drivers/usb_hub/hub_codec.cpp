#include "drivers/usb_hub/hub_codec.hpp"

namespace linestation::drivers::usb_hub {

std::optional<HubDescriptor> parse_hub_descriptor(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 5) return std::nullopt;
    if (bytes[1] != 0x29 && bytes[1] != 0x2A) return std::nullopt;
    HubDescriptor d;
    d.ports = bytes[2];
    const int characteristics = bytes[3] | (bytes[4] << 8);
    switch (characteristics & 0x3) {
        case 0:
            d.switching = PowerSwitching::ganged;
            break;
        case 1:
            d.switching = PowerSwitching::per_port;
            break;
        default:
            d.switching = PowerSwitching::none;
            break;
    }
    return d;
}

std::string switching_text(PowerSwitching s) {
    switch (s) {
        case PowerSwitching::ganged:
            return "ganged (all ports together)";
        case PowerSwitching::per_port:
            return "per-port";
        case PowerSwitching::none:
            return "none";
    }
    return "unknown";
}

std::uint16_t hub_descriptor_value(bool superspeed) {
    return superspeed ? kSuperSpeedHubDescriptor : kHubDescriptor;
}

std::uint16_t port_power_bit(bool superspeed) {
    return superspeed ? 0x0200 : 0x0100;
}

std::uint16_t port_status(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 2) return 0;
    return static_cast<std::uint16_t>(bytes[0] | (bytes[1] << 8));
}

}  // namespace linestation::drivers::usb_hub
