#include "drivers/numato/numato_board.hpp"

#include "drivers/core/channel_range.hpp"
#include "drivers/numato/numato_codec.hpp"

namespace linestation::drivers {

NumatoRelayBoard::NumatoRelayBoard(std::unique_ptr<Transport> transport, NumatoOptions options)
    : transport_(std::move(transport)), options_(options) {}

std::string NumatoRelayBoard::board_name() const {
    return "numato-" + std::to_string(options_.channels);
}

std::string NumatoRelayBoard::describe() const {
    return board_name() + " on " + transport_->name();
}

std::string NumatoRelayBoard::exchange(const std::string& command) {
    std::lock_guard lock(mutex_);
    const auto what = command.substr(0, command.size() - 1);
    Bytes received;
    std::optional<std::string> body;
    try {
        transport_->discard_input();
        transport_->write(
            std::span(reinterpret_cast<const std::uint8_t*>(command.data()), command.size()));
        read_until(*transport_, received, options_.timeout_ms, [&](const Bytes& b) {
            body = numato::response_body(
                std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), command);
            return body.has_value();
        });
    } catch (const TransportError& e) {
        throw DriverError(board_name(), transport_->name(), "\"" + what + "\": " + e.what());
    }
    if (!body) {
        throw DriverError(
            board_name(), transport_->name(),
            "\"" + what + "\": " +
                (received.empty()
                     ? "no answer within " + std::to_string(options_.timeout_ms) + " ms"
                     : "no echo and prompt in " + std::to_string(received.size()) +
                           " bytes received"));
    }
    return *body;
}

void NumatoRelayBoard::set(int channel, bool on) {
    require_channel(channel, options_.channels, board_name(), transport_->name());
    exchange(on ? numato::relay_on(channel) : numato::relay_off(channel));
}

bool NumatoRelayBoard::get(int channel) {
    require_channel(channel, options_.channels, board_name(), transport_->name());
    const auto body = exchange(numato::relay_read(channel));
    const auto state = numato::parse_state(body);
    if (!state) {
        throw DriverError(
            board_name(), transport_->name(),
            "relay read " + numato::relay_index(channel) + ": unexpected answer \"" + body + "\"");
    }
    return *state;
}

std::vector<bool> NumatoRelayBoard::read_all() {
    const auto body = exchange(numato::relay_readall());
    auto states = numato::parse_readall(body, options_.channels);
    if (!states) {
        throw DriverError(board_name(), transport_->name(),
                          "relay readall: unexpected answer \"" + body + "\"");
    }
    return *states;
}

}  // namespace linestation::drivers
