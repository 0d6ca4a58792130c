#include "drivers/core/tcp_transport.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>

#include <array>

namespace linestation::drivers {

namespace {

Poco::Timespan from_ms(int ms) {
    return Poco::Timespan(static_cast<long>(ms) * 1000);
}

std::string host_port(const std::string& url) {
    const std::string prefix = "tcp://";
    if (url.rfind(prefix, 0) != 0) {
        throw TransportError(url + ": expected tcp://host:port");
    }
    auto rest = url.substr(prefix.size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
        throw TransportError(url + ": expected tcp://host:port");
    }
    return rest;
}

}  // namespace

TcpTransport::TcpTransport(const std::string& url, const SerialLine& line, int connect_timeout_ms)
    : url_(url), line_(line) {
    const auto address = host_port(url);
    try {
        socket_.connect(Poco::Net::SocketAddress(address), from_ms(connect_timeout_ms));
        socket_.setNoDelay(true);
    } catch (const Poco::Exception& e) {
        throw TransportError(url + ": cannot connect: " + e.displayText());
    }
}

TcpTransport::~TcpTransport() {
    try {
        socket_.close();
    } catch (...) {
        // Closing a broken connection has nothing left to report.
    }
}

void TcpTransport::write(std::span<const std::uint8_t> bytes) {
    if (closed_) throw TransportError(url_ + ": connection closed by the device server");
    try {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const int n =
                socket_.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
            if (n <= 0) throw TransportError(url_ + ": connection closed while writing");
            sent += static_cast<std::size_t>(n);
        }
    } catch (const Poco::Exception& e) {
        closed_ = true;
        throw TransportError(url_ + ": write failed: " + e.displayText());
    }
}

std::size_t TcpTransport::read(std::span<std::uint8_t> buffer, int timeout_ms) {
    if (closed_) throw TransportError(url_ + ": connection closed by the device server");
    try {
        if (!socket_.poll(from_ms(std::max(timeout_ms, 0)), Poco::Net::Socket::SELECT_READ)) {
            return 0;
        }
        const int n = socket_.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
        if (n <= 0) {
            closed_ = true;
            throw TransportError(url_ + ": connection closed by the device server");
        }
        return static_cast<std::size_t>(n);
    } catch (const Poco::Exception& e) {
        closed_ = true;
        throw TransportError(url_ + ": read failed: " + e.displayText());
    }
}

void TcpTransport::discard_input() {
    std::array<std::uint8_t, 256> sink{};
    while (read(sink, 0) > 0) {
    }
}

}  // namespace linestation::drivers
