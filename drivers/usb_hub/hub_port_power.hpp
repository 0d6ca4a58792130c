#pragma once
// A hub's downstream ports as power switches; channel n is port n (from 1, as the hub
// numbers them). A hub without per-port power switching is refused when opened.

#include <memory>
#include <mutex>

#include "drivers/core/digital_output.hpp"
#include "drivers/core/usb_device.hpp"
#include "drivers/usb_hub/hub_codec.hpp"

namespace linestation::drivers {

class HubPortPower final : public DigitalOutput {
  public:
    // `port`: "VID:PID[:serial]" or a bus path "1-1".
    explicit HubPortPower(const std::string& port);
    // Ports are numbered from 1: channels() is the highest port number.
    int channels() const override { return descriptor_.ports; }
    void set(int port, bool on) override;
    bool get(int port) override;
    std::string describe() const override;

  private:
    std::uint16_t status_locked(int port);
    std::string port_;
    std::shared_ptr<UsbContext> context_;
    std::unique_ptr<UsbDevice> device_;
    usb_hub::HubDescriptor descriptor_;
    bool superspeed_ = false;
    std::mutex mutex_;
};

}  // namespace linestation::drivers
