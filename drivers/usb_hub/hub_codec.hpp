#pragma once
// USB hub per-port power switching, with the requests uhubctl uses: the hub descriptor
// (GET_DESCRIPTOR 0xA0/0x06, 0x2900; 0x2A00 for SuperSpeed), port status (GET_STATUS
// 0xA3/0x00, index = port) with the power bit 0x0100 (USB 2) or 0x0200 (USB 3), and
// SET_FEATURE/CLEAR_FEATURE PORT_POWER (0x23, 0x03/0x01, wValue 8, index = port).

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace linestation::drivers::usb_hub {

constexpr std::uint8_t kGetDescriptorType = 0xA0;
constexpr std::uint8_t kGetDescriptor = 0x06;
constexpr std::uint16_t kHubDescriptor = 0x2900;
constexpr std::uint16_t kSuperSpeedHubDescriptor = 0x2A00;
constexpr std::uint8_t kGetPortStatusType = 0xA3;
constexpr std::uint8_t kGetStatus = 0x00;
constexpr std::uint8_t kPortFeatureType = 0x23;
constexpr std::uint8_t kSetFeature = 0x03;
constexpr std::uint8_t kClearFeature = 0x01;
constexpr std::uint16_t kPortPower = 8;

enum class PowerSwitching { ganged, per_port, none };

struct HubDescriptor {
    int ports = 0;
    PowerSwitching switching = PowerSwitching::none;
};

// From the hub descriptor's bytes; nullopt when it is too short or not a hub descriptor.
std::optional<HubDescriptor> parse_hub_descriptor(std::span<const std::uint8_t> bytes);
std::string switching_text(PowerSwitching s);

std::uint16_t hub_descriptor_value(bool superspeed);
std::uint16_t port_power_bit(bool superspeed);
// wPortStatus from GET_STATUS's 4 bytes (little endian).
std::uint16_t port_status(std::span<const std::uint8_t> bytes);

}  // namespace linestation::drivers::usb_hub
