#pragma once
// A serial port through libserialport.

#include <memory>
#include <string>
#include <vector>

#include "drivers/core/transport.hpp"

struct sp_port;

namespace linestation::drivers {

class SerialTransport final : public Transport {
  public:
    // Opens and configures `device` (8N1-style settings, no flow control, raw bytes).
    SerialTransport(const std::string& device, const SerialLine& line);
    void write(std::span<const std::uint8_t> bytes) override;
    std::size_t read(std::span<std::uint8_t> buffer, int timeout_ms) override;
    void discard_input() override;
    void drain() override;
    std::string name() const override { return name_; }
    SerialLine line() const override { return line_; }

  private:
    struct PortCloser {
        void operator()(sp_port* port) const;
    };
    std::string name_;
    SerialLine line_;
    std::unique_ptr<sp_port, PortCloser> port_;
};

struct SerialPortInfo {
    std::string device;       // /dev/ttyUSB0
    std::string description;  // as the system describes it
    bool usb = false;
    int vid = 0, pid = 0;
    std::string serial;
};

// Every serial port the system knows, with its USB ids when it is a USB adapter.
std::vector<SerialPortInfo> list_serial_ports();
// The device name of the USB serial adapter `id`; throws TransportError naming the id
// when none or more than one matches.
std::string find_serial_port(const UsbId& id);

}  // namespace linestation::drivers
