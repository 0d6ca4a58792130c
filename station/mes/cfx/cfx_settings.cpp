#include "station/mes/cfx/cfx_settings.hpp"

#include <cctype>

namespace linestation::mes {

CfxSettings parse_cfx_settings(const config::JsonNode& cfx) {
    if (!cfx.is_object()) cfx.fail("an object with url, address and handle");
    cfx.allow_only({"url", "address", "handle"});
    CfxSettings s;
    const auto url = cfx.at("url");
    s.url = url.as_nonempty_string();
    constexpr const char* kExpected = "an amqp://HOST:PORT URL";
    const std::string scheme = "amqp://";
    if (s.url.rfind(scheme, 0) != 0) url.fail(kExpected);
    const auto rest = s.url.substr(scheme.size());
    const auto colon = rest.rfind(':');
    // No credentials in the URL: they would reach logs and errors (this one names the
    // field, not the value).
    if (rest.find('@') != std::string::npos) {
        url.fail_problem("expected an amqp://HOST:PORT URL without credentials");
    }
    if (rest.find('/') != std::string::npos || colon == std::string::npos || colon == 0 ||
        colon + 1 == rest.size()) {
        url.fail(kExpected);
    }
    s.host = rest.substr(0, colon);
    const auto port_text = rest.substr(colon + 1);
    for (const char c : port_text) {
        if (!std::isdigit(static_cast<unsigned char>(c))) url.fail(kExpected);
    }
    if (port_text.size() > 5 || std::stoi(port_text) < 1 || std::stoi(port_text) > 65535) {
        url.fail(kExpected + std::string(" with a port 1-65535"));
    }
    s.port = std::stoi(port_text);
    s.address = cfx.at("address").as_nonempty_string();
    s.handle = cfx.at("handle").as_nonempty_string();
    return s;
}

}  // namespace linestation::mes
