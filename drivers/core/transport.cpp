#include "drivers/core/transport.hpp"

#include <array>
#include <charconv>
#include <chrono>

#include "drivers/core/serial_transport.hpp"
#include "drivers/core/tcp_transport.hpp"

namespace linestation::drivers {

const Clock& pacing_clock(const Clock* clock) {
    // Stateless: every board without a clock of its own shares it.
    static const SystemClock wall;
    return clock ? *clock : wall;
}

double char_time_us(const SerialLine& line) {
    const int parity_bits = (line.parity == 'N' || line.parity == 'n') ? 0 : 1;
    const int bits = 1 + line.data_bits + parity_bits + line.stop_bits;
    return 1e6 * bits / std::max(line.baud, 1);
}

namespace {

bool parse_hex4(const std::string& text, int& out) {
    if (text.empty() || text.size() > 4) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool parse_usb_id(const std::string& text, UsbId& out) {
    std::string rest = text.rfind("usb:", 0) == 0 ? text.substr(4) : text;
    const auto first = rest.find(':');
    if (first == std::string::npos) return false;
    const auto second = rest.find(':', first + 1);
    UsbId id;
    if (!parse_hex4(rest.substr(0, first), id.vid)) return false;
    if (!parse_hex4(rest.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                       : second - first - 1),
                    id.pid)) {
        return false;
    }
    if (second != std::string::npos) {
        id.serial = rest.substr(second + 1);
        if (id.serial.empty()) return false;
    }
    out = id;
    return true;
}

std::unique_ptr<Transport> open_transport(const std::string& port, const SerialLine& line,
                                          int connect_timeout_ms) {
    if (port.rfind("tcp://", 0) == 0) {
        return std::make_unique<TcpTransport>(port, line, connect_timeout_ms);
    }
    UsbId id;
    if (port.rfind("usb:", 0) == 0) {
        if (!parse_usb_id(port, id)) {
            throw TransportError(port + ": expected usb:VID:PID[:serial] with hex ids");
        }
        return std::make_unique<SerialTransport>(find_serial_port(id), line);
    }
    return std::make_unique<SerialTransport>(port, line);
}

}  // namespace linestation::drivers

namespace linestation::drivers {

bool read_until(Transport& transport, Bytes& received, int timeout_ms,
                const std::function<bool(const Bytes&)>& done) {
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + milliseconds(timeout_ms);
    std::array<std::uint8_t, 256> chunk{};
    while (!done(received)) {
        const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        if (left <= 0) return false;
        const auto n = transport.read(chunk, static_cast<int>(left));
        received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
    }
    return true;
}

}  // namespace linestation::drivers
