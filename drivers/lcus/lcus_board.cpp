#include "drivers/lcus/lcus_board.hpp"

#include <string>

#include "drivers/core/channel_range.hpp"

#include "drivers/lcus/lcus_codec.hpp"

namespace linestation::drivers {

LcusRelayBoard::LcusRelayBoard(std::unique_ptr<Transport> transport, LcusOptions options)
    : transport_(std::move(transport)),
      options_(options),
      clock_(pacing_clock(options.clock)),
      commanded_(static_cast<std::size_t>(std::max(options.channels, 0)), false) {
    if (options_.detect_status_query && options_.status_query) {
        std::lock_guard lock(mutex_);
        try {
            commanded_ = query_locked();
        } catch (const DriverError&) {
            options_.status_query = false;
        }
    }
}

std::string LcusRelayBoard::board_name() const {
    return "lcus-" + std::to_string(options_.channels);
}

std::string LcusRelayBoard::describe() const {
    return board_name() + " on " + transport_->name() +
           (options_.status_query ? "" : " (no read-back)");
}

void LcusRelayBoard::check_channel(int channel) const {
    require_channel(channel, options_.channels, board_name(), transport_->name());
}

void LcusRelayBoard::send_locked(const std::vector<std::uint8_t>& bytes) {
    clock_.pause(last_command_s_ + options_.pause_ms / 1000.0 - clock_.now_s());
    try {
        transport_->discard_input();
        transport_->write(bytes);
        transport_->drain();
    } catch (const TransportError& e) {
        throw DriverError(board_name(), transport_->name(), e.what());
    }
    last_command_s_ = clock_.now_s();
}

std::vector<bool> LcusRelayBoard::query_locked() {
    send_locked({lcus::kStatusQuery});
    Bytes received;
    std::optional<std::vector<bool>> states;
    try {
        read_until(*transport_, received, options_.timeout_ms, [&](const Bytes& b) {
            states = lcus::parse_status(
                std::string_view(reinterpret_cast<const char*>(b.data()), b.size()),
                options_.channels);
            return states.has_value();
        });
    } catch (const TransportError& e) {
        throw DriverError(board_name(), transport_->name(),
                          std::string("status query: ") + e.what());
    }
    last_command_s_ = clock_.now_s();
    if (!states) {
        throw DriverError(board_name(), transport_->name(),
                          received.empty() ? "no answer to the status query within " +
                                                 std::to_string(options_.timeout_ms) + " ms"
                                           : "unreadable status reply (" +
                                                 std::to_string(received.size()) + " bytes)");
    }
    return *states;
}

void LcusRelayBoard::set(int channel, bool on) {
    check_channel(channel);
    std::lock_guard lock(mutex_);
    send_locked(lcus::switch_frame(channel + 1, on));
    commanded_[static_cast<std::size_t>(channel)] = on;
    if (!options_.status_query) return;
    const auto states = query_locked();
    if (states[static_cast<std::size_t>(channel)] != on) {
        throw DriverError(
            board_name(), transport_->name(),
            "relay " + std::to_string(channel + 1) + " did not switch " + (on ? "on" : "off"));
    }
}

bool LcusRelayBoard::get(int channel) {
    check_channel(channel);
    std::lock_guard lock(mutex_);
    if (!options_.status_query) return commanded_[static_cast<std::size_t>(channel)];
    return query_locked()[static_cast<std::size_t>(channel)];
}

std::vector<bool> LcusRelayBoard::read_all() {
    std::lock_guard lock(mutex_);
    return options_.status_query ? query_locked() : commanded_;
}

}  // namespace linestation::drivers
