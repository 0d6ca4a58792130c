#include "drivers/modbus_rtu/modbus_board.hpp"

#include "drivers/core/channel_range.hpp"

namespace linestation::drivers {

ModbusRelayBoard::ModbusRelayBoard(std::unique_ptr<Transport> transport, ModbusOptions options)
    : transport_(std::move(transport)), options_(options), clock_(pacing_clock(options.clock)) {
    if (options_.slave < 1 || options_.slave > 247) {
        throw DriverError(board_name(), transport_->name(),
                          "slave address must be 1 to 247, got " + std::to_string(options_.slave));
    }
}

std::string ModbusRelayBoard::board_name() const {
    return "modbus-rtu slave " + std::to_string(options_.slave);
}

std::string ModbusRelayBoard::describe() const {
    return board_name() + " on " + transport_->name();
}

void ModbusRelayBoard::check_channel(int channel) const {
    require_channel(channel, options_.channels, board_name(), transport_->name());
}

modbus::Reply ModbusRelayBoard::transact(const modbus::Bytes& request, const std::string& what) {
    std::lock_guard lock(mutex_);
    const auto line = transport_->line();
    const double gap_s = modbus::frame_gap_us(char_time_us(line), line.baud) / 1e6;
    std::string cause;
    const int attempts = 1 + std::max(options_.retries, 0);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        try {
            // A frame starts only after the line has been silent for 3.5 characters.
            clock_.pause(last_traffic_s_ + gap_s - clock_.now_s());
            transport_->discard_input();
            transport_->write(request);
            transport_->drain();
            modbus::Bytes received;
            modbus::Scan scan;
            read_until(*transport_, received, options_.timeout_ms, [&](const modbus::Bytes& b) {
                scan = modbus::find_reply(request, b);
                return scan.reply.has_value();
            });
            last_traffic_s_ = clock_.now_s();
            if (scan.reply) {
                if (scan.reply->exception) {
                    throw DriverError(board_name(), transport_->name(),
                                      what + ": " + modbus::exception_text(*scan.reply->exception));
                }
                return *scan.reply;
            }
            if (received.empty()) {
                cause = "no answer within " + std::to_string(options_.timeout_ms) + " ms";
            } else if (scan.bad_crc) {
                cause = "reply failed its CRC check";
            } else {
                cause = "no valid reply in " + std::to_string(received.size()) +
                        " bytes received (garbage on the line)";
            }
        } catch (const TransportError& e) {
            throw DriverError(board_name(), transport_->name(), what + ": " + e.what());
        }
    }
    throw DriverError(board_name(), transport_->name(),
                      what + ": " + cause + " (" + std::to_string(attempts) + " attempts)");
}

void ModbusRelayBoard::set(int channel, bool on) {
    check_channel(channel);
    transact(modbus::write_coil(static_cast<std::uint8_t>(options_.slave),
                                static_cast<std::uint16_t>(channel), on),
             "switch coil " + std::to_string(channel) + (on ? " on" : " off"));
}

bool ModbusRelayBoard::get(int channel) {
    check_channel(channel);
    auto reply = transact(modbus::read_coils(static_cast<std::uint8_t>(options_.slave),
                                             static_cast<std::uint16_t>(channel), 1),
                          "read coil " + std::to_string(channel));
    return reply.coils.at(0);
}

std::vector<bool> ModbusRelayBoard::read_all() {
    auto reply = transact(modbus::read_coils(static_cast<std::uint8_t>(options_.slave), 0,
                                             static_cast<std::uint16_t>(options_.channels)),
                          "read coils");
    return reply.coils;
}

void ModbusRelayBoard::write_all(const std::vector<bool>& states) {
    transact(modbus::write_coils(static_cast<std::uint8_t>(options_.slave), 0, states),
             "write coils");
}

}  // namespace linestation::drivers
