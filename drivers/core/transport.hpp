#pragma once
// A byte stream to a board: a serial line (libserialport) or a raw TCP connection to a
// serial device server (ser2net, Moxa NPort), which carries exactly the serial bytes.

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "drivers/core/clock.hpp"

namespace linestation::drivers {

using Bytes = std::vector<std::uint8_t>;

// The line itself failed (cannot open, closed, unplugged). Timeouts are not errors here:
// read() returns 0 and the board's driver decides what silence means.
class TransportError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct SerialLine {
    int baud = 9600;
    int data_bits = 8;
    char parity = 'N';  // N E O
    int stop_bits = 1;
};

class Transport {
  public:
    virtual ~Transport() = default;
    virtual void write(std::span<const std::uint8_t> bytes) = 0;
    // Waits up to `timeout_ms` for at least one byte; returns how many were read (0: none).
    virtual std::size_t read(std::span<std::uint8_t> buffer, int timeout_ms) = 0;
    // Drops whatever arrived unasked (late replies, line noise) before a new request.
    virtual void discard_input() = 0;
    // Returns once everything written has left (serial: tcdrain).
    virtual void drain() = 0;
    // The port as the user named it, e.g. "/dev/ttyUSB0" or "tcp://10.0.0.5:4001".
    virtual std::string name() const = 0;
    // The serial line's settings (for a TCP device server: the line behind it), used for
    // character times and frame gaps.
    virtual SerialLine line() const = 0;
};

// `clock`, or the wall clock when it is null: what a driver keeps its pacing on.
const Clock& pacing_clock(const Clock* clock);

// Microseconds one character takes on the line (start + data + parity + stop bits).
double char_time_us(const SerialLine& line);

// Opens `port`: "tcp://host:port", "usb:VID:PID[:serial]" (a USB serial adapter, found
// again after a replug into another socket), or a serial device name.
std::unique_ptr<Transport> open_transport(const std::string& port, const SerialLine& line,
                                          int connect_timeout_ms = 2000);

// A USB id as written in fixture files: "VID:PID" or "VID:PID:serial" (hex ids).
struct UsbId {
    int vid = 0;
    int pid = 0;
    std::string serial;  // empty: any
};
// Parses "1a86:7523" or "1a86:7523:RS485-01" (an optional "usb:" prefix is accepted);
// false when `text` is not of that form.
bool parse_usb_id(const std::string& text, UsbId& out);

}  // namespace linestation::drivers

#include <functional>

namespace linestation::drivers {

// Appends to `received` what arrives until `done(received)` holds or `timeout_ms` (wall
// time) passes; returns whether `done` held.
bool read_until(Transport& transport, Bytes& received, int timeout_ms,
                const std::function<bool(const Bytes&)>& done);

}  // namespace linestation::drivers
