#pragma once
// The QR batch scheduler: one pairing token serves at most 30 devices and expires after
// a few minutes, so the scheduler keeps a fresh code on the screen while devices wait,
// reserves quota per account and product before a device spends a cycle on an attempt
// (giving it back when the attempt never reached the cloud), and moves on to the next
// authorized account when one runs out. It also asks the cloud how each device fared.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "station/clock/clock.hpp"
#include "station/cloud/cloud.hpp"
#include "station/config/station_config.hpp"
#include "station/flow/line_parts.hpp"
#include "station/service.hpp"
#include "station/store/store.hpp"

namespace linestation::flow {

struct CloudAccount {
    std::int64_t store_id = 0;  // cloud_accounts.id: the quota rows hang on it
    std::string name;
    std::string uid;  // the account that owns the pairing tokens
    cloud::Cloud* cloud = nullptr;
    int quota_per_account = 100;  // unbinds per day by this account, all products
    int quota_per_product = 100;  // unbinds per day of one product, all accounts
};

struct SchedulerOptions {
    double refresh_margin_s = 30;  // a new code replaces one this close to expiry
    int max_devices_per_qr = 30;
    double poll_interval_s = 2;  // how often the cloud is asked about a token's devices
    double token_retry_s = 5;    // after the cloud refused a token
};

enum class Admission { Admitted, Wait, Exhausted };

struct CloudOutcome {
    bool succeeded = false;
    std::string code;  // the cloud's error code on failure
    std::string message;
};

// The station's reason for a cloud error code from a token's failed list.
std::string reason_for_cloud_code(const std::string& code);

// "YYYY-MM-DD" (UTC) of an epoch-milliseconds time: the quota day.
std::string utc_day(std::int64_t wall_ms);

class QrScheduler {
  public:
    // Without accounts the line runs without a cloud: local tokens, no quota, no answers.
    QrScheduler(Clock& clock, store::Store& store, std::vector<CloudAccount> accounts,
                config::WifiSettings wifi, QrScreen* screen, SchedulerOptions options = {});

    bool has_cloud() const { return !accounts_.empty(); }

    // Before a slot resets its device: reserves quota for one attempt.
    Admission admit(const std::string& slot, const std::string& product);
    // The slot's device is ready: it joins the code on the screen. False while there is none.
    bool join(const std::string& slot, const std::string& device_id);
    // The device left "ready": it has read a code; later codes are no longer its.
    void picked_up(const std::string& slot);
    // The cloud's word on the slot's device, once it has one.
    std::optional<CloudOutcome> outcome(const std::string& slot) const;
    // The device id the slot's answer is for: the unit's own, or the one the cloud named
    // that no other slot can claim (a unit loaded without a serial). Empty: not known.
    std::string device_id(const std::string& slot) const;
    // The slot's device joined without an id and shares its code with other such devices:
    // the cloud's answers cannot be told apart, so no verdict may rest on them.
    bool ambiguous(const std::string& slot) const;
    // Removes the slot's device from the account it joined; throws cloud::CloudError.
    void remove_device(const std::string& slot);
    // The attempt is over: the reservation is spent when the cloud saw the device,
    // given back when it never did.
    void settle(const std::string& slot);

    void tick();

    QrView view() const;
    // Id of the code on screen (0: none). Cheap: the line polls it every tick, while
    // view() builds the payload text.
    std::int64_t generation_id() const { return generation_ ? generation_->id : 0; }
    const std::string& last_error() const { return last_error_; }
    // How long devices have waited, ready, with no code to read (virtual seconds).
    double qr_wait_s() const { return qr_wait_s_; }

  private:
    struct Generation {
        std::int64_t id = 0;
        std::size_t account = 0;
        cloud::PairingToken token;
        double expires_at = 0;
        int devices = 0;
    };
    struct Member {
        std::string product;
        std::string day;
        std::optional<std::size_t> account;
        bool joined = false;
        bool picked_up = false;
        std::string device_id;
        std::vector<std::string> tokens;  // 8-character token parts the device may have read
        std::optional<CloudOutcome> outcome;
        bool ambiguous = false;
    };
    // Every device id a unit was loaded with or identified as: once its slot has settled,
    // the cloud still lists it under the code, and it is no stranger then.
    std::set<std::string> accounted_;

    bool reserve(std::size_t account, const std::string& product, const std::string& day);
    bool has_room(std::size_t account, const std::string& product, const std::string& day);
    bool usable(const Generation& g, double now) const;
    void new_generation(double now);
    void show(const std::optional<Generation>& g);
    std::string payload_of(const Generation& g) const;
    void poll_cloud();

    Clock& clock_;
    store::Store& store_;
    std::vector<CloudAccount> accounts_;
    config::WifiSettings wifi_;
    QrScreen* screen_;
    SchedulerOptions options_;
    std::size_t active_ = 0;
    std::optional<Generation> generation_;
    std::int64_t next_generation_id_ = 1;
    double next_token_try_ = 0;
    double next_poll_ = 0;
    double last_tick_ = -1;
    double qr_wait_s_ = 0;
    std::string last_error_;
    std::map<std::string, Member> members_;
};

}  // namespace linestation::flow
