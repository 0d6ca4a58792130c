#include "drivers/core/board_factory.hpp"

#include "drivers/ascii/ascii_board.hpp"
#include "drivers/dcttech_hid/hid_relay_board.hpp"
#include "drivers/lcus/lcus_board.hpp"
#include "drivers/modbus_rtu/modbus_board.hpp"
#include "drivers/numato/numato_board.hpp"
#include "drivers/usb_hub/hub_port_power.hpp"

namespace linestation::drivers {

SerialLine serial_line(const config::SerialSettings& settings) {
    return SerialLine{settings.baud, settings.data_bits, settings.parity, settings.stop_bits};
}

std::unique_ptr<DigitalOutput> open_board(const config::BoardConfig& board, const Clock* clock) {
    const auto& d = board.driver;
    const auto timeout = board.serial.timeout_ms;
    const auto line = serial_line(board.serial);
    auto transport = [&] {
        try {
            return open_transport(board.port, line);
        } catch (const TransportError& e) {
            // Transport errors start with the port; the DriverError names it already.
            std::string cause = e.what();
            if (cause.rfind(board.port + ": ", 0) == 0) cause.erase(0, board.port.size() + 2);
            throw DriverError(board.id.empty() ? d : board.id, board.port, cause);
        }
    };
    if (d == "modbus-rtu") {
        return std::make_unique<ModbusRelayBoard>(
            transport(),
            ModbusOptions{board.modbus_address, board.channels, board.retries, timeout, clock});
    }
    if (d == "lcus") {
        LcusOptions options;
        options.channels = board.channels;
        options.timeout_ms = timeout;
        options.detect_status_query = true;
        options.clock = clock;
        return std::make_unique<LcusRelayBoard>(transport(), options);
    }
    if (d == "numato") {
        return std::make_unique<NumatoRelayBoard>(transport(),
                                                  NumatoOptions{board.channels, timeout});
    }
    if (d == "ascii") {
        return std::make_unique<AsciiFixtureBoard>(transport(),
                                                   AsciiOptions{board.channels, timeout});
    }
    if (d == "dcttech-hid") return std::make_unique<HidRelayBoard>(board.port, board.channels);
    if (d == "usb-hub") return std::make_unique<HubPortPower>(board.port);
    throw DriverError(board.id.empty() ? d : board.id, board.port,
                      "unknown driver \"" + d +
                          "\" (expected modbus-rtu, lcus, numato, ascii, dcttech-hid, usb-hub)");
}

}  // namespace linestation::drivers
