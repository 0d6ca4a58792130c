#include "station/flow/slot_flow.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <exception>
#include <iomanip>
#include <sstream>
#include <string_view>

namespace linestation::flow {

namespace {

// Between removal requests the cloud refused (device offline after its reset, 5xx).
constexpr double kRemovalRetryS = 5;
// A unit that keeps pairing again from codes shown for other slots is the screen's doing,
// not the unit's; after this many removals its verdict waits no longer.
constexpr int kMaxRemovals = 5;
// How long past its flow's window a unit whose LED said the cloud refused it waits for the
// cloud's own word (a poll asked after the refusal, and the factory information that names
// it): two requests at the client's 10 s per answer, retried. Under the world's latency the
// answer came after the window, and a token that had expired on the way (1010, retried once
// with a fresh one) was judged cloud_refused from the LED (issue 11).
constexpr double kCloudAnswerWaitS = 60;

std::string to_json(const Poco::JSON::Object& o) {
    std::ostringstream out;
    o.stringify(out);
    return out.str();
}

bool is_green_state(const std::optional<std::string>& s) {
    return s && (*s == "joining" || *s == "activating" || *s == "online");
}

// A measurement's outcome, in OpenHTF's words.
constexpr const char* kMeasurementPass = "PASS";
constexpr const char* kMeasurementFail = "FAIL";
constexpr const char* kMeasurementUnset = "UNSET";

std::string number(double v) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << v;
    return out.str();
}

// "time_to_ready_s = 38.40 s, above its max 20.00 s", "boot_current_a not measured".
std::string describe_miss(const store::MeasurementRecord& m) {
    if (!m.value) return m.name + " not measured";
    std::string out = m.name + " = " + number(*m.value) + " " + m.unit;
    if (m.max && *m.value > *m.max) return out + ", above its max " + number(*m.max) + " " + m.unit;
    if (m.min && *m.value < *m.min) return out + ", below its min " + number(*m.min) + " " + m.unit;
    return out;
}

// Why the cloud could not be used, as a verdict. A station clock the cloud refuses (1013),
// an endpoint whose host does not resolve and a cloud that answers 5xx or nothing in time
// (after the client's retries) are the station's side, not the unit's: nothing is known
// about the unit (INCONCLUSIVE: re-test once the cloud is back; a FAIL would send a good
// unit to repair), and the reason names what to fix. A refusal for good (no permission,
// the project's API quota used up) stays a FAIL; anything else keeps `otherwise`.
struct CloudVerdict {
    const char* verdict;
    const char* reason;
};
CloudVerdict cloud_verdict(std::optional<cloud::CloudFailure> failure, CloudVerdict otherwise) {
    if (failure == cloud::CloudFailure::ClockSkew)
        return {verdict::kInconclusive, reason::kClockSkew};
    if (failure == cloud::CloudFailure::HostUnknown) {
        return {verdict::kInconclusive, reason::kCloudHostUnknown};
    }
    if (failure == cloud::CloudFailure::Unavailable)
        return {verdict::kInconclusive, reason::kCloudUnavailable};
    if (failure == cloud::CloudFailure::PermissionDenied)
        return {verdict::kFail, reason::kNoPermission};
    if (failure == cloud::CloudFailure::QuotaExceeded)
        return {verdict::kFail, reason::kQuotaExceeded};
    return otherwise;
}

const char* step_name(int step) {
    static constexpr const char* kNames[] = {
        "idle",         "admission", "resetting", "waiting_ready",   "discovering", "in_batch",
        "handing_over", "watching",  "removing",  "verifying_ready", "done"};
    return kNames[step];
}

}  // namespace

std::string to_string(FlowKind kind) {
    switch (kind) {
        case FlowKind::Unbind:
            return "unbind";
        case FlowKind::PreActivation:
            return "pre_activation";
        case FlowKind::Repair:
            return "repair";
        case FlowKind::Wired:
            return "wired";
    }
    return "unbind";
}

FlowKind flow_for(const std::string& batch_kind, const config::Recipe& recipe) {
    if (batch_kind == "pre_activation") return FlowKind::PreActivation;
    if (batch_kind == "wired" || recipe.pairing == config::PairingMethod::Wired) {
        return FlowKind::Wired;
    }
    return recipe.binding == config::BindingMode::Strong ? FlowKind::Unbind : FlowKind::Repair;
}

SlotFlow::SlotFlow(std::string slot, SlotHardware hardware, Clock& clock, store::Store& store,
                   QrScheduler& scheduler, Timeline& timeline, std::string station_id,
                   const LanDirectory* lan)
    : slot_(std::move(slot)),
      hw_(std::move(hardware)),
      clock_(clock),
      store_(store),
      scheduler_(scheduler),
      timeline_(timeline),
      station_id_(std::move(station_id)),
      lan_(lan) {
    led_.slot = slot_;
    if (hw_.power && hw_.power->board) {
        power_ = std::make_unique<drivers::RelayPower>(
            *hw_.power->board, hw_.power->channel,
            hw_.power_wiring == config::PowerWiring::NormallyOpen);
        power_cycle_ = std::make_unique<drivers::PowerCycleReset>(*power_);
    }
    if (hw_.reset && hw_.reset->board) {
        button_ = std::make_unique<drivers::RelayReset>(*hw_.reset->board, hw_.reset->channel);
    }
}

bool SlotFlow::busy() const {
    return step_ != Step::Idle && step_ != Step::Done;
}

std::string SlotFlow::flow_name() const {
    return to_string(order_.kind);
}

double SlotFlow::timeout(const char* key, double fallback) const {
    return order_.recipe ? order_.recipe->timeout_s(flow_name(), key, fallback) : fallback;
}

void SlotFlow::event(const char* kind, const std::string& detail_json) {
    if (!unit_id_) return;
    timeline_.add({0, *unit_id_, clock_.wall_ms(), kind, detail_json});
}

void SlotFlow::set_step(Step s) {
    step_ = s;
    step_started_ = clock_.now_s();
    Poco::JSON::Object o;
    o.set("step", step_name(static_cast<int>(s)));
    event("flow", to_json(o));
    publish();
}

void SlotFlow::publish() {
    if (changed_) changed_(view());
}

void SlotFlow::start(UnitOrder order) {
    if (busy()) throw std::invalid_argument("slot " + slot_ + " is busy");
    order_ = std::move(order);
    if (!order_.recipe) throw std::invalid_argument("slot " + slot_ + ": no recipe");
    // A label is a device id only where the recipe says so; a uuid, sn or MAC is matched to
    // the cloud's device ids by their factory information.
    if (!order_.device_id && order_.serial && order_.recipe->label == config::UnitLabel::DeviceId) {
        order_.device_id = order_.serial;
    }
    store::UnitRecord u;
    u.batch_id = order_.batch_id;
    u.device_id = order_.device_id;
    u.serial = order_.serial;
    u.product_id = order_.recipe->product_id;
    u.station_id = station_id_;
    u.slot = slot_;
    u.started_ms = clock_.wall_ms();
    u.attempt = order_.attempt;
    Poco::JSON::Object o;
    o.set("flow", flow_name());
    if (order_.retest_of) {
        // Journaled: the identity it starts with is its last attempt's, not a new match.
        o.set("retest_of", *order_.retest_of);
        if (order_.device_id) o.set("device_id", *order_.device_id);
    }
    o.set("recipe", order_.recipe->product_id);
    if (order_.operator_login) o.set("operator", *order_.operator_login);
    timeline_.flush();  // the slot's previous unit's last words, before this one begins
    unit_id_ = store_.begin_unit(u, {{0, 0, u.started_ms, "flow", to_json(o)}});
    unit_started_ = clock_.now_s();
    reset_started_.reset();
    retried_ = false;
    removals_ = 0;
    quota_wait_logged_ = false;
    measurements_.clear();
    led_timeline_.clear();
    discovered_.reset();
    verdict_.reset();
    reason_.reset();
    set_step(Step::Admission);
    tick();
}

void SlotFlow::actuate(const char* role, bool on, const std::function<void()>& act, bool force) {
    const bool power = std::string_view(role) == "power";
    const auto& ch = power ? hw_.power : hw_.reset;
    if (!ch || !ch->board) return;
    if (!force) {
        auto it = commanded_.find(role);
        if (it != commanded_.end() && it->second == on) return;
    }
    commanded_.erase(role);
    Poco::JSON::Object o;
    o.set("role", role);
    o.set("board", ch->board_id);
    o.set("channel", ch->channel);
    o.set("on", on);
    // The relay's level too: on a normally-closed power wiring it is the opposite of `on`.
    const bool open_wiring = hw_.power_wiring == config::PowerWiring::NormallyOpen;
    o.set("energized", power ? on == open_wiring : on);
    event("actuator", to_json(o));
    // In the store before the relay moves: a crash never hides an action taken. Except that
    // a store that cannot be written (full, read-only) must never keep a reset pressed or a
    // unit powered against its safe state: such a move is made, and the store's error
    // passed on after it.
    const bool to_safe = power ? on == hw_.power_safe_on : !on;
    std::exception_ptr unrecorded;
    try {
        timeline_.flush();
    } catch (const std::exception&) {
        if (!to_safe) throw;
        unrecorded = std::current_exception();
    }
    act();
    commanded_[role] = on;
    if (unrecorded) std::rethrow_exception(unrecorded);
}

void SlotFlow::hold(const ResetPhase& phase, bool held) {
    actuate(phase.role, phase.cuts_power ? !held : held, [&] {
        if (held) {
            phase.reset->hold();
        } else {
            phase.reset->release();
        }
    });
}

void SlotFlow::press(bool pressed, bool force) {
    if (!button_) return;
    const auto act = [&] { pressed ? button_->hold() : button_->release(); };
    actuate("reset", pressed, act, force);
}

void SlotFlow::switch_power(bool on, bool force) {
    if (!power_) return;
    const auto act = [&] { on ? power_->on() : power_->off(); };
    actuate("power", on, act, force);
}

void SlotFlow::to_safe_state(bool force) {
    press(false, force);
    switch_power(hw_.power_safe_on, force);
}

void SlotFlow::board_fault(const std::optional<std::string>& cause) {
    if (cause) {
        const bool changed = !faulted_ || fault_ != cause;
        faulted_ = true;
        fault_ = cause;
        // What the board did with the last commands is unknown; the supervision puts its
        // outputs safe when it is back, and the next unit commands every output afresh.
        commanded_.clear();
        if (busy()) {
            Poco::JSON::Object o;
            o.set("board_fault", *cause);
            event("actuator", to_json(o));
            finish(verdict::kFail, reason::kFixtureFault, *cause);
        } else if (changed) {
            publish();
        }
        return;
    }
    if (!faulted_) return;
    faulted_ = false;
    fault_.reset();
    commanded_.clear();
    publish();
}

void SlotFlow::observe(const vision::LedObservation& led) {
    led_ = led;
    // The unit's own recipe names the state: the camera's recipe may be another product's.
    led_state_ = led.state;
    if (order_.recipe && !led.camera_lost) {
        led_state_ = led.unsure ? std::nullopt
                                : order_.recipe->state_for(led.color, led.pattern, led.freq_hz);
    }
    if (!busy()) {
        publish();
        return;
    }
    Poco::JSON::Object o;
    o.set("t", led.t);
    o.set("since", led.since);
    o.set("color", led.color);
    o.set("pattern", led.pattern);
    if (led.freq_hz) o.set("freq_hz", *led.freq_hz);
    if (led_state_) o.set("state", *led_state_);
    if (led.unsure) o.set("unsure", true);
    if (led.camera_lost) {
        o.set("camera_lost", true);
        event("camera", to_json(o));
        finish(verdict::kInconclusive, reason::kCameraLost, "the camera delivered no frames");
        return;
    }
    const std::string reading = to_json(o);
    event("led", reading);
    // Bounded: a unit that flickers for minutes keeps its first readings and its last.
    constexpr std::size_t kTimelineKept = 64;
    if (led_timeline_.size() == kTimelineKept) led_timeline_.erase(led_timeline_.begin() + 16);
    led_timeline_.push_back(reading);
    publish();
}

std::string SlotFlow::led_json() const {
    Poco::JSON::Object o;
    o.set("color", led_.color);
    o.set("pattern", led_.pattern);
    if (led_.freq_hz) o.set("freq_hz", *led_.freq_hz);
    if (led_state_) o.set("state", *led_state_);
    if (led_.camera_lost) o.set("camera_lost", true);
    return to_json(o);
}

void SlotFlow::witness(const char* moment) {
    if (!witnessed_ || !unit_id_) return;
    std::string json = led_json();
    if (std::string_view(moment) == "final") {
        std::string timeline = "[";
        for (const auto& r : led_timeline_) timeline += (timeline.size() > 1 ? "," : "") + r;
        json.pop_back();
        json +=
            ",\"started_s\":" + std::to_string(unit_started_) + ",\"timeline\":" + timeline + "]}";
    }
    witnessed_({*unit_id_, slot_, moment, json});
}

bool SlotFlow::green_blink() const {
    // The vision may be unsure of a short blink's frequency (joining and activating last
    // a few seconds), but a green blink after the code was shown is a device pairing.
    return !led_.camera_lost && led_.unsure && led_.color == "green" && led_.pattern == "blink";
}

std::string SlotFlow::not_ready_detail() const {
    if (!led_state_ && led_.color == "off") return "no light";
    if (led_state_ == "off") return "no light";
    if (led_state_ == "booting") return "stuck booting";
    return "wrong light: " + led_.color + " " + led_.pattern;
}

// The recipe's reset as held resets, one after the other: a power cut, a long press, or a
// power cut then a long press.
std::vector<SlotFlow::ResetPhase> SlotFlow::reset_phases() const {
    const auto& reset = order_.recipe->reset;
    std::vector<ResetPhase> phases;
    if (reset.method != config::ResetMethod::LongPress) {
        phases.push_back({power_cycle_.get(), "power", true, reset.power_off_s});
    }
    if (reset.method != config::ResetMethod::PowerCycle) {
        phases.push_back({button_.get(), "reset", false, reset.press_s});
    }
    return phases;
}

std::optional<double> SlotFlow::release_due_s() const {
    if (step_ != Step::Resetting || reset_phase_ % 2 != 1 || !order_.recipe) return std::nullopt;
    return step_started_ + reset_phases()[static_cast<std::size_t>(reset_phase_ / 2)].hold_s;
}

void SlotFlow::reset_sequence(double now) {
    const auto& reset = order_.recipe->reset;
    const bool press = reset.method != config::ResetMethod::PowerCycle;
    const bool cycle = reset.method != config::ResetMethod::LongPress;
    if ((press && !button_) || (cycle && !power_cycle_)) {
        finish(verdict::kFail, reason::kFixtureFault,
               std::string("slot has no ") + (press && !button_ ? "reset" : "power") +
                   " channel for the recipe's reset");
        return;
    }
    const auto phases = reset_phases();
    // reset_phase_ counts actions: even, phase reset_phase_/2 is still to be held; odd, it
    // is held since step_started_.
    if (reset_phase_ % 2 == 1) {
        const auto& held = phases[static_cast<std::size_t>(reset_phase_ / 2)];
        if (now - step_started_ < held.hold_s) return;
        hold(held, false);
        ++reset_phase_;
    }
    const auto next = static_cast<std::size_t>(reset_phase_ / 2);
    if (next < phases.size()) {
        hold(phases[next], true);
        ++reset_phase_;
        step_started_ = now;
        return;
    }
    reset_done_ = now;
    set_step(Step::WaitingReady);
}

void SlotFlow::tick() {
    const double now = clock_.now_s();
    try {
        switch (step_) {
            case Step::Idle:
            case Step::Done:
                return;
            case Step::Admission: {
                auto a = scheduler_.admit(slot_, order_.recipe->product_id);
                if (a == Admission::Exhausted) {
                    finish(verdict::kFail, reason::kQuotaExceeded,
                           "no authorized account has quota left today for " +
                               order_.recipe->product_id);
                } else if (a == Admission::Wait) {
                    if (!quota_wait_logged_) event("flow", R"({"waiting":"quota account switch"})");
                    quota_wait_logged_ = true;
                } else {
                    reset_phase_ = 0;
                    if (!reset_started_) reset_started_ = now;
                    // The slot's last unit may have been switched off at its verdict; a
                    // unit refused before its reset is never powered.
                    switch_power(hw_.power_safe_on, false);
                    seen_green_ = seen_online_ = seen_cloud_refusal_ = seen_dark_ = false;
                    set_step(Step::Resetting);
                    reset_sequence(now);
                }
                return;
            }
            case Step::Resetting:
                reset_sequence(now);
                return;
            case Step::WaitingReady: {
                // Only a reading that began after the reset was released: the slot's last
                // one may still be the previous unit's (or the vision's, a moment late), and
                // what a unit showed during the press is undone by its release. A unit
                // powered on in pairing mode (one this station unbound, re-tested) reads a
                // code shown for other slots while the button is held and activates; the
                // release factory-resets it, and it is offline until it pairs again: taken
                // for this reset's join, its removal met 2001 until the flow gave up.
                const bool fresh =
                    !led_.camera_lost && led_.since >= unit_started_ && led_.since >= reset_done_;
                // A device reads a code already on the screen within a second of becoming
                // ready, sooner than a 2 Hz blink can be confirmed; joining (or failing to)
                // after the reset proves it was in pairing mode: it joins from nowhere else.
                // (Not "online": a device that merely rebooted comes back online, bound.)
                // A single-colour LED is dark while it joins and steady once connected: a
                // weak or medium bound device (repair) that read the code that fast shows
                // steady next. That is also what one that merely rebooted into its old
                // account shows; the cloud's answer on the code tells them apart.
                const bool joined_already =
                    fresh && order_.kind != FlowKind::Wired &&
                    (green_blink() || led_state_ == "joining" || led_state_ == "activating" ||
                     led_state_ == "pair_failed_router" || led_state_ == "pair_failed_cloud" ||
                     (order_.kind == FlowKind::Repair && led_state_ == "online" &&
                      led_.since >= reset_done_));
                if ((fresh && led_state_ == "ready") || joined_already) {
                    if (!measurements_.count("time_to_ready_s")) {
                        measurements_["time_to_ready_s"] = led_.since - reset_done_;
                    }
                    if (joined_already) event("flow", R"({"ready":"inferred from joining"})");
                    witness("ready");
                    set_step(order_.kind == FlowKind::Wired ? Step::Discovering : Step::InBatch);
                    tick();
                } else if (now - reset_done_ > timeout("ready_s", 60)) {
                    finish(verdict::kFail, reason::kNotReady, not_ready_detail());
                }
                return;
            }
            case Step::Discovering: {
                if (!lan_) {
                    finish(verdict::kFail, reason::kNotDiscovered,
                           "the station has no LAN listener (UDP 6666/6667 could not be bound)");
                    return;
                }
                auto heard = order_.device_id ? lan_->heard(*order_.device_id) : std::nullopt;
                auto ip = order_.device_id ? lan_->address(*order_.device_id) : std::nullopt;
                if (heard && *heard >= reset_done_ && ip && !ip->empty()) {
                    discovered_ = DiscoveredDevice{*order_.device_id, *ip};
                    Poco::JSON::Object o;
                    o.set("discovered", true);
                    o.set("ip", *ip);
                    event("flow", to_json(o));
                    set_step(Step::InBatch);
                } else if (now - step_started_ > timeout("discover_s", 60)) {
                    finish(verdict::kFail, reason::kNotDiscovered,
                           "the device did not announce itself on the LAN");
                }
                return;
            }
            case Step::InBatch:
                if (scheduler_.join(slot_,
                                    {order_.device_id.value_or(""), order_.serial.value_or(""),
                                     order_.recipe->label, reset_done_})) {
                    joined_at_ = now;
                    if (order_.kind == FlowKind::Wired) {
                        hand_over();
                        return;
                    }
                    set_step(Step::Watching);
                } else if (now - step_started_ > timeout("ready_s", 60)) {
                    // No code to show: whatever kept it away, the unit never met the cloud.
                    const auto v =
                        cloud_verdict(scheduler_.last_failure(),
                                      {verdict::kInconclusive, reason::kCloudUnavailable});
                    finish(v.verdict, v.reason,
                           "no pairing code could be shown: " + scheduler_.last_error());
                }
                return;
            case Step::HandingOver:
                // The outcome comes back at a tick (handed_over); the fixture's deadline
                // bounds one hand-over, so this only guards a worker that never answers.
                if (now - step_started_ > timeout("handover_s", 60)) {
                    finish(verdict::kFail, reason::kHandoverFailed,
                           "the LAN hand-over did not come back in time");
                }
                return;
            case Step::Watching:
                watch(now);
                return;
            case Step::Removing:
                removing(now);
                return;
            case Step::VerifyingReady:
                // Back in pairing mode, a device reads whatever code the screen shows next
                // and may pair to the station's account again before its ready blink is
                // confirmed. Online after the removal: remove it again; that is the
                // station's doing, never the unit's fault.
                if (led_state_ == "online" && led_.since >= removal_asked_at_) {
                    if (removals_ >= kMaxRemovals) {
                        finish(verdict::kInconclusive, reason::kNotClean,
                               "paired to the station's account again after " +
                                   std::to_string(removals_) +
                                   " removals; it is removed when the line sweeps the account");
                        return;
                    }
                    event("flow", R"({"re-paired":"removing from the account again"})");
                    ask_removal(now);
                    set_step(Step::Removing);
                    return;
                }
                // Ready again, or already pairing again from a code on the screen: either
                // proves the removal reset it (it pairs from nowhere else). The verdict
                // switches it off before it can finish that pairing.
                // A repaired (weak or medium bound) device with a single-colour LED shows
                // nothing else: dark after its removal, it is resetting, and it is dark
                // while it boots and joins again, then steady on the station's account.
                if (led_state_ == "ready" ||
                    (led_.since >= removal_asked_at_ && !led_.camera_lost &&
                     (green_blink() || led_state_ == "joining" || led_state_ == "activating" ||
                      (order_.kind == FlowKind::Repair && led_state_ == "off")))) {
                    if (led_state_ != "ready")
                        event("flow", R"({"clean":"pairing again after removal"})");
                    measurements_["time_to_clean_ready_s"] = now - removed_at_;
                    // Every limit is judged and every miss named, not only the first.
                    std::string missed;
                    for (const auto& m : measurement_records()) {
                        if (m.outcome == kMeasurementPass) continue;
                        missed += (missed.empty() ? "" : "; ") + describe_miss(m);
                    }
                    if (!missed.empty()) {
                        finish(verdict::kFail, reason::kOutOfLimits, missed);
                        return;
                    }
                    finish(verdict::kPass, reason::kPassed);
                } else if (now - step_started_ > timeout("clean_ready_s", 60)) {
                    finish(verdict::kFail, reason::kNotClean,
                           "removed from the account but did not come back ready (" +
                               not_ready_detail() + ")");
                }
                return;
        }
    } catch (const drivers::DriverError& e) {
        faulted_ = true;
        fault_ = e.what();
        finish(verdict::kFail, reason::kFixtureFault, e.what());
    } catch (const cloud::CloudError& e) {
        Poco::JSON::Object o;
        o.set("error", e.code());
        event("cloud", to_json(o));
        const auto v =
            cloud_verdict(e.failure(), {verdict::kInconclusive, reason::kCloudUnavailable});
        finish(v.verdict, v.reason, e.what());
    }
}

void SlotFlow::removing(double now) {
    const auto r = scheduler_.removal(slot_);
    if (!r || r->pending) {
        if (now - step_started_ > timeout("unbind_s", 120)) {
            finish(verdict::kInconclusive, reason::kCloudUnavailable,
                   "the cloud did not answer the removal: the unit may still be bound to the "
                   "station's account");
        }
        return;
    }
    if (!r->error) {
        event("cloud", R"({"call":"remove_device","result":"ok"})");
        removed_at_ = now;
        // The request that succeeded, not the first one: an online reading between a
        // refused request and the one that removed it is the activation being removed, not
        // a pairing again after the removal.
        removal_asked_at_ = removal_sent_at_;
        ++removals_;
        set_step(Step::VerifyingReady);
        return;
    }
    const auto& e = *r->error;
    if (!removal_refusal_journaled_) {  // the answer stays until the next request: once
        removal_refusal_journaled_ = true;
        Poco::JSON::Object o;
        o.set("call", "remove_device");
        o.set("error", e.code());
        o.set("failure", cloud::to_string(e.failure()));
        event("cloud", to_json(o));
    }
    const auto v = cloud_verdict(e.failure(), {verdict::kInconclusive, reason::kCloudUnavailable});
    if (std::string(v.verdict) == verdict::kFail) {  // refused for good: asking again won't help
        finish(v.verdict, v.reason, e.what());
        return;
    }
    // Offline (still rebooting) or a cloud that is away: ask again a little later, for as
    // long as the flow allows; the unit is bound to the station's account until then.
    if (now - step_started_ > timeout("unbind_s", 120)) {
        finish(v.verdict, v.reason,
               std::string("could not remove the unit from the station's account: ") + e.what());
        return;
    }
    if (now >= next_removal_try_) ask_removal(now);
}

void SlotFlow::ask_removal(double now) {
    scheduler_.request_removal(slot_);
    removal_sent_at_ = now;
    next_removal_try_ = now + kRemovalRetryS;
    removal_refusal_journaled_ = false;
}

void SlotFlow::watch(double now) {
    // Green means it read a code: later codes on the screen are no longer its own.
    if (is_green_state(led_state_) || green_blink()) {
        if (!seen_green_) witness("green");
        seen_green_ = true;
        scheduler_.picked_up(slot_);
    }
    if (led_state_ == "online" && !seen_online_) {
        seen_online_ = true;
        online_since_ = led_.since;
        measurements_["time_to_online_s"] = now - joined_at_;
    }
    auto cloud_refused_it = [&] {
        if (!seen_cloud_refusal_) cloud_refusal_seen_at_ = now;
        seen_cloud_refusal_ = true;
    };
    if (led_state_ == "pair_failed_cloud") cloud_refused_it();
    if (led_state_ == "pair_failed_router") {
        finish(verdict::kFail, reason::kWifiRejected, "the device could not join the router");
        return;
    }
    const bool since_join = !led_.camera_lost && led_.since >= joined_at_;
    if (since_join && led_state_ == "off") seen_dark_ = true;
    // A single-colour LED has no failure pattern ("Wi-Fi 快连模式": dark while it connects
    // to the router, steady once connected): a device back in pairing mode after going dark
    // never reached the router if it was never steady, and was refused by the cloud if it was.
    // Connected and then dark or back in pairing mode, with no success: the cloud refused it
    // (it may be pairing again already, with the next code on the screen).
    if (since_join && led_state_ == "ready" && seen_dark_ && !seen_online_) {
        finish(verdict::kFail, reason::kWifiRejected,
               "it went dark to join the router and came back to pairing mode without "
               "connecting");
        return;
    }
    if (seen_online_ && !led_.camera_lost && led_.since > online_since_ &&
        (led_state_ == "ready" || led_state_ == "off")) {
        cloud_refused_it();
    }
    // Unbinding (QR or wired) ends with the device reset, never online on our account.
    const bool needs_online =
        order_.kind == FlowKind::PreActivation || order_.kind == FlowKind::Repair;
    if (scheduler_.has_cloud()) {
        if (scheduler_.ambiguous(slot_)) {
            finish(verdict::kInconclusive, reason::kUnidentified,
                   "the unit has no serial and shares its code with other such units: the "
                   "cloud's answers cannot be told apart (load it with its serial)");
            return;
        }
        auto out = scheduler_.outcome(slot_);
        // A refusal given to this unit by elimination (a device the account may not see)
        // stands only once its own LED has said the cloud refused it.
        if (out && !order_.device_id && !seen_cloud_refusal_ &&
            scheduler_.identified_by(slot_).rfind("elimination (no factory", 0) == 0) {
            scheduler_.doubt(slot_);
            out.reset();
        }
        if (out) {
            if (!order_.device_id) {
                // Its label matched the factory information of a device the cloud listed,
                // or (loaded without a serial) the cloud named the only device on the code
                // that no other slot holds.
                order_.device_id = scheduler_.device_id(slot_);
                Poco::JSON::Object o;
                o.set("identified", *order_.device_id);
                o.set("by", scheduler_.identified_by(slot_));
                if (order_.serial) o.set("label", *order_.serial);
                event("cloud", to_json(o));
                store_.set_unit_device(*unit_id_, *order_.device_id);
            }
            if (!out->succeeded) {
                Poco::JSON::Object o;
                o.set("answer", "failed");
                o.set("code", out->code);
                o.set("message", out->message);
                event("cloud", to_json(o));
                const auto why = reason_for_cloud_code(out->code);
                if (why == reason::kTokenExpired && !retried_) {
                    // Once, with a fresh token: the device may just have been slow to read.
                    retried_ = true;
                    scheduler_.settle(slot_);
                    event("flow", R"({"retry":"token expired"})");
                    set_step(Step::Admission);
                    return;
                }
                finish(verdict::kFail, why, out->message);
                return;
            }
            if (seen_green_ && (!needs_online || seen_online_)) {
                event("cloud", R"({"answer":"succeeded"})");
                ask_removal(now);
                set_step(Step::Removing);
                return;
            }
        }
    } else {
        // Green then ready is also what a refused activation shows on some firmware: the
        // LED alone is no evidence. Batches are refused without a cloud; this is a guard.
        finish(verdict::kInconclusive, reason::kCloudUnavailable,
               "no cloud account is configured: nothing can confirm the unit's state");
        return;
    }
    const double waited = now - joined_at_;
    if (!seen_green_ && led_state_ == "ready" && waited > timeout("join_s", 90)) {
        finish(verdict::kFail, reason::kQrNotRead,
               "the device stayed ready: it never read the code");
        return;
    }
    const double limit = needs_online ? timeout("online_s", 120) : timeout("unbind_s", 120);
    if (waited > limit && seen_cloud_refusal_ && scheduler_.has_cloud() &&
        !scheduler_.answered_since(slot_, cloud_refusal_seen_at_) &&
        waited <= limit + kCloudAnswerWaitS) {
        return;
    }
    if (waited > limit) {
        const auto refusals =
            order_.device_id ? std::set<std::string>{} : scheduler_.unseen_refusals(slot_);
        if (refusals.size() == 1 && seen_cloud_refusal_) {
            // It tried, no listed success is its own, and every refusal on its codes that
            // nobody claims says the same: that is its answer, though its device cannot be
            // named (the account may not see it).
            Poco::JSON::Object o;
            o.set("answer", "failed");
            o.set("code", *refusals.begin());
            o.set("identified", "no: the account may not see the refused device");
            event("cloud", to_json(o));
            scheduler_.claim_unseen_refusal(slot_, *refusals.begin());
            finish(verdict::kFail, reason_for_cloud_code(*refusals.begin()),
                   "the cloud refused a device on this unit's code (" + *refusals.begin() +
                       ") that the account may not see; no success carries its label");
        } else if (led_state_ == "pair_failed_cloud") {
            finish(verdict::kFail, reason::kCloudRefused, "the device reports a cloud failure");
        } else if (seen_green_ && !order_.device_id && scheduler_.has_cloud() &&
                   (!order_.serial ||
                    !scheduler_.unmatched_ids(slot_, seen_cloud_refusal_).empty())) {
            // It joined, but its answer could not be told from the others': the ids the
            // cloud listed go with the verdict, for a person to match.
            Poco::JSON::Array ids;
            for (const auto& id : scheduler_.unmatched_ids(slot_, seen_cloud_refusal_)) ids.add(id);
            Poco::JSON::Object o;
            o.set("unmatched_device_ids", ids);
            if (order_.serial) o.set("label", *order_.serial);
            event("cloud", to_json(o));
            finish(verdict::kInconclusive, reason::kUnidentified,
                   order_.serial
                       ? "no device the cloud listed carries the label " + *order_.serial + " (" +
                             config::to_string(order_.recipe->label) + ")"
                       : "the unit has no serial and the cloud's answers could not be "
                         "matched to it (load it with its serial)");
        } else if (seen_green_ && scheduler_.cloud_problem(slot_)) {
            // The cloud could not be asked: whether the unit is free is unknown.
            finish(verdict::kInconclusive, reason::kCloudUnavailable,
                   "the cloud could not be asked how the unit fared: " +
                       *scheduler_.cloud_problem(slot_));
        } else if (seen_green_) {
            finish(verdict::kFail, reason::kStillBound,
                   "green kept blinking: the cloud never confirmed");
        } else {
            finish(verdict::kFail, reason::kNotReady, not_ready_detail());
        }
    }
}

std::vector<store::MeasurementRecord> SlotFlow::measurement_records() const {
    // Limits are the pre-activation test's; other flows record their times unjudged.
    static const std::map<std::string, config::Limit> kNoLimits;
    const auto* spec = order_.recipe ? order_.recipe->flow(flow_name()) : nullptr;
    const auto& limits = spec && order_.kind == FlowKind::PreActivation ? spec->limits : kNoLimits;
    // The flow's own measurements are all durations in seconds.
    std::vector<store::MeasurementRecord> out;
    for (const auto& [name, value] : measurements_) {
        auto limit = limits.find(name);
        if (limit == limits.end()) {
            out.push_back({name, value, "s", std::nullopt, std::nullopt, kMeasurementPass});
            continue;
        }
        const auto& l = limit->second;
        out.push_back({name, value, l.unit.empty() ? "s" : l.unit, l.min, l.max,
                       l.accepts(value) ? kMeasurementPass : kMeasurementFail});
    }
    for (const auto& [name, l] : limits) {
        if (measurements_.count(name)) continue;
        out.push_back(
            {name, std::nullopt, l.unit.empty() ? "s" : l.unit, l.min, l.max, kMeasurementUnset});
    }
    return out;
}

void SlotFlow::finish(const std::string& verdict, const std::string& why,
                      const std::string& detail) {
    if (!unit_id_ || !busy()) return;
    try {
        press(false, false);
        // A unit that passed is in pairing mode, or soon will be: switched off, it cannot
        // read a code shown for another slot and pair to the station's account again. Any
        // other unit stays powered: it may have paired with the station's account unseen (a
        // dead LED), and only an online device can be removed again by the sweep. The next
        // unit's start powers the slot on.
        if (reset_started_)
            switch_power(verdict == verdict::kPass ? false : hw_.power_safe_on, false);
    } catch (const drivers::DriverError& e) {
        faulted_ = true;
        fault_ = e.what();
        Poco::JSON::Object o;
        o.set("safe_state_failed", std::string(e.what()));
        event("actuator", to_json(o));
    }
    scheduler_.settle(slot_);
    Poco::JSON::Object m;
    for (const auto& [k, v] : measurements_) m.set(k, v);
    if (!detail.empty()) m.set("detail", detail);
    if (retried_) m.set("retried", true);
    Poco::JSON::Object o;
    o.set("verdict", verdict);
    o.set("reason", why);
    event("flow", to_json(o));
    // Committed (durable, its timeline with it) before the step changes or anyone is told.
    timeline_.flush();
    store_.finish_unit(*unit_id_, verdict, why, to_json(m), clock_.wall_ms(),
                       measurement_records());
    // After the commit: the verdict never waits for an image, and before the screens hear
    // of it, so the held verdict shows its crop at once.
    witness("final");
    verdict_ = verdict;
    reason_ = why;
    step_ = Step::Done;
    step_started_ = clock_.now_s();
    UnitResult r{slot_,  *unit_id_,     order_.serial,  verdict,       why,
                 detail, unit_started_, clock_.now_s(), reset_started_};
    publish();
    if (finished_) finished_(r);
}

void SlotFlow::abort(const std::string& actor) {
    if (!busy()) return;
    Poco::JSON::Object o;
    o.set("abort", actor);
    event("operator", to_json(o));
    finish(verdict::kFail, reason::kOperatorAbort, "aborted by " + actor);
}

void SlotFlow::interrupt(const std::string& why) {
    if (!busy()) return;
    // Reset and not yet joined to a code: it may have read one shown for others.
    if (step_ == Step::WaitingReady || step_ == Step::Discovering || step_ == Step::InBatch) {
        scheduler_.may_have_read(slot_, {order_.device_id.value_or(""), order_.serial.value_or(""),
                                         order_.recipe->label, reset_done_});
    }
    finish(verdict::kInterrupted, reason::kStationStopped, why);
}

void SlotFlow::clear() {
    if (busy()) return;
    step_ = Step::Idle;
    verdict_.reset();
    reason_.reset();
    publish();
}

void SlotFlow::hand_over() {
    const auto* token = scheduler_.current_token();
    if (!handover_ || !discovered_ || !token) {
        // The batch is refused at start without a hand-over; this is a line built wrongly.
        finish(verdict::kFail, reason::kFixtureFault,
               "no way to hand the token to the wired device on this line");
        return;
    }
    Poco::JSON::Object o;
    o.set("handover", "asked");
    o.set("ip", discovered_->ip);
    event("flow", to_json(o));  // never the token: a secret
    set_step(Step::HandingOver);
    const auto unit = unit_id_.value_or(0);
    handover_->hand_over(
        discovered_->ip, {discovered_->device_id, token->region, token->token, token->secret},
        [this, unit](const drivers::HandoverOutcome& out) { handed_over(unit, out); });
}

void SlotFlow::handed_over(std::int64_t unit, const drivers::HandoverOutcome& outcome) {
    // An outcome for a unit that is gone (aborted, the slot reloaded) is nobody's.
    if (step_ != Step::HandingOver || unit_id_.value_or(0) != unit) return;
    Poco::JSON::Object o;
    o.set("handover", drivers::to_string(outcome.result));
    if (!outcome.accepted()) o.set("detail", outcome.detail);
    event("flow", to_json(o));
    if (!outcome.accepted()) {
        finish(verdict::kFail, reason::kHandoverFailed,
               "the gateway did not take its token over the LAN: " + outcome.detail);
        return;
    }
    set_step(Step::Watching);
}

SlotView SlotFlow::view() const {
    SlotView v;
    v.slot = slot_;
    v.unit_serial = order_.serial;
    v.unit_id = unit_id_;
    switch (step_) {
        case Step::Idle:
            v.step = "idle";
            break;
        case Step::Admission:
        case Step::Resetting:
            v.step = "resetting";
            break;
        case Step::WaitingReady:
        case Step::Discovering:
            v.step = "waiting_ready";
            break;
        case Step::InBatch:
        case Step::HandingOver:
            v.step = "in_batch";
            break;
        case Step::Watching:
        case Step::Removing:
        case Step::VerifyingReady:
            v.step = "watching";
            break;
        case Step::Done:
            v.step = "done";
            break;
    }
    // A slot whose board is away shows it, idle or with its last verdict.
    if (faulted_ && !busy()) {
        v.step = "faulted";
        v.fault = fault_;
    }
    v.led_color = led_.color;
    v.led_pattern = led_.pattern;
    v.led_freq_hz = led_.freq_hz;
    v.led_state = led_state_;
    v.discovered = discovered_;
    // A finished slot keeps showing its cycle time until it is reloaded.
    if (busy()) {
        v.elapsed_s = clock_.now_s() - unit_started_;
    } else if (step_ == Step::Done && unit_id_) {
        v.elapsed_s = step_started_ - unit_started_;
    }
    v.verdict = verdict_;
    v.reason = reason_;
    return v;
}

}  // namespace linestation::flow
