#pragma once
// "mes": {"cfx": {"url": "amqp://HOST:PORT", "address": "...", "handle": "..."}}: the AMQP
// 1.0 broker, the address (queue or topic) UnitsTested messages are sent to, and the
// station's CFX handle (the envelope's Source, the subject's first part).

#include <string>

#include "station/config/json_reader.hpp"

namespace linestation::mes {

struct CfxSettings {
    std::string url;  // amqp://HOST:PORT
    std::string host;
    int port = 5672;
    std::string address;
    std::string handle;
};

CfxSettings parse_cfx_settings(const config::JsonNode& cfx);

}  // namespace linestation::mes
