// `station fixture`: switch and pulse a board's channel from the command line, and list
// what is attached. Same driver and port names as fixture files.

#include <chrono>
#include <cstdio>
#include <iostream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "drivers/core/board_factory.hpp"
#include "drivers/core/serial_transport.hpp"
#include "drivers/core/slot_actuators.hpp"
#include "drivers/core/usb_device.hpp"
#include "drivers/dcttech_hid/hid_relay_board.hpp"
#include "drivers/usb_hub/hub_port_power.hpp"
#include "station/config/fixture.hpp"

namespace linestation::app {

namespace {

std::string hex_id(int vid, int pid) {
    char text[16];
    std::snprintf(text, sizeof text, "%04x:%04x", vid, pid);
    return text;
}

int fixture_list() {
    for (const auto& port : drivers::list_serial_ports()) {
        std::cout << "serial    " << port.device;
        if (port.usb) {
            std::cout << "  usb:" << hex_id(port.vid, port.pid)
                      << (port.serial.empty() ? "" : ":" + port.serial);
        }
        if (!port.description.empty()) std::cout << "  (" << port.description << ")";
        std::cout << "\n";
    }
    std::unique_ptr<drivers::UsbContext> usb;
    try {
        usb = std::make_unique<drivers::UsbContext>();
    } catch (const drivers::UsbError& e) {
        std::cerr << "station fixture list: USB not available: " << e.what() << "\n";
        return 0;
    }
    for (const auto& device : usb->list()) {
        const auto id = hex_id(device.vid, device.pid);
        if (device.vid == drivers::hid_relay::kVendor &&
            device.pid == drivers::hid_relay::kProduct) {
            std::cout << "hid-relay " << device.path << "  " << id << "  " << device.product;
            try {
                drivers::HidRelayBoard board(device.path);
                std::cout << "  id " << board.state().board_id;
            } catch (const drivers::DriverError& e) {
                std::cout << "  (" << e.cause() << ")";
            }
            std::cout << "\n";
        } else if (device.device_class == 9) {
            std::cout << "usb-hub   " << device.path << "  " << id;
            try {
                drivers::HubPortPower hub(device.path);
                std::cout << "  " << hub.channels() << " ports, per-port power switching";
            } catch (const drivers::DriverError& e) {
                std::cout << "  (" << e.cause() << ")";
            }
            std::cout << "\n";
        }
    }
    return 0;
}

}  // namespace

int run_fixture(const Args& args) {
    CommandLine cli("fixture",
                    "list | on|off|read|pulse --driver D --port P --channel N "
                    "[--ms MS] [serial options]",
                    "Switches, reads and pulses one channel of a fixture board; `list` shows the "
                    "serial ports, HID relays and USB hubs attached. Drivers: modbus-rtu, lcus, "
                    "numato, ascii, dcttech-hid, usb-hub. Ports: a serial device, "
                    "usb:VID:PID[:serial] (a USB serial adapter), tcp://host:port (a serial "
                    "device server), or a USB id VID:PID[:serial] / bus path for USB boards.");
    cli.option("driver", "D", "board driver")
        .option("port", "P", "where the board is")
        .option("channel", "N", "channel (relays from 0, hub ports from 1)")
        .option("ms", "MS", "pulse length in milliseconds (pulse; default 500)")
        .option("channels", "N", "channels on the board (default: enough for --channel)")
        .option("baud", "B", "serial baud rate (default 9600)")
        .option("data-bits", "N", "serial data bits (default 8)")
        .option("parity", "N|E|O", "serial parity (default N)")
        .option("stop-bits", "N", "serial stop bits (default 1)")
        .option("timeout-ms", "MS", "reply timeout (default 500)")
        .option("address", "A", "Modbus slave address (default 1)")
        .option("retries", "N", "Modbus retries after a timeout or bad frame (default 2)");
    if (!cli.parse(args, std::cout)) return 0;
    if (cli.positional().size() != 1) {
        throw UsageError("fixture: expected one action: list, on, off, read or pulse");
    }
    const auto action = cli.positional().front();
    if (action == "list") return fixture_list();
    if (action != "on" && action != "off" && action != "read" && action != "pulse") {
        throw UsageError("fixture: unknown action \"" + action +
                         "\" (expected list, on, off, read or pulse)");
    }
    for (const char* required : {"driver", "port", "channel"}) {
        if (!cli.has(required))
            throw UsageError(std::string("fixture: --") + required + " is required");
    }
    config::BoardConfig board;
    board.driver = cli.value("driver");
    board.id = board.driver;
    board.port = cli.value("port");
    const int channel = cli.int_value("channel", 0, 0, 255);
    board.channels =
        cli.int_value("channels", board.driver == "dcttech-hid" ? 0 : channel + 1, 0, 256);
    board.serial.baud = cli.int_value("baud", 9600, 50, 4000000);
    board.serial.data_bits = cli.int_value("data-bits", 8, 5, 8);
    board.serial.stop_bits = cli.int_value("stop-bits", 1, 1, 2);
    board.serial.timeout_ms = cli.int_value("timeout-ms", 500, 1, 60000);
    const auto parity = cli.value_or("parity", "N");
    if (parity != "N" && parity != "E" && parity != "O") {
        throw UsageError("fixture: --parity: expected N, E or O, got \"" + parity + "\"");
    }
    board.serial.parity = parity[0];
    board.modbus_address = cli.int_value("address", 1, 1, 247);
    board.retries = cli.int_value("retries", 2, 0, 10);
    const int ms = cli.int_value("ms", 500, 1, 600000);
    bool known = false;
    for (const auto& d : config::known_board_drivers())
        known = known || (d == board.driver && d != "virtual");
    if (!known) {
        throw UsageError(
            "fixture: --driver: expected modbus-rtu, lcus, numato, ascii, dcttech-hid "
            "or usb-hub, got \"" +
            board.driver + "\"");
    }

    auto output = drivers::open_board(board);
    const auto where = output->describe() + " channel " + std::to_string(channel);
    if (action == "read") {
        std::cout << (output->get(channel) ? "on" : "off") << "\n";
    } else if (action == "pulse") {
        drivers::pulse(*output, channel, std::chrono::milliseconds(ms));
        std::cout << where << ": pulsed " << ms << " ms\n";
    } else {
        output->set(channel, action == "on");
        std::cout << where << ": " << action << "\n";
    }
    return 0;
}

}  // namespace linestation::app
