#pragma once
// The QR batch scheduler: one pairing token serves at most 30 devices and expires after
// a few minutes, so the scheduler keeps a fresh code on the screen while devices wait,
// reserves quota per account and product before a device spends a cycle on an attempt
// (giving it back when the attempt never reached the cloud), and moves on to the next
// authorized account when one runs out. It also asks the cloud how each device fared.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "station/clock/clock.hpp"
#include "station/cloud/cloud.hpp"
#include "station/config/recipe.hpp"
#include "station/config/station_config.hpp"
#include "station/fleet/quota_gate.hpp"
#include "station/flow/cloud_calls.hpp"
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
    // Cloud requests on a worker thread (a real-time line); false runs them inline, for
    // virtual time. Either way their answers are taken at the next tick.
    bool background_cloud = false;
    // How long a device is watched for a re-pair after its slot let go of it: a device in
    // pairing mode reads any code it sees (Tuya's EZ mode lasts about 3 minutes).
    double stray_watch_s = 300;
    double stray_first_check_s = 10;  // then doubling
    // Quota shared with other stations (the fleet's PostgreSQL), asked after the store's
    // own quota; none: this station's store alone. Not owned.
    fleet::QuotaGate* shared_quota = nullptr;
    // A clean stop: a device that had a code and was still ready when the screen went blank
    // may have read it in its last moment, its LED not showing it yet, and then needs to join
    // the router and activate (Tuya's twins: 4 + 3 s; real devices: seconds more). Given
    // back only when the cloud, asked this long after the screen went blank, lists nothing
    // for it (within the stop's 20 s).
    double stop_last_read_s = 15;
    // The quota day of a wall time; empty: utc_day (Tuya documents no time zone).
    std::function<std::string(std::int64_t)> quota_day;
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
    // Who a unit is: its Tuya device id when known, else the label scanned off it and what
    // that label carries (matched to the cloud's device ids by their factory information).
    struct UnitIdentity {
        std::string device_id;
        std::string label;
        config::UnitLabel label_kind = config::UnitLabel::DeviceId;
        // Since when the device may have been reading codes (its reset's end): it may have
        // read one that was on the screen before the station saw it ready.
        double reading_since_s = -1;
    };
    // The slot's device is ready: it joins the code on the screen. False while there is none.
    bool join(const std::string& slot, const UnitIdentity& unit);
    bool join(const std::string& slot, const std::string& device_id) {
        return join(slot, UnitIdentity{device_id, device_id, config::UnitLabel::DeviceId});
    }
    // The device left "ready": it has read a code; later codes are no longer its.
    void picked_up(const std::string& slot);
    // The cloud's word on the slot's device, once it has one.
    std::optional<CloudOutcome> outcome(const std::string& slot) const;
    // The device id the slot's answer is for: the unit's own, or the one the cloud named
    // that no other slot can claim (a unit loaded without a serial). Empty: not known.
    std::string device_id(const std::string& slot) const;
    // How the slot's device id was found: "label" (it was the label), "factory-infos
    // uuid|sn|mac", "elimination"; empty while not known.
    std::string identified_by(const std::string& slot) const;
    // The slot's device, named by elimination, is not taken as its own (its LED has not said
    // the cloud refused it): the slot is unnamed again and its codes are asked about again,
    // so its own answer, when it comes, is still heard.
    void doubt(const std::string& slot);
    // Device ids the cloud listed under the slot's codes that matched no unit's label:
    // recorded with a verdict that could not be matched.
    // Without `refused_unseen`, refused devices the account may not see are left out (a unit
    // whose LED never said the cloud refused it is not one of them).
    std::vector<std::string> unmatched_ids(const std::string& slot,
                                           bool refused_unseen = true) const;
    // The cloud's codes for refused devices on the slot's codes that no unit claims and
    // whose factory information this account may not see: the slot's own refusal is among
    // them when its unit could not be named.
    std::set<std::string> unseen_refusals(const std::string& slot) const;
    // The cloud's word on every code the slot's device may have read was asked for at or
    // after `since_s` and has come, and no factory information it needs is still on its way:
    // whatever the cloud knew of the device then, the slot has heard. A device whose LED said
    // the cloud refused it waits for that before its verdict rests on the LED alone.
    bool answered_since(const std::string& slot, double since_s) const;
    // The slot's verdict rests on a refusal of `code` that no unit claims (see
    // unseen_refusals): one such refused device is this unit's from now on, so a later unit
    // on the same codes does not take the same refusal for its own.
    void claim_unseen_refusal(const std::string& slot, const std::string& code);
    // The slot's device joined without an id and shares its code with other such devices:
    // the cloud's answers cannot be told apart, so no verdict may rest on them.
    bool ambiguous(const std::string& slot) const;
    // Asks the cloud to remove the slot's device from the account it joined; the answer
    // comes with a later tick (removal()). A request already in flight is not repeated.
    void request_removal(const std::string& slot);
    struct Removal {
        bool pending = false;
        std::optional<cloud::CloudError> error;  // none: removed
    };
    // Why the cloud could not be asked about the slot's device at its last poll; none when
    // it answered (or was not asked yet).
    std::optional<std::string> cloud_problem(const std::string& slot) const;
    // The state of the slot's last removal request; nullopt when none was made.
    std::optional<Removal> removal(const std::string& slot) const;
    // The attempt is over: the reservation is spent when the cloud saw the device,
    // given back when it never did. During a stop (hold_for_stop) the stop settles it.
    void settle(const std::string& slot);

    // A clean stop (issue 12, "Reservations are settled ... at a clean stop"). From now on
    // no unit is admitted and no code is shown (a device can read none any more), and every
    // reservation of a unit in flight is held by the stop: its slot letting go (an
    // INTERRUPTED verdict) does not settle it; the stop's ticks do, by the cloud's word on
    // it, asked as before: given back when the unit never had a code, or had one, never read
    // it and the cloud, asked after the screen went blank, lists nothing for it; spent or
    // given back by the cloud's answer for one that read a code. A device that activated is
    // removed by the sweep at once.
    void hold_for_stop();
    // During a stop: the slot's unit had been reset but had not joined a code yet. It may
    // have read one that was on the screen for others (a device can read one before the
    // station sees it ready), so it is held like a joined one, on every code shown to it
    // since its reset (nothing, when none was shown: given back at once).
    void may_have_read(const std::string& slot, const UnitIdentity& unit);
    // Nothing is held any more, and every device that activated during the stop was looked
    // at by the sweep: the stop may end.
    bool stop_settled() const;
    // The stop's time is up. What the cloud has not answered for is spent (it may have
    // counted it) and says why; every device that activated with the station's codes and
    // was not removed is recorded left bound (the next start removes it).
    void end_stop();

    void tick();

    QrView view() const;
    // Id of the code on screen (0: blank). Cheap: the line polls it every tick, while
    // view() builds the payload text.
    std::int64_t generation_id() const { return shown_; }
    const std::string& last_error() const { return last_error_; }
    // The kind of that error when the cloud client named one (clock skew, a host that does
    // not resolve...); nullopt for none or another error.
    std::optional<cloud::CloudFailure> last_failure() const { return last_failure_; }
    // How long devices have waited, ready, with no code to read (virtual seconds).
    double qr_wait_s() const { return qr_wait_s_; }
    // Nothing left bound: devices that activated with one of the station's codes are
    // watched after their slot let go of them (and devices the cloud listed that nobody
    // loaded, at once); one found bound to the station's account is removed again.
    int strays_removed() const { return strays_removed_; }
    // Devices the last check found bound to the station's account and not yet removed (also
    // recorded in the store's left_bound table, which a restart reloads and keeps removing).
    int left_bound() const;
    // Checks every watched device at the next tick (a batch's end, a shift's end).
    void sweep_now();
    // Watches the devices the store records left bound that it does not watch yet (what
    // the ledger's recovery found on the station's accounts after a restart).
    void watch_left_bound();
    // Devices still watched (their check pending, due or scheduled).
    int watched() const { return static_cast<int>(strays_.size()); }
    // Cloud requests sent and not yet answered.
    // The pairing token of the code the slots join now (what a wired unit is handed over
    // the LAN); null before the first code came.
    const cloud::PairingToken* current_token() const {
        return generation_ ? &generation_->token : nullptr;
    }
    int cloud_requests_outstanding() const { return calls_->outstanding(); }
    int cloud_requests_running() const { return calls_->running(); }

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
        std::string label;
        config::UnitLabel label_kind = config::UnitLabel::DeviceId;
        std::string identified_by;
        std::vector<std::string> tokens;  // 8-character token parts the device may have read
        std::optional<CloudOutcome> outcome;
        bool ambiguous = false;
        std::optional<Removal> removal;
        std::optional<std::string> cloud_problem;
        std::string shared_reservation;  // the shared quota's reservation id, if any
        std::int64_t reservation = 0;    // quota_reservations.id
        bool held = false;               // its slot let go during a stop: the stop settles it
    };
    // A clean stop is under way (hold_for_stop), since when (the clock's seconds).
    bool stopping_ = false;
    double stop_since_ = 0;
    // Devices that activated during the stop, not yet removed, and whether the sweep has
    // looked at each since.
    std::map<std::string, bool> stop_activated_;
    // Every device id a unit was loaded with or identified as: once its slot has settled,
    // the cloud still lists it under the code, and it is no stranger then.
    std::set<std::string> accounted_;

    // Empty when refused; the shared quota's reservation id (or "-" without one) else.
    // `unreachable` is set when the shared quota could not be asked.
    struct Reserved {
        std::int64_t id = 0;  // quota_reservations.id
        std::string shared;
    };
    std::optional<Reserved> reserve(std::size_t account, const std::string& slot,
                                    const std::string& product, const std::string& day,
                                    bool& unreachable);
    fleet::QuotaRequest shared_request(std::size_t account, const std::string& product,
                                       const std::string& day) const;
    bool has_room(std::size_t account, const std::string& product, const std::string& day);
    bool usable(const Generation& g, double now) const;
    void request_generation(double now);
    void take_generation(std::size_t account, const cloud::PairingToken& token, double asked_at);
    void update_screen();
    std::string payload_of(const Generation& g) const;
    void poll_cloud();
    void take_devices(std::size_t account, const std::string& token,
                      const cloud::TokenDevices& devices);
    // Asks for the factory information of listed ids not known yet (labels to match).
    void ask_factory_infos(std::size_t account, const cloud::TokenDevices& devices);
    bool label_matches(const Member& m, const std::string& device_id) const;
    // Units of `account` whose device is not known yet and have no answer.
    int unresolved_on(std::size_t account) const;
    // The member has (or may have) a code: it is the unit `unit` says, known by its device id
    // when that is known or is its label.
    void take_identity(Member& m, const UnitIdentity& unit);
    // Spends or gives back the member's reservation by what is known of it (`why_unknown`:
    // spent whatever is known, for that reason).
    void settle_member(Member& m, const std::string& why_unknown = {});
    // During a stop: settles the held members the cloud has said enough about.
    void settle_held();
    void watch_device(std::size_t account, const std::string& device_id, double first_check_in,
                      std::string token = {});
    // Records the device left bound to the account in the store (once until removed).
    void record_left_bound(std::size_t account, const std::string& device_id,
                           const std::string& token);
    // The 8-character token under which the cloud listed the device as activated, if any.
    std::string token_of(std::size_t account, const std::string& device_id) const;
    void sweep(double now);

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
    std::optional<cloud::CloudFailure> last_failure_;
    std::map<std::string, Member> members_;
    bool token_pending_ = false;
    // The last answer per (account, token), to match labels once factory information comes.
    std::map<std::pair<std::size_t, std::string>, cloud::TokenDevices> last_devices_;
    std::map<std::string, cloud::FactoryInfo> factory_;  // by device id
    std::set<std::string> factory_asked_;
    std::set<std::string> factory_refused_;
    struct Stray {
        std::size_t account = 0;
        double next_check = 0;
        double interval = 0;
        double watch_until = 0;
        bool pending = false;
        bool bound = false;  // the last check found it on the station's account
        std::string token;   // the code it activated with, when known (left_bound's record)
    };
    std::map<std::string, Stray> strays_;  // by device id
    int strays_removed_ = 0;
    std::set<std::string> strangers_seen_;
    std::int64_t shown_ = 0;  // id of the generation on the screen; 0: blank
    struct Shown {
        std::size_t account = 0;
        std::string token;
        double from = 0;
        std::optional<double> until;
        double expires_at = 0;  // the cloud takes it no longer: asked about until then
    };
    std::vector<Shown> shown_history_;
    std::set<std::pair<std::size_t, std::string>> polls_pending_;
    // When the last answer per (account, token) that came was asked for.
    std::map<std::pair<std::size_t, std::string>, double> answered_asked_at_;
    // Last: destroyed first, so no request outlives the state its answer goes to.
    std::unique_ptr<CloudCalls> calls_;
};

}  // namespace linestation::flow
