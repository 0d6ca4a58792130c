#pragma once
// A dcttech HID relay over libusb. Every switch is read back with GET_REPORT, so a relay
// that did not follow is an error, not a silent miss.

#include <memory>
#include <mutex>

#include "drivers/core/digital_output.hpp"
#include "drivers/core/usb_device.hpp"
#include "drivers/dcttech_hid/hid_relay_codec.hpp"

namespace linestation::drivers {

class HidRelayBoard final : public DigitalOutput {
  public:
    // `port`: "16c0:05df" (the only one attached), "16c0:05df:BOARDID" (the board id in its
    // report; these boards have no USB serial number) or a bus path "1-1.4".
    HidRelayBoard(const std::string& port, int channels = 0);
    int channels() const override { return channels_; }
    void set(int channel, bool on) override;
    bool get(int channel) override;
    std::string describe() const override;
    hid_relay::State state();

  private:
    hid_relay::State read_locked();
    std::string port_;
    std::shared_ptr<UsbContext> context_;
    std::unique_ptr<UsbDevice> device_;
    int channels_ = 0;
    std::mutex mutex_;
};

}  // namespace linestation::drivers
