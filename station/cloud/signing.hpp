#pragma once
// Tuya OpenAPI request signing, for the client. The cloud twin checks signatures with code
// of its own (a shared mistake would hide itself), and the tests check this against Tuya's
// published example and against `openssl dgst`.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace linestation::cloud {

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data);
// Upper-case hex HMAC-SHA256 of `message` under `key`.
std::string hmac_sha256_upper(const std::string& key, const std::string& message);

// "path" or "path?k1=v1&k2=v2" with the query sorted by key, as the signature wants it.
std::string sorted_url(const std::string& path,
                       const std::multimap<std::string, std::string>& query);

struct SignedRequest {
    std::string method;  // GET, POST, DELETE, ...
    std::string url;     // path with its query already sorted (see sorted_url)
    std::string body;
    // Headers named in "Signature-Headers", in that order (most requests have none).
    std::vector<std::pair<std::string, std::string>> headers;
};

// METHOD "\n" sha256hex(body) "\n" name:value"\n"... "\n" url
std::string string_to_sign(const SignedRequest& request);

// Upper-case hex HMAC-SHA256(client_id [+ access_token] + t + nonce + stringToSign, secret).
// `access_token` is empty for the token requests themselves.
std::string tuya_sign(const std::string& client_id, const std::string& secret,
                      const std::string& access_token, std::int64_t t_ms, const std::string& nonce,
                      const SignedRequest& request);

// Tuya's error codes the station tells apart, as its "Global error codes" page (全局错误码)
// lists them: 1010 "token is expired", 1011 "token invalid", 1013 "request time is invalid",
// 1106 "permission deny", 2001 "device is offline", 500 "system error".
namespace codes {
inline constexpr const char* kSystemError = "500";
inline constexpr const char* kSignInvalid = "1004";
inline constexpr const char* kClientIdInvalid = "1005";
inline constexpr const char* kTokenExpired = "1010";
inline constexpr const char* kTokenInvalid = "1011";
inline constexpr const char* kRequestTimeInvalid = "1013";
inline constexpr const char* kParamInvalid = "1109";
inline constexpr const char* kTokenRangeInvalid = "1101";  // "params range invalid"
inline constexpr const char* kPermissionDenied = "1106";
inline constexpr const char* kDeviceOffline = "2001";
// The documented refusal once the project's API quota is used up: "No permissions. Your quota
// of Trial Edition is used up." (error-code page, 28841004). Tuya documents no separate
// per-day unbind code.
inline constexpr const char* kQuotaExceeded = "28841004";
}  // namespace codes

// Reasons a device failed to use a pairing token (FailedDevice::code in the token poll).
namespace pairing_failure {
inline constexpr const char* kNoPermission = "no_permission";
inline constexpr const char* kQuotaExceeded = "quota_exceeded";
inline constexpr const char* kTokenExpired = "token_expired";
inline constexpr const char* kTokenFull = "token_full";
inline constexpr const char* kWrongWifi = "wifi_error";
}  // namespace pairing_failure

}  // namespace linestation::cloud
