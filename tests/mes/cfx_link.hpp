#pragma once
// The CFX sink's settings toward a test's AMQP peer.

#include <string>

#include "station/mes/cfx/cfx_settings.hpp"
#include "tests/mes/amqp_peer.hpp"

namespace linestation::testing {

inline mes::CfxSettings cfx_link(const AmqpPeer& peer, const std::string& address,
                                 const std::string& handle) {
    mes::CfxSettings s;
    s.url = peer.url();
    s.host = "127.0.0.1";
    s.port = peer.port();
    s.address = address;
    s.handle = handle;
    return s;
}

}  // namespace linestation::testing
