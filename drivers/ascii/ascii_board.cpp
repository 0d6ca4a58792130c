#include "drivers/ascii/ascii_board.hpp"

#include "drivers/core/channel_range.hpp"

namespace linestation::drivers {

namespace {

// The first OK/ERR line in `received`; noise lines before it are skipped.
std::optional<ascii::Reply> first_reply(const Bytes& received) {
    std::string text(received.begin(), received.end());
    while (auto line = ascii::take_line(text)) {
        if (auto reply = ascii::parse_reply(*line)) return reply;
    }
    return std::nullopt;
}

}  // namespace

AsciiFixtureBoard::AsciiFixtureBoard(std::unique_ptr<Transport> transport, AsciiOptions options)
    : transport_(std::move(transport)), options_(options) {}

std::string AsciiFixtureBoard::describe() const {
    return board_name() + " on " + transport_->name();
}

ascii::Reply AsciiFixtureBoard::exchange(const std::string& command) {
    std::lock_guard lock(mutex_);
    const auto what = command.substr(0, command.size() - 1);
    Bytes received;
    std::optional<ascii::Reply> reply;
    try {
        transport_->discard_input();
        transport_->write(
            std::span(reinterpret_cast<const std::uint8_t*>(command.data()), command.size()));
        read_until(*transport_, received, options_.timeout_ms, [&](const Bytes& b) {
            reply = first_reply(b);
            return reply.has_value();
        });
    } catch (const TransportError& e) {
        throw DriverError(board_name(), transport_->name(), "\"" + what + "\": " + e.what());
    }
    if (!reply) {
        throw DriverError(
            board_name(), transport_->name(),
            "\"" + what + "\": " +
                (received.empty()
                     ? "no answer within " + std::to_string(options_.timeout_ms) + " ms"
                     : "no OK/ERR line in " + std::to_string(received.size()) + " bytes received"));
    }
    if (!reply->ok) {
        throw DriverError(
            board_name(), transport_->name(),
            "\"" + what + "\": board answered ERR " + reply->error_code + " " + reply->error_text);
    }
    return *reply;
}

void AsciiFixtureBoard::set(int channel, bool on) {
    require_channel(channel, options_.channels, board_name(), transport_->name());
    const auto reply = exchange(ascii::set_command(channel, on));
    const std::vector<std::string> expected{std::to_string(channel), on ? "1" : "0"};
    if (reply.words != expected) {
        throw DriverError(board_name(), transport_->name(),
                          "SET " + std::to_string(channel) + ": board confirmed something else");
    }
}

bool AsciiFixtureBoard::get(int channel) {
    require_channel(channel, options_.channels, board_name(), transport_->name());
    const auto reply = exchange(ascii::get_command(channel));
    if (reply.words.size() != 2 || reply.words[0] != std::to_string(channel) ||
        (reply.words[1] != "0" && reply.words[1] != "1")) {
        throw DriverError(board_name(), transport_->name(),
                          "GET " + std::to_string(channel) + ": unexpected answer");
    }
    return reply.words[1] == "1";
}

void AsciiFixtureBoard::pulse(int channel, int ms) {
    require_channel(channel, options_.channels, board_name(), transport_->name());
    exchange(ascii::pulse_command(channel, ms));
}

}  // namespace linestation::drivers
