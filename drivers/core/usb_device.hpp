#pragma once
// libusb behind RAII: a context, an open device handle, claimed interfaces (the kernel
// driver is detached while claimed and given back on close).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "drivers/core/transport.hpp"

struct libusb_context;
struct libusb_device;
struct libusb_device_handle;

namespace linestation::drivers {

class UsbError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct UsbDeviceInfo {
    int bus = 0;
    std::string path;  // "1-1.4": bus, then the port chain, as uhubctl names it
    int vid = 0, pid = 0;
    int device_class = 0;
    int bcd_usb = 0;
    std::string manufacturer, product, serial;  // empty when unreadable
};

class UsbContext {
  public:
    UsbContext();
    ~UsbContext();
    UsbContext(const UsbContext&) = delete;
    UsbContext& operator=(const UsbContext&) = delete;
    libusb_context* get() const { return context_; }
    std::vector<UsbDeviceInfo> list() const;

  private:
    libusb_context* context_ = nullptr;
};

class UsbDevice {
  public:
    // Opens the device named by `port`: "VID:PID[:serial]" or a bus path "1-1.4".
    // `accept` may refuse candidates (e.g. by product name) before one is chosen.
    UsbDevice(std::shared_ptr<UsbContext> context, const std::string& port,
              const std::function<bool(const UsbDeviceInfo&)>& accept = {});
    ~UsbDevice();
    UsbDevice(const UsbDevice&) = delete;
    UsbDevice& operator=(const UsbDevice&) = delete;

    const UsbDeviceInfo& info() const { return info_; }
    // Detaches the kernel driver from `interface` if one is bound, then claims it.
    void claim(int interface);
    // A control transfer; returns the bytes transferred. Throws UsbError on failure.
    int control(std::uint8_t request_type, std::uint8_t request, std::uint16_t value,
                std::uint16_t index, std::span<std::uint8_t> data, unsigned timeout_ms = 1000);

  private:
    std::shared_ptr<UsbContext> context_;
    libusb_device_handle* handle_ = nullptr;
    UsbDeviceInfo info_;
    std::vector<int> claimed_;
};

std::string usb_error_text(int code);

}  // namespace linestation::drivers
