#include "drivers/dcttech_hid/hid_relay_board.hpp"

#include <cstdio>

#include "drivers/core/channel_range.hpp"

namespace linestation::drivers {

namespace {

constexpr const char* kBoard = "dcttech-hid";

hid_relay::State read_state(UsbDevice& device) {
    hid_relay::Report report{};
    const int n = device.control(hid_relay::kGetReportType, hid_relay::kGetReport,
                                 hid_relay::kFeatureReport, 0, report);
    if (n != static_cast<int>(report.size())) {
        throw UsbError("GET_REPORT returned " + std::to_string(n) + " bytes, expected 8");
    }
    return hid_relay::parse_state(report);
}

}  // namespace

HidRelayBoard::HidRelayBoard(const std::string& port, int channels)
    : port_(port), context_(std::make_shared<UsbContext>()) {
    UsbId id;
    std::string board_id;
    std::string open_as = port;
    if (parse_usb_id(port, id)) {
        board_id = id.serial;
        char ids[16];
        std::snprintf(ids, sizeof ids, "%04x:%04x", id.vid, id.pid);
        open_as = ids;
    }
    const auto is_relay = [](const UsbDeviceInfo& info) {
        return hid_relay::relays_from_product(info.product).has_value();
    };
    try {
        if (board_id.empty()) {
            device_ = std::make_unique<UsbDevice>(context_, open_as, is_relay);
        } else {
            // The id lives in the feature report, so every candidate is opened and asked.
            for (const auto& info : context_->list()) {
                if (info.vid != id.vid || info.pid != id.pid) continue;
                auto candidate = std::make_unique<UsbDevice>(context_, info.path, is_relay);
                if (read_state(*candidate).board_id == board_id) {
                    device_ = std::move(candidate);
                    break;
                }
            }
            if (!device_)
                throw UsbError("no HID relay with board id \"" + board_id + "\" attached");
        }
        const auto relays = hid_relay::relays_from_product(device_->info().product).value_or(8);
        channels_ = channels > 0 ? std::min(channels, relays) : relays;
        // usbhid holds the interface on a real system; take it for the board's lifetime.
        device_->claim(0);
        read_state(*device_);
    } catch (const UsbError& e) {
        throw DriverError(kBoard, port_, e.what());
    }
}

std::string HidRelayBoard::describe() const {
    return std::string(kBoard) + " " + device_->info().product + " on " + port_;
}

hid_relay::State HidRelayBoard::read_locked() {
    try {
        return read_state(*device_);
    } catch (const UsbError& e) {
        throw DriverError(kBoard, port_, std::string("GET_REPORT: ") + e.what());
    }
}

hid_relay::State HidRelayBoard::state() {
    std::lock_guard lock(mutex_);
    return read_locked();
}

void HidRelayBoard::set(int channel, bool on) {
    require_channel(channel, channels_, kBoard, port_);
    std::lock_guard lock(mutex_);
    auto report = hid_relay::switch_report(channel + 1, on);
    try {
        device_->control(hid_relay::kSetReportType, hid_relay::kSetReport,
                         hid_relay::kFeatureReport, 0, report);
    } catch (const UsbError& e) {
        throw DriverError(kBoard, port_, std::string("SET_REPORT: ") + e.what());
    }
    const bool now = (read_locked().relays >> channel) & 1;
    if (now != on) {
        throw DriverError(kBoard, port_,
                          "relay " + std::to_string(channel + 1) + " still " +
                              (now ? "on" : "off") + " after the command (read back)");
    }
}

bool HidRelayBoard::get(int channel) {
    require_channel(channel, channels_, kBoard, port_);
    std::lock_guard lock(mutex_);
    return (read_locked().relays >> channel) & 1;
}

}  // namespace linestation::drivers
