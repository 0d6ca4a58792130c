#include "drivers/lan_handover/handover_codec.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>
#include <stdexcept>

namespace linestation::drivers::lan_handover {

namespace {
void require_length(const char* field, const std::string& value, std::size_t length) {
    if (value.size() != length) {
        throw std::invalid_argument("LAN hand-over request: " + std::string(field) + ": expected " +
                                    std::to_string(length) + " characters, got " +
                                    std::to_string(value.size()));
    }
}
}  // namespace

std::string encode_request(const HandoverRequest& request) {
    if (request.gw_id.empty()) {
        throw std::invalid_argument("LAN hand-over request: gwId: expected the gateway's id");
    }
    require_length("region", request.region, 2);
    require_length("token", request.token, 8);
    require_length("secret", request.secret, 4);
    // Poco::JSON::Object keeps its keys sorted unless asked to preserve their order; the
    // frame's field order is fixed so its bytes are the same every time.
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("frame", kFrame);
    o.set("gwId", request.gw_id);
    o.set("region", request.region);
    o.set("token", request.token);
    o.set("secret", request.secret);
    std::ostringstream out;
    o.stringify(out);
    return out.str() + "\n";
}

HandoverRequest request_for(const std::string& gw_id, const std::string& pairing_token) {
    require_length("pairing token", pairing_token, 14);
    return {gw_id, pairing_token.substr(0, 2), pairing_token.substr(2, 8),
            pairing_token.substr(10, 4)};
}

std::optional<HandoverAnswer> decode_answer(const std::string& line, std::string& error) {
    Poco::JSON::Object::Ptr o;
    try {
        o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
        o = nullptr;
    } catch (const std::exception&) {
        o = nullptr;  // valid JSON that is not an object
    }
    if (!o) {
        error = "the answer is not a JSON object";
        return std::nullopt;
    }
    auto text = [&](const char* key) -> std::optional<std::string> {
        if (!o->has(key) || !o->get(key).isString()) return std::nullopt;
        return o->getValue<std::string>(key);
    };
    if (text("frame") != std::string(kFrame)) {
        error = std::string("the answer is not a ") + kFrame + " frame";
        return std::nullopt;
    }
    const auto result = text("result");
    if (result != "accepted" && result != "refused") {
        error = "the answer's result is not \"accepted\" or \"refused\"";
        return std::nullopt;
    }
    HandoverAnswer a;
    a.gw_id = text("gwId").value_or("");
    a.accepted = *result == "accepted";
    a.reason = text("reason").value_or("");
    return a;
}

}  // namespace linestation::drivers::lan_handover
