#pragma once
// The CFX sink's settings toward an AMQP peer or broker of a test, on loopback.

#include <string>

#include "station/mes/cfx/cfx_settings.hpp"
#include "tests/mes/amqp_peer.hpp"

namespace linestation::testing {

inline mes::CfxSettings cfx_link(int port, const std::string& address, const std::string& handle) {
    mes::CfxSettings s;
    s.url = "amqp://127.0.0.1:" + std::to_string(port);
    s.host = "127.0.0.1";
    s.port = port;
    s.address = address;
    s.handle = handle;
    return s;
}

inline mes::CfxSettings cfx_link(const AmqpPeer& peer, const std::string& address,
                                 const std::string& handle) {
    return cfx_link(peer.port(), address, handle);
}

}  // namespace linestation::testing
