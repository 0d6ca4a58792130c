#pragma once
// The Tuya cloud twin on loopback with one owner account, a partner, and a client for it.

#include <memory>
#include <string>

#include "fixtures/virtual/cloud/tuya_cloud_twin.hpp"
#include "station/cloud/tuya_client.hpp"

namespace linestation::testing {

inline constexpr const char* kOwnerUid = "ay-owner-1";
inline constexpr const char* kOwnerClientId = "owner-client-0001";
inline constexpr const char* kOwnerSecret = "owner-secret-000000000000000001";
inline constexpr const char* kPartnerUid = "ay-partner-7";
inline constexpr const char* kPartnerClientId = "partner-client-07";
inline constexpr const char* kPartnerSecret = "partner-secret-0000000000000007";
inline constexpr const char* kCamera = "pid-camera";
inline constexpr const char* kLock = "pid-lock";

struct CloudEnv {
    ManualClock clock;
    virtual_line::TuyaCloudTwin cloud;
    double paused_s = 0;

    explicit CloudEnv(virtual_line::TuyaCloudTwinOptions options = {}) : cloud(clock, options) {
        // The owner's products, and a partner a brand authorized for its cameras only.
        cloud.add_account({kOwnerUid, kOwnerClientId, kOwnerSecret, {kCamera, kLock}});
        cloud.add_account({kPartnerUid, kPartnerClientId, kPartnerSecret, {kCamera}});
        cloud.start();
    }

    // A unit the cloud knows, bound to `owner` (empty: free). Its label data is made up.
    void add_device(const std::string& device_id, const std::string& product_id,
                    const std::string& owner = "") {
        cloud.add_device({device_id, "uuid-" + device_id, "sn-" + device_id, "a4:cf:12:00:00:01",
                          product_id, "sp", "unit " + device_id},
                         owner.empty() ? std::nullopt : std::optional<std::string>(owner));
    }

    // The device read the pairing code of `token` (region + token + secret) off a screen and
    // could (or could not) join the router. A device the cloud does not know yet is free.
    virtual_line::JoinOutcome device_reads(const std::string& token, const std::string& device_id,
                                           const std::string& product_id, bool wifi_joined) {
        if (!cloud.device(device_id)) add_device(device_id, product_id);
        // Tuya's pairing JSON, as the station's screen shows it.
        const std::string code = R"({"s":"line-ssid","p":"line-pass","t":")" + token + R"("})";
        return cloud.device_read_code(device_id, code, wifi_joined);
    }

    cloud::TuyaClientOptions options(const std::string& client_id = kOwnerClientId,
                                     const std::string& secret = kOwnerSecret) {
        cloud::TuyaClientOptions o;
        o.endpoint = cloud.endpoint();
        o.client_id = client_id;
        o.secret = secret;
        o.timeout_s = 2;
        o.backoff_s = 0.5;
        // Virtual time: waiting between tries moves the shared clock, not the test.
        o.pause = [this](double s) {
            paused_s += s;
            clock.advance(s);
        };
        return o;
    }

    std::unique_ptr<cloud::TuyaClient> client(const std::string& client_id = kOwnerClientId,
                                              const std::string& secret = kOwnerSecret) {
        return std::make_unique<cloud::TuyaClient>(options(client_id, secret), clock);
    }
};

}  // namespace linestation::testing
