#include "drivers/usb_hub/hub_port_power.hpp"

#include <array>

#include "drivers/core/channel_range.hpp"

namespace linestation::drivers {

namespace {
constexpr const char* kBoard = "usb-hub";
constexpr int kHubClass = 9;
}  // namespace

HubPortPower::HubPortPower(const std::string& port)
    : port_(port), context_(std::make_shared<UsbContext>()) {
    try {
        device_ = std::make_unique<UsbDevice>(context_, port, [](const UsbDeviceInfo& info) {
            return info.device_class == kHubClass;
        });
        superspeed_ = device_->info().bcd_usb >= 0x0300;
        std::array<std::uint8_t, 64> bytes{};
        const int n = device_->control(usb_hub::kGetDescriptorType, usb_hub::kGetDescriptor,
                                       usb_hub::hub_descriptor_value(superspeed_), 0, bytes);
        const auto descriptor =
            usb_hub::parse_hub_descriptor(std::span(bytes.data(), static_cast<std::size_t>(n)));
        if (!descriptor) throw UsbError("the hub descriptor is unreadable");
        descriptor_ = *descriptor;
    } catch (const UsbError& e) {
        throw DriverError(kBoard, port_, e.what());
    }
    if (descriptor_.switching != usb_hub::PowerSwitching::per_port) {
        throw DriverError(kBoard, port_,
                          "this hub cannot switch port power per port (its descriptor says " +
                              usb_hub::switching_text(descriptor_.switching) + ")");
    }
}

std::string HubPortPower::describe() const {
    return std::string(kBoard) + " " + device_->info().path + " (" +
           std::to_string(descriptor_.ports) + " ports) on " + port_;
}

std::uint16_t HubPortPower::status_locked(int port) {
    std::array<std::uint8_t, 4> bytes{};
    try {
        device_->control(usb_hub::kGetPortStatusType, usb_hub::kGetStatus, 0,
                         static_cast<std::uint16_t>(port), bytes);
    } catch (const UsbError& e) {
        throw DriverError(kBoard, port_, "port " + std::to_string(port) + " status: " + e.what());
    }
    return usb_hub::port_status(bytes);
}

void HubPortPower::set(int port, bool on) {
    require_channel(port, descriptor_.ports, kBoard, port_, 1);
    std::lock_guard lock(mutex_);
    try {
        device_->control(usb_hub::kPortFeatureType,
                         on ? usb_hub::kSetFeature : usb_hub::kClearFeature, usb_hub::kPortPower,
                         static_cast<std::uint16_t>(port), {});
    } catch (const UsbError& e) {
        throw DriverError(
            kBoard, port_,
            "port " + std::to_string(port) + " power " + (on ? "on: " : "off: ") + e.what());
    }
    const bool now = (status_locked(port) & usb_hub::port_power_bit(superspeed_)) != 0;
    if (now != on) {
        throw DriverError(kBoard, port_,
                          "port " + std::to_string(port) + " power still " + (now ? "on" : "off") +
                              " after the request (read back)");
    }
}

bool HubPortPower::get(int port) {
    require_channel(port, descriptor_.ports, kBoard, port_, 1);
    std::lock_guard lock(mutex_);
    return (status_locked(port) & usb_hub::port_power_bit(superspeed_)) != 0;
}

}  // namespace linestation::drivers
