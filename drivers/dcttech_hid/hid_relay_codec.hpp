#pragma once
// dcttech USB HID relays (16c0:05df, product "USBRelayN"). Commands are 8-byte feature
// reports: SET_REPORT `FF n 0..` switches relay n (from 1) on, `FD n 0..` off, `FE`/`FC`
// all on/off. GET_REPORT answers the board id in bytes 0-4 and the relay bitmask in byte 7.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace linestation::drivers::hid_relay {

constexpr int kVendor = 0x16c0;
constexpr int kProduct = 0x05df;
constexpr std::uint8_t kSetReportType = 0x20;  // class request to the device, host to device
constexpr std::uint8_t kSetReport = 0x09;
constexpr std::uint8_t kGetReportType = 0xA0;  // class request to the device, device to host
constexpr std::uint8_t kGetReport = 0x01;
constexpr std::uint16_t kFeatureReport = 0x0300;  // report type feature, report id 0

using Report = std::array<std::uint8_t, 8>;

Report switch_report(int relay, bool on);
Report switch_all_report(bool on);

struct State {
    std::string board_id;     // up to 5 characters
    std::uint8_t relays = 0;  // bit n-1: relay n
};
State parse_state(const Report& report);
Report state_report(const State& state);

// "USBRelay2" -> 2; nullopt when the product string is not a dcttech relay's.
std::optional<int> relays_from_product(const std::string& product);

}  // namespace linestation::drivers::hid_relay
