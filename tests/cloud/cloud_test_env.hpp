#pragma once
// A cloud emulator on loopback with one owner account, a partner, and a client for it.

#include <memory>

#include "station/cloud/tuya_client.hpp"
#include "tests/cloud/cloud_emulator.hpp"

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
    virtual_line::CloudEmulator emulator;
    double paused_s = 0;

    explicit CloudEnv(virtual_line::CloudEmulatorOptions options = {}) : emulator(clock, options) {
        emulator.add_account({kOwnerUid, kOwnerClientId, kOwnerSecret, "", {kCamera, kLock}});
        emulator.add_account({kPartnerUid, kPartnerClientId, kPartnerSecret, kOwnerUid, {kCamera}});
        emulator.start();
    }

    cloud::TuyaClientOptions options(const std::string& client_id = kOwnerClientId,
                                     const std::string& secret = kOwnerSecret) {
        cloud::TuyaClientOptions o;
        o.endpoint = emulator.endpoint();
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
