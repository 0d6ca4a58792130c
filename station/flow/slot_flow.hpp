#pragma once
// One slot running its recipe's flow as a state machine, one step per tick:
//   admission (quota) -> reset -> wait for ready -> join the QR batch -> watch -> verdict.
// Evidence before verdict: PASS needs the LED sequence the recipe's flow demands and,
// with a cloud, the cloud's confirmation; anything uncertain is FAIL or INCONCLUSIVE.
// Data before display: the verdict is committed to the store before anyone is told.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "drivers/core/digital_output.hpp"
#include "drivers/core/slot_actuators.hpp"
#include "station/clock/clock.hpp"
#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/flow/line_parts.hpp"
#include "station/flow/scheduler.hpp"
#include "station/flow/token_handover.hpp"
#include "station/service.hpp"
#include "station/store/store.hpp"
#include "station/vision/led_observation.hpp"

namespace linestation::flow {

enum class FlowKind { Unbind, PreActivation, Repair, Wired };
std::string to_string(FlowKind kind);
// The flow a batch kind runs for a recipe: strong binding unbinds, weak and medium re-pair.
FlowKind flow_for(const std::string& batch_kind, const config::Recipe& recipe);

struct SlotChannel {
    drivers::DigitalOutput* board = nullptr;
    std::string board_id;
    int channel = 0;
};

struct SlotHardware {
    std::optional<SlotChannel> reset;
    std::optional<SlotChannel> power;
    bool power_safe_on = true;
    config::PowerWiring power_wiring = config::PowerWiring::NormallyOpen;
};

// Devices the wired flow found on the LAN (gwId -> when it was last heard, and the address
// it announced, where its token is handed over).
class LanDirectory {
  public:
    virtual ~LanDirectory() = default;
    virtual std::optional<double> heard(const std::string& device_id) const = 0;
    virtual std::optional<std::string> address(const std::string& device_id) const = 0;
};

// Timeline events waiting to be written, shared by the slots of a line: written in one
// transaction per tick, and always before a verdict is committed.
class Timeline {
  public:
    explicit Timeline(store::Store& store) : store_(store) {}
    void add(store::UnitEventRecord e) { pending_.push_back(std::move(e)); }
    void flush() {
        store_.add_events(pending_);
        pending_.clear();
    }

  private:
    store::Store& store_;
    std::vector<store::UnitEventRecord> pending_;
};

struct UnitOrder {
    std::optional<std::int64_t> batch_id;
    FlowKind kind = FlowKind::Unbind;
    const config::Recipe* recipe = nullptr;
    std::optional<std::string> serial;
    std::optional<std::string> device_id;
    std::optional<std::string> operator_login;
    // A re-test: the same unit's next attempt, and its last attempt's unit id (its device id,
    // when the cloud had named it, comes with it in device_id).
    int attempt = 1;
    std::optional<std::int64_t> retest_of;
};

struct UnitResult {
    std::string slot;
    std::int64_t unit_id = 0;
    std::optional<std::string> serial;
    std::string verdict;
    std::string reason;
    std::string detail;
    double started_s = 0;
    double ended_s = 0;
    // When its first reset began (after admission): the time before it is the unit
    // waiting on the station (for quota, an account switch). Equal to started_s normally;
    // none for a unit refused before any reset.
    std::optional<double> reset_started_s;
};

// A moment that decided a unit's verdict: "ready" (its ready state seen), "green" (it read
// a code) or "final" (the verdict, committed just before). `led_json` is the reading then;
// the final one adds "timeline", every reading of the unit in order, and "started_s".
struct EvidenceMoment {
    std::int64_t unit_id = 0;
    std::string slot;
    std::string moment;
    std::string led_json;
};

class SlotFlow {
  public:
    using Changed = std::function<void(const SlotView&)>;
    using Finished = std::function<void(const UnitResult&)>;

    SlotFlow(std::string slot, SlotHardware hardware, Clock& clock, store::Store& store,
             QrScheduler& scheduler, Timeline& timeline, std::string station_id,
             const LanDirectory* lan = nullptr);

    void on_change(Changed c) { changed_ = std::move(c); }
    void on_finish(Finished f) { finished_ = std::move(f); }
    // How a wired unit's token reaches its gateway (null: the line has no LAN hand-over).
    void on_handover(TokenHandovers* h) { handover_ = h; }
    // Called at each moment that decides the verdict, on the line's thread, with the frame
    // that showed it still the camera's last: the listener keeps the slot's crop.
    using Witnessed = std::function<void(const EvidenceMoment&)>;
    void on_evidence(Witnessed w) { witnessed_ = std::move(w); }

    const std::string& slot() const { return slot_; }
    bool busy() const;
    // When a held reset (a press, a power cut) is due to end, on the line's clock: a real-time
    // line wakes for it instead of at its next frame, so a press lasts its recipe time.
    std::optional<double> release_due_s() const;
    void start(UnitOrder order);
    void observe(const vision::LedObservation& led);
    void tick();
    // Operator abort: actuators released at once, FAIL operator_abort.
    void abort(const std::string& actor);
    // The station stops cleanly: actuators released as for any verdict, INTERRUPTED
    // station_stopped (the scheduler holds the unit's reservation for the stop to settle).
    void interrupt(const std::string& why);
    // Clears a finished verdict from the screen.
    void clear();
    // Puts the slot's relays in their safe state (start-up, stop, fault). Unforced, a
    // channel already commanded to its safe state is not commanded again.
    void to_safe_state(bool force = true);
    // What the board supervision says of the slot's boards, every tick: a cause while one of
    // them is faulted (a unit in flight ends FAIL fixture_fault: its relays did not do what
    // the flow commanded), nullopt once they are back (their outputs already driven safe by
    // the supervision), when the slot is usable again.
    void board_fault(const std::optional<std::string>& cause);
    bool faulted() const { return faulted_; }

    SlotView view() const;

  private:
    enum class Step {
        Idle,
        Admission,
        Resetting,
        WaitingReady,
        Discovering,
        InBatch,
        HandingOver,
        Watching,
        Removing,
        VerifyingReady,
        Done,
    };
    void set_step(Step s);
    // One step of a reset: a Reset held for a time. `cuts_power` for a power cycle, whose
    // hold is the power off.
    struct ResetPhase {
        drivers::Reset* reset;
        const char* role;
        bool cuts_power;
        double hold_s;
    };
    // Records the action on the timeline, in the store, then takes it. `on` is the output's
    // function (button pressed, device powered), not the relay's level.
    void actuate(const char* role, bool on, const std::function<void()>& act, bool force = true);
    void hold(const ResetPhase& phase, bool held);
    void press(bool pressed, bool force);    // the reset button
    void switch_power(bool on, bool force);  // the device's power, whatever the wiring
    std::vector<ResetPhase> reset_phases() const;
    void reset_sequence(double now);
    void watch(double now);
    void removing(double now);
    // Asks the cloud to remove the unit's device (again), and when to ask next if it refuses.
    void ask_removal(double now);
    // A wired unit in the batch: its token to the gateway found on the LAN.
    void hand_over();
    void handed_over(std::int64_t unit, const drivers::HandoverOutcome& outcome);
    void finish(const std::string& verdict, const std::string& why, const std::string& detail = "");
    void event(const char* kind, const std::string& detail_json);
    double timeout(const char* key, double fallback) const;
    std::string flow_name() const;
    std::string not_ready_detail() const;
    bool green_blink() const;
    // Every measurement taken and every limit of the flow, each with its own outcome.
    std::vector<store::MeasurementRecord> measurement_records() const;
    void publish();
    void witness(const char* moment);
    std::string led_json() const;

    std::string slot_;
    SlotHardware hw_;
    // The fixture's outputs composed as the drivers define them: the power relay wired as
    // the fixture says, the relay across the reset button, and a reset by power cut.
    std::unique_ptr<drivers::Power> power_;
    std::unique_ptr<drivers::Reset> button_;
    std::unique_ptr<drivers::Reset> power_cycle_;
    Clock& clock_;
    store::Store& store_;
    QrScheduler& scheduler_;
    Timeline& timeline_;
    std::string station_id_;
    const LanDirectory* lan_;
    Changed changed_;
    Finished finished_;
    TokenHandovers* handover_ = nullptr;
    Witnessed witnessed_;

    Step step_ = Step::Idle;
    UnitOrder order_;
    std::optional<std::int64_t> unit_id_;
    double unit_started_ = 0;
    std::optional<double> reset_started_;
    double step_started_ = 0;
    int reset_phase_ = 0;
    double reset_done_ = 0;
    double joined_at_ = 0;
    double removed_at_ = 0;
    // When the removal that succeeded was first asked for: the device may reset as soon as
    // the cloud removes it, before the answer arrives, and the vision puts an edge halfway
    // between the frames around it, so a reset's dark can be dated before removed_at_.
    double removal_asked_at_ = 0;
    double next_removal_try_ = 0;
    double removal_sent_at_ = 0;              // the last removal request
    bool removal_refusal_journaled_ = false;  // its refusal is in the unit's journal
    bool seen_green_ = false;
    bool seen_online_ = false;
    bool seen_cloud_refusal_ = false;  // its LED said the cloud refused it
    bool seen_dark_ = false;           // its LED went out after it joined the batch
    double online_since_ = 0;          // when its LED first showed "online" in the batch
    // When its LED first said the cloud refused it: the cloud's word asked after that is awaited.
    double cloud_refusal_seen_at_ = 0;
    bool retried_ = false;
    int removals_ = 0;
    bool quota_wait_logged_ = false;
    bool faulted_ = false;
    std::optional<std::string> fault_;  // why, while faulted_
    std::map<std::string, double> measurements_;
    std::map<std::string, bool> commanded_;       // role -> last state the board confirmed
    std::optional<DiscoveredDevice> discovered_;  // the wired unit as the LAN heard it
    vision::LedObservation led_;
    std::vector<std::string> led_timeline_;  // the unit's readings (JSON), for its evidence
    std::optional<std::string> led_state_;
    std::optional<std::string> verdict_;
    std::optional<std::string> reason_;
};

}  // namespace linestation::flow
