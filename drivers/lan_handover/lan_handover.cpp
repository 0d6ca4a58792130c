#include "drivers/lan_handover/lan_handover.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "drivers/core/tcp_transport.hpp"

namespace linestation::drivers {

namespace {
constexpr std::size_t kMaxAnswer = 4096;
}  // namespace

const char* to_string(HandoverOutcome::Result result) {
    switch (result) {
        case HandoverOutcome::Result::Accepted:
            return "accepted";
        case HandoverOutcome::Result::Refused:
            return "refused";
        case HandoverOutcome::Result::Unreachable:
            return "unreachable";
        case HandoverOutcome::Result::Timeout:
            return "timeout";
        case HandoverOutcome::Result::BadAnswer:
            return "bad_answer";
    }
    return "unreachable";
}

HandoverOutcome LanHandover::hand_over(const std::string& ip,
                                       const lan_handover::HandoverRequest& request) const {
    using Result = HandoverOutcome::Result;
    const auto started = std::chrono::steady_clock::now();
    auto left_ms = [&] {
        const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count();
        return std::max<int>(0, settings_.timeout_ms - static_cast<int>(spent));
    };
    const std::string where = ip + ":" + std::to_string(settings_.port);
    std::string line;
    try {
        line = lan_handover::encode_request(request);
    } catch (const std::invalid_argument& e) {
        return {Result::BadAnswer, e.what()};
    }
    std::optional<TcpTransport> socket;
    try {
        // The gateway's socket carries the frame's bytes and nothing else, as a device
        // server carries a serial line's: the transport's serial settings are unused.
        socket.emplace("tcp://" + where, SerialLine{}, settings_.timeout_ms);
        socket->write(std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
    } catch (const TransportError& e) {
        return {Result::Unreachable, e.what()};
    }
    Bytes answer;
    bool complete = false;
    try {
        // An answer is one short line; a peer that streams bytes without one is not a gateway.
        read_until(*socket, answer, left_ms(), [&](const Bytes& b) {
            complete = std::find(b.begin(), b.end(), '\n') != b.end();
            return complete || b.size() > kMaxAnswer;
        });
    } catch (const TransportError&) {
        return {Result::BadAnswer, where + ": the connection closed without an answer line"};
    }
    if (!complete && answer.size() > kMaxAnswer) {
        return {Result::BadAnswer,
                where + ": no answer line in " + std::to_string(answer.size()) + " bytes"};
    }
    if (!complete) {
        return {Result::Timeout,
                where + ": no answer within " + std::to_string(settings_.timeout_ms) + " ms"};
    }
    const std::string text(answer.begin(), std::find(answer.begin(), answer.end(), '\n'));
    std::string error;
    const auto decoded = lan_handover::decode_answer(text, error);
    if (!decoded) return {Result::BadAnswer, where + ": " + error};
    if (decoded->gw_id != request.gw_id) {
        return {Result::BadAnswer, where + ": the answer is from gateway \"" + decoded->gw_id +
                                       "\", not \"" + request.gw_id + "\""};
    }
    if (!decoded->accepted) {
        return {Result::Refused, where + ": the gateway refused the token" +
                                     (decoded->reason.empty() ? "" : ": " + decoded->reason)};
    }
    return {Result::Accepted, where};
}

}  // namespace linestation::drivers
