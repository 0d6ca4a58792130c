#include "drivers/core/serial_transport.hpp"

#include <chrono>
#include <thread>

#include <libserialport.h>

#include <cstdio>

namespace linestation::drivers {

namespace {

std::string sp_error_text(sp_return code) {
    if (code == SP_ERR_FAIL) {
        char* message = sp_last_error_message();
        std::string text = message ? message : "system error";
        sp_free_error_message(message);
        return text;
    }
    switch (code) {
        case SP_ERR_ARG:
            return "invalid argument (no such port?)";
        case SP_ERR_MEM:
            return "out of memory";
        case SP_ERR_SUPP:
            return "not supported by this port";
        default:
            return "libserialport error " + std::to_string(static_cast<int>(code));
    }
}

void check(sp_return code, const std::string& device, const std::string& what) {
    if (code < 0) throw TransportError(device + ": " + what + ": " + sp_error_text(code));
}

sp_parity to_parity(char p, const std::string& device) {
    switch (p) {
        case 'N':
        case 'n':
            return SP_PARITY_NONE;
        case 'E':
        case 'e':
            return SP_PARITY_EVEN;
        case 'O':
        case 'o':
            return SP_PARITY_ODD;
        default:
            throw TransportError(device + ": parity must be N, E or O, got '" + p + "'");
    }
}

}  // namespace

void SerialTransport::PortCloser::operator()(sp_port* port) const {
    sp_close(port);
    sp_free_port(port);
}

SerialTransport::SerialTransport(const std::string& device, const SerialLine& line)
    : name_(device), line_(line) {
    sp_port* raw = nullptr;
    // Right after a (re)plug the device node can exist before udev has filled in its sysfs
    // entry, which libserialport's lookup reads: give it a moment before calling it absent.
    auto found = sp_get_port_by_name(device.c_str(), &raw);
    for (int attempt = 1; found != SP_OK && attempt < 3; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        found = sp_get_port_by_name(device.c_str(), &raw);
    }
    check(found, device, "cannot find port");
    std::unique_ptr<sp_port, void (*)(sp_port*)> unopened(raw, sp_free_port);
    check(sp_open(raw, SP_MODE_READ_WRITE), device, "cannot open");
    port_.reset(unopened.release());
    check(sp_set_baudrate(raw, line.baud), device, "baud " + std::to_string(line.baud));
    check(sp_set_bits(raw, line.data_bits), device, "data bits");
    check(sp_set_parity(raw, to_parity(line.parity, device)), device, "parity");
    check(sp_set_stopbits(raw, line.stop_bits), device, "stop bits");
    // Binary protocols carry 0x11/0x13: XON/XOFF would eat them.
    check(sp_set_flowcontrol(raw, SP_FLOWCONTROL_NONE), device, "flow control");
}

void SerialTransport::write(std::span<const std::uint8_t> bytes) {
    const auto sent = sp_blocking_write(port_.get(), bytes.data(), bytes.size(), 1000);
    check(static_cast<sp_return>(sent < 0 ? sent : 0), name_, "write");
    if (static_cast<std::size_t>(sent) != bytes.size()) {
        throw TransportError(name_ + ": write timed out after " + std::to_string(sent) + " of " +
                             std::to_string(bytes.size()) + " bytes");
    }
}

std::size_t SerialTransport::read(std::span<std::uint8_t> buffer, int timeout_ms) {
    // libserialport treats a zero timeout as "wait forever".
    const auto got = timeout_ms <= 0
                         ? sp_nonblocking_read(port_.get(), buffer.data(), buffer.size())
                         : sp_blocking_read_next(port_.get(), buffer.data(), buffer.size(),
                                                 static_cast<unsigned>(timeout_ms));
    check(static_cast<sp_return>(got < 0 ? got : 0), name_, "read");
    return static_cast<std::size_t>(got);
}

void SerialTransport::discard_input() {
    check(sp_flush(port_.get(), SP_BUF_INPUT), name_, "flush");
}

void SerialTransport::drain() {
    check(sp_drain(port_.get()), name_, "drain");
}

std::vector<SerialPortInfo> list_serial_ports() {
    sp_port** ports = nullptr;
    if (sp_list_ports(&ports) < 0) throw TransportError("cannot list serial ports");
    std::unique_ptr<sp_port*, void (*)(sp_port**)> owned(ports, sp_free_port_list);
    std::vector<SerialPortInfo> out;
    for (auto** p = ports; *p; ++p) {
        SerialPortInfo info;
        const char* name = sp_get_port_name(*p);
        const char* description = sp_get_port_description(*p);
        info.device = name ? name : "";
        info.description = description ? description : "";
        if (sp_get_port_transport(*p) == SP_TRANSPORT_USB) {
            info.usb = sp_get_port_usb_vid_pid(*p, &info.vid, &info.pid) == SP_OK;
            const char* serial = sp_get_port_usb_serial(*p);
            info.serial = serial ? serial : "";
        }
        out.push_back(std::move(info));
    }
    return out;
}

std::string find_serial_port(const UsbId& id) {
    std::vector<std::string> matches;
    for (const auto& port : list_serial_ports()) {
        if (port.usb && port.vid == id.vid && port.pid == id.pid &&
            (id.serial.empty() || id.serial == port.serial)) {
            matches.push_back(port.device);
        }
    }
    char ids[16];
    std::snprintf(ids, sizeof ids, "%04x:%04x", id.vid, id.pid);
    std::string wanted = std::string("USB serial adapter ") + ids +
                         (id.serial.empty() ? "" : " serial \"" + id.serial + "\"");
    if (matches.empty()) throw TransportError(wanted + " is not attached");
    if (matches.size() > 1) {
        throw TransportError(wanted + " matches " + std::to_string(matches.size()) + " ports (" +
                             matches[0] + ", " + matches[1] +
                             "...); add the serial number to the port");
    }
    return matches.front();
}

}  // namespace linestation::drivers
