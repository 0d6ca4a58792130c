#pragma once
// Raw TCP to a serial device server: the bytes of the serial line, nothing added.

#include <Poco/Net/StreamSocket.h>

#include <string>

#include "drivers/core/transport.hpp"

namespace linestation::drivers {

class TcpTransport final : public Transport {
  public:
    // `url` is "tcp://host:port"; `line` describes the serial line behind the server.
    TcpTransport(const std::string& url, const SerialLine& line, int connect_timeout_ms);
    ~TcpTransport() override;
    void write(std::span<const std::uint8_t> bytes) override;
    std::size_t read(std::span<std::uint8_t> buffer, int timeout_ms) override;
    void discard_input() override;
    void drain() override {}
    std::string name() const override { return url_; }
    SerialLine line() const override { return line_; }

  private:
    std::string url_;
    SerialLine line_;
    Poco::Net::StreamSocket socket_;
    bool closed_ = false;
};

}  // namespace linestation::drivers
