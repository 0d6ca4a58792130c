#pragma once
// Tuya OpenAPI answers read into the station's structs: the HTTP body as the JSON object
// every answer is ({success, result, code, msg, t}), a refusal in the station's words, and
// each call's result. Free of the network, so the client's reading of what the cloud (or
// anyone answering in its place) sends can be tested and fuzzed on bytes alone.
// Every malformed answer is a CloudError naming the call; nothing else escapes.
#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <string>
#include <vector>

#include "station/cloud/cloud.hpp"

namespace linestation::cloud {

// The body of an answer with HTTP `status` to `what` (e.g. "GET /v1.0/token"), as a JSON
// object; CloudError when it is not one.
Poco::JSON::Object::Ptr answer_object(int status, const std::string& body, const std::string& what);

// The answer's "success"; an answer that does not say true is not a success.
bool answer_succeeded(const Poco::JSON::Object& answer);

// The answer's "code" as text ("" when absent).
std::string answer_code(const Poco::JSON::Object& answer);

// The refusal in `answer` in the station's words. `sent_ms` is the request's t, so a
// request-time refusal can say how far off the station's clock is from the cloud's.
CloudError error_from(const Poco::JSON::Object& answer, const std::string& what,
                      std::int64_t sent_ms);

// "Get a token" / "Refresh token": result {access_token, expire_time (s), refresh_token, uid}.
struct TokenGrant {
    std::string access;
    std::string refresh;
    std::string uid;
    double lifetime_s = 0;
};
// Throws error_from(answer) when the answer is a refusal.
TokenGrant token_grant(const Poco::JSON::Object& answer, const std::string& what,
                       std::int64_t sent_ms);

// The result of each call (the answer's "result" member).
PairingToken pairing_token_from(const Poco::Dynamic::Var& result);
// `industry`: the device-registration family's names (success_devices, error_devices, id...).
TokenDevices token_devices_from(const Poco::Dynamic::Var& result, bool industry);
// True only for "result": true.
bool device_removed(const Poco::Dynamic::Var& result);
DeviceDetails device_details_from(const Poco::Dynamic::Var& result, const std::string& device_id);
std::vector<FactoryInfo> factory_infos_from(const Poco::Dynamic::Var& result);

}  // namespace linestation::cloud
