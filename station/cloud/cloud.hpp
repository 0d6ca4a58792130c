#pragma once
// What the station needs from the device cloud. The Tuya OpenAPI client implements it
// over HTTPS; the cloud emulator in fixtures/virtual serves the same wire protocol.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation::cloud {

// The station's own words for why the cloud refused; each maps from Tuya error codes.
enum class CloudFailure {
    SignInvalid,       // 1004
    TokenExpired,      // 1010 expired / 1011 invalid, still after one renewal and retry
    ClockSkew,         // 1013 request time invalid
    PermissionDenied,  // 1106
    DeviceOffline,     // 2001
    QuotaExceeded,     // 28841004 the project's API quota is used up
    Unavailable,       // HTTP 5xx / timeouts after retries
    Other,
    HostUnknown,  // the endpoint's host name does not resolve (DNS), still after retries
};

std::string to_string(CloudFailure failure);

class CloudError : public std::runtime_error {
  public:
    CloudError(CloudFailure failure, std::string code, const std::string& message)
        : std::runtime_error(message), failure_(failure), code_(std::move(code)) {}
    CloudFailure failure() const { return failure_; }
    const std::string& code() const { return code_; }

  private:
    CloudFailure failure_;
    std::string code_;
};

struct PairingToken {
    std::string region;              // 2 characters
    std::string token;               // 8 characters
    std::string secret;              // 4 characters
    std::int64_t expire_time_s = 0;  // lifetime in seconds, as the cloud reports it
    // What goes into the QR code's "t": region + token + secret, 14 characters.
    std::string combined() const { return region + token + secret; }
};

struct ActivatedDevice {
    std::string device_id;
    std::string product_id;
    std::string category;
    std::string name;
};

struct FailedDevice {
    std::string device_id;
    std::string name;
    std::string code;     // the cloud's error code
    std::string message;  // the cloud's words
};

// A device's factory information (GET /v1.0/devices/factory-infos): what its label carries.
// "Get Device Details": the owner's user id (`uid`; the asset for the industry API family)
// and when the device last paired.
struct DeviceDetails {
    std::string device_id;
    std::string owner;
    bool online = false;
    std::int64_t active_time_s = 0;
};

struct FactoryInfo {
    std::string device_id, uuid, sn, mac;
};

struct TokenDevices {
    std::vector<ActivatedDevice> succeeded;
    std::vector<FailedDevice> failed;
};

class Cloud {
  public:
    virtual ~Cloud() = default;
    virtual PairingToken pairing_token(const std::string& uid) = 0;
    // Which devices used `token` (the 8-character token part), and which failed why.
    virtual TokenDevices token_devices(const std::string& token) = 0;
    // Removes (unbinds) a device from the account.
    virtual void remove_device(const std::string& device_id) = 0;
    virtual std::string device_logs(const std::string& device_id) = 0;
    // At most 20 ids per request (Tuya's limit); the client splits longer lists.
    virtual std::vector<FactoryInfo> factory_infos(const std::vector<std::string>& device_ids) = 0;
    // Who the device is bound to now ("Get Device Details"); a device the account may not see
    // (another's, or unknown) is a CloudError.
    virtual DeviceDetails device_details(const std::string& device_id) = 0;
};

}  // namespace linestation::cloud
