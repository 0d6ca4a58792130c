#include "tests/web/test_line.hpp"

#include <chrono>

#include <opencv2/imgproc.hpp>

#include "station/vision/snapshot.hpp"
#include "web/live.hpp"

namespace linestation::testing {

namespace {
std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string reading_json(const SlotView& s) {
    std::string json = "{\"color\":\"" + s.led_color + "\",\"pattern\":\"" + s.led_pattern + "\"";
    if (s.led_freq_hz) json += ",\"freq_hz\":" + std::to_string(*s.led_freq_hz);
    return json + "}";
}

// The slot as a camera would see it: a dark fixture with the LED lit in its colour.
std::string crop_of(const SlotView& s) {
    cv::Mat frame(90, 120, CV_8UC3, cv::Scalar(30, 30, 30));
    const cv::Scalar bgr = s.led_color == "green" ? cv::Scalar(60, 220, 60)
                           : s.led_color == "red" ? cv::Scalar(40, 40, 230)
                                                  : cv::Scalar(70, 70, 70);
    cv::circle(frame, {60, 45}, 8, bgr, cv::FILLED);
    const auto png = vision::slot_crop_png(frame, {48, 33, 24, 24});
    return std::string(png.begin(), png.end());
}
}  // namespace

TestLine::TestLine(store::Store* store, std::vector<std::string> recipes, double step_every_s)
    : store_(store), recipes_(std::move(recipes)) {
    for (const char* name : {"A1", "A2", "A3", "A4"}) {
        SlotView s;
        s.slot = name;
        slots_.push_back(s);
    }
    if (step_every_s > 0) {
        ticker_ = std::thread([this, step_every_s] {
            while (!stopping_) {
                std::this_thread::sleep_for(std::chrono::duration<double>(step_every_s));
                step();
            }
        });
    }
}

TestLine::~TestLine() {
    stopping_ = true;
    if (ticker_.joinable()) ticker_.join();
}

HealthReport TestLine::health() {
    HealthReport h;
    h.version = "test";
    h.station_id = "station-1";
    h.store_ok = true;
    h.schema_version = 2;
    std::lock_guard lock(mutex_);
    h.camera_ok = camera_ok_;
    h.boards = boards_;
    for (const auto& b : boards_) h.boards_faulted += b.ok ? 0 : 1;
    return h;
}

void TestLine::set_fixture_health(bool camera_ok, std::vector<HealthReport::Board> boards) {
    std::lock_guard lock(mutex_);
    camera_ok_ = camera_ok;
    boards_ = std::move(boards);
}

std::vector<SlotView> TestLine::slots() {
    std::lock_guard lock(mutex_);
    return slots_;
}

BatchView TestLine::batch() {
    std::lock_guard lock(mutex_);
    auto b = batch_;
    if (b.batch_id) {
        b.left_bound = left_bound_;
        b.strays_removed = strays_removed_;
    }
    return b;
}

void TestLine::set_evidence_retention(store::EvidenceRetention retention) {
    std::lock_guard lock(mutex_);
    retention_ = retention;
}

void TestLine::set_left_bound(int left_bound, int strays_removed) {
    std::lock_guard lock(mutex_);
    left_bound_ = left_bound;
    strays_removed_ = strays_removed;
}

QrView TestLine::qr() {
    std::lock_guard lock(mutex_);
    QrView q;
    q.active = batch_.state == "running";
    if (q.active) {
        q.payload = payload_for(qr_generation_);
        q.expires_in_s = 240;
        q.devices_used = batch_.units_done;
        q.generation = qr_generation_;
    }
    return q;
}

std::int64_t TestLine::start_batch(const StartBatchRequest& request) {
    std::lock_guard lock(mutex_);
    calls_.push_back("start " + request.recipe + " by " + request.operator_login);
    if (batch_.state == "running") throw Refusal("batch_running", "a batch is already running");
    if (std::find(recipes_.begin(), recipes_.end(), request.recipe) == recipes_.end()) {
        throw Refusal("no_recipe", "no recipe \"" + request.recipe + "\"",
                      {{"recipe", request.recipe}});
    }
    std::int64_t id = 1;
    if (store_) {
        store::BatchRecord b;
        b.kind = request.kind;
        b.recipe = request.recipe;
        b.product_id = request.recipe;
        b.station_id = "station-1";
        b.operator_login = request.operator_login;
        b.started_ms = now_ms();
        b.software_version = "test-line";
        id = store_->start_batch(b);
    }
    audit(request.operator_login, "batch.start", "{\"batch\":" + std::to_string(id) + "}");
    batch_ = BatchView{};
    batch_serials_.clear();
    batch_.batch_id = id;
    batch_.kind = request.kind;
    batch_.recipe = request.recipe;
    batch_.state = "running";
    batch_.operator_login = request.operator_login;
    batch_.software_version = "test-line";
    ++qr_generation_;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        auto& s = slots_[i];
        s = SlotView{};
        s.slot = std::string("A") + std::to_string(i + 1);
        s.unit_serial = "SN-" + std::to_string(id) + "-" + s.slot;
        for (const auto& u : request.units) {
            if (u.slot == s.slot && u.serial) s.unit_serial = *u.serial;
        }
        if (s.unit_serial) batch_serials_.insert(*s.unit_serial);
        s.step = "resetting";
        s.led_color = "red";
        s.led_pattern = "steady";
        if (store_) {
            store::UnitRecord u;
            u.batch_id = id;
            u.serial = s.unit_serial;
            u.product_id = request.recipe;
            u.station_id = "station-1";
            u.slot = s.slot;
            u.started_ms = now_ms();
            s.unit_id = store_->begin_unit(u);
        }
        readings_[s.slot] = {reading_json(s)};
        publish_slot_locked(s);
    }
    publish("batch", web::batch_json(batch_));
    return id;
}

void TestLine::audit(const std::string& actor, const std::string& action,
                     const std::string& detail_json) {
    // As the station does: the line audits its own actions, once.
    if (store_) store_->audit(now_ms(), actor, action, detail_json);
}

void TestLine::stop_batch(const std::string& actor) {
    std::lock_guard lock(mutex_);
    calls_.push_back("stop by " + actor);
    if (batch_.state != "running") throw Refusal("no_batch", "no batch is running");
    audit(actor, "batch.stop", "{}");
    batch_.state = "done";
    publish("batch", web::batch_json(batch_));
}

void TestLine::abort_slot(const std::string& slot, const std::string& actor) {
    std::lock_guard lock(mutex_);
    calls_.push_back("abort " + slot + " by " + actor);
    audit(actor, "slot.abort", "{\"slot\":\"" + slot + "\"}");
    for (auto& s : slots_) {
        if (s.slot == slot && !s.verdict) finish_locked(s, "INTERRUPTED", "aborted by operator");
    }
}

void TestLine::load_unit(const UnitLoad& load, const std::string& actor) {
    std::lock_guard lock(mutex_);
    calls_.push_back("load " + load.slot + " " + load.serial.value_or("-") + " by " + actor);
    if (batch_.state != "running") throw Refusal("no_batch", "no batch is running");
    for (auto& s : slots_) {
        if (s.slot != load.slot) continue;
        if (!s.verdict)
            throw Refusal("slot_busy", "slot " + s.slot + " is busy", {{"slot", s.slot}});
        if (load.serial) {
            // Refused as the line refuses them: one unit in two slots, or twice in a batch.
            for (const auto& other : slots_) {
                if (other.unit_serial == load.serial && !other.verdict && other.step != "idle") {
                    throw Refusal("serial_in_slot",
                                  "unit " + *load.serial + " is already in slot " + other.slot,
                                  {{"serial", *load.serial}, {"slot", other.slot}});
                }
            }
            if (!batch_serials_.insert(*load.serial).second) {
                throw Refusal("serial_judged",
                              "unit " + *load.serial +
                                  " was already tested in this batch: re-test it in its slot "
                                  "instead",
                              {{"serial", *load.serial}});
            }
        }
        const auto name = s.slot;
        s = SlotView{};
        s.slot = name;
        s.unit_serial = load.serial;
        s.step = "resetting";
        publish_slot_locked(s);
    }
}

void TestLine::reload_slot(const std::string& slot, bool retest, const std::string& actor) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::string(retest ? "retest " : "reload ") + slot + " by " + actor);
    audit(actor, retest ? "slot.retest" : "slot.reload", "{\"slot\":\"" + slot + "\"}");
    for (auto& s : slots_) {
        if (s.slot != slot) continue;
        // The attempt recorded so far is over: its store row is not finished a second time
        // (an abort after a reload did, and the duplicate measurement failed the store).
        s.unit_id.reset();
        s.verdict.reset();
        s.reason.reset();
        s.step = retest ? "resetting" : "idle";
        publish_slot_locked(s);
    }
}

std::string TestLine::camera_snapshot_png() {
    // A 1x1 PNG: enough to prove the bytes pass through untouched.
    static const unsigned char kPng[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
        0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
        0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99,
        0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    return std::string(reinterpret_cast<const char*>(kPng), sizeof kPng);
}

int TestLine::subscribe(EventListener listener) {
    std::lock_guard lock(listeners_mutex_);
    listeners_[next_listener_] = std::move(listener);
    return next_listener_++;
}

void TestLine::unsubscribe(int id) {
    std::lock_guard lock(listeners_mutex_);
    listeners_.erase(id);
}

int TestLine::step() {
    std::lock_guard lock(mutex_);
    int moved = 0;
    for (auto& s : slots_) {
        if (s.verdict || s.step == "idle") continue;
        ++moved;
        s.elapsed_s += 1;
        if (s.step == "resetting") {
            s.step = "waiting_ready";
            s.led_color = "red";
            s.led_pattern = "blink";
            s.led_freq_hz = 2.0;
            readings_[s.slot].push_back(reading_json(s));
        } else if (s.step == "waiting_ready") {
            s.step = "in_batch";
            // Units whose serial starts with GW are wired gateways: found on the LAN, at an
            // address of the documentation range (RFC 5737) numbered by their slot.
            if (s.unit_serial && s.unit_serial->rfind("GW", 0) == 0) {
                s.discovered = DiscoveredDevice{*s.unit_serial, "192.0.2.1" + s.slot.substr(1)};
            }
            witness_locked(s, "ready");
        } else if (s.step == "in_batch") {
            s.step = "watching";
            s.led_color = "green";
            s.led_pattern = "blink";
            s.led_freq_hz = 0.33;
            readings_[s.slot].push_back(reading_json(s));
            witness_locked(s, "green");
        } else if (s.step == "watching") {
            // Units whose serial starts with BAD never come back: a FAIL with a reason.
            bool bad = s.unit_serial && s.unit_serial->rfind("BAD", 0) == 0;
            if (bad) {
                finish_locked(s, "FAIL", "never_ready_after_unbind");
            } else {
                s.led_color = "red";
                s.led_pattern = "blink";
                s.led_freq_hz = 2.0;
                readings_[s.slot].push_back(reading_json(s));
                finish_locked(s, "PASS", "");
            }
            continue;
        }
        publish_slot_locked(s);
    }
    return moved;
}

void TestLine::set_led(const std::string& slot, const std::string& color,
                       const std::string& pattern) {
    std::lock_guard lock(mutex_);
    for (auto& s : slots_) {
        if (s.slot != slot) continue;
        s.led_color = color;
        s.led_pattern = pattern;
        publish_slot_locked(s);
    }
}

std::string TestLine::payload_for(std::int64_t generation) {
    if (generation <= 1) return kQrPayload;
    auto digits = std::to_string(100 + generation % 900);
    return R"({"s":"LineStation-Test","p":"line-station-pass","t":"EUa1b2c3d4e)" + digits + "\"}";
}

void TestLine::rotate_qr() {
    std::lock_guard lock(mutex_);
    if (batch_.state != "running") return;
    ++qr_generation_;
    QrView q;
    q.active = true;
    q.generation = qr_generation_;
    q.devices_used = batch_.units_done;
    q.expires_in_s = 240;
    publish("qr", web::qr_meta_json(q));
}

std::vector<std::string> TestLine::calls() {
    std::lock_guard lock(mutex_);
    return calls_;
}

void TestLine::witness_locked(const SlotView& s, const std::string& moment) {
    if (!store_ || !s.unit_id) return;
    auto& timeline = readings_[s.slot];
    std::string led = reading_json(s);
    if (moment == "final") {
        std::string list;
        for (const auto& r : timeline) list += (list.empty() ? "" : ",") + r;
        led.pop_back();
        led += ",\"started_s\":0,\"timeline\":[" + list + "]}";
    }
    store_->add_evidence({*s.unit_id, moment, now_ms(), led, crop_of(s), std::nullopt, 0},
                         retention_, now_ms());
}

void TestLine::finish_locked(SlotView& s, const std::string& verdict, const std::string& reason) {
    // Data before display: the verdict is in the store before the screen hears of it.
    // One measurement with its limit, recorded as the controller records them.
    if (store_ && s.unit_id) {
        store_->finish_unit(*s.unit_id, verdict, reason, R"({"time_to_ready_s":12.5})", now_ms(),
                            {{"time_to_ready_s", 12.5, "s", std::nullopt, 45.0, "PASS"}});
        witness_locked(s, "final");
    }
    s.step = "done";
    s.verdict = verdict;
    if (!reason.empty()) s.reason = reason;
    ++batch_.units_done;
    if (verdict == "PASS") ++batch_.pass;
    if (verdict == "FAIL") ++batch_.fail;
    publish_slot_locked(s);
    publish("batch", web::batch_json(batch_));
}

void TestLine::publish_slot_locked(const SlotView& s) {
    // The LED timeline goes to the store like the controller's: the unit history draws it.
    if (store_ && s.unit_id) {
        store_->add_event(
            {0, *s.unit_id, now_ms(), "led",
             R"({"color":")" + s.led_color + R"(","pattern":")" + s.led_pattern + "\"}"});
    }
    publish("slot", web::slot_json(s));
}

void TestLine::publish(const std::string& topic, const std::string& json) {
    std::lock_guard lock(listeners_mutex_);
    for (auto& [id, listener] : listeners_) listener(StationEvent{topic, json});
}

}  // namespace linestation::testing
