#pragma once
// The station's Cloud over Tuya's OpenAPI: signed HTTPS requests to a regional host (plain
// HTTP only to loopback, where the cloud emulator runs), with the access token fetched,
// refreshed before it expires, and renewed once when the cloud says it is no longer valid.
// Secrets (client secret, access and refresh tokens) never reach a log line.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "station/clock/clock.hpp"
#include "station/cloud/cloud.hpp"
#include "station/config/station_config.hpp"

namespace linestation::cloud {

struct TuyaClientOptions {
    std::string endpoint;   // https://openapi.tuyaeu.com, or http://127.0.0.1:PORT
    std::string client_id;  // the project's Access ID
    std::string secret;     // the project's Access Secret (never logged)
    // An extra trusted CA (PEM file) besides the system's, e.g. a site proxy's; https only.
    std::string ca_file;
    double timeout_s = 10;   // per HTTP request
    int attempts = 3;        // tries for a 5xx or a timeout before giving up
    double backoff_s = 0.5;  // first wait between tries; doubles each time
    // Renew the access token this long before the cloud's expiry.
    double refresh_margin_s = 120;
    std::string time_zone_id = "Etc/UTC";
    std::string pairing_type = "EZ";
    // Which API family the endpoints and answer shapes follow; the callers never see it.
    config::CloudApi api = config::CloudApi::Pairing;
    std::string asset_id;  // DeviceRegistration: the asset the tokens register devices to
    // How to wait between tries; default sleeps. Tests on virtual time advance the clock.
    std::function<void(double seconds)> pause;
};

// The client's options from the station configuration's "cloud" section.
TuyaClientOptions client_options(const config::CloudSettings& settings);

class TuyaClient final : public Cloud {
  public:
    // Throws std::invalid_argument for an endpoint that is not https:// nor a loopback http://,
    // or for DeviceRegistration without an asset id.
    TuyaClient(TuyaClientOptions options, const Clock& clock);
    ~TuyaClient() override;
    TuyaClient(const TuyaClient&) = delete;
    TuyaClient& operator=(const TuyaClient&) = delete;

    // DeviceRegistration tokens belong to the asset: `uid` is not sent.
    PairingToken pairing_token(const std::string& uid) override;
    TokenDevices token_devices(const std::string& token) override;
    void remove_device(const std::string& device_id) override;
    std::string device_logs(const std::string& device_id) override;
    std::vector<FactoryInfo> factory_infos(const std::vector<std::string>& device_ids) override;
    DeviceDetails device_details(const std::string& device_id) override;

    // Makes sure an access token is held (fetching or refreshing it as needed); returns the
    // account uid the cloud reports for it.
    std::string connect();

    struct Counters {
        int token_grants = 0;     // GET /v1.0/token?grant_type=1
        int token_refreshes = 0;  // GET /v1.0/token/{refresh_token}
        int retries = 0;          // repeated requests after a 5xx or a timeout
    };
    Counters counters() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace linestation::cloud
