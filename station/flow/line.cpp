#include "station/flow/line.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <sstream>

#include "linestation/version.hpp"
#include "station/service_json.hpp"

namespace linestation::flow {

namespace {

std::string json_text(const Poco::JSON::Object& o) {
    std::ostringstream out;
    o.stringify(out);
    return out.str();
}

}  // namespace

Line::Line(LineParts parts) : parts_(std::move(parts)) {
    if (!parts_.clock || !parts_.store) throw std::invalid_argument("line: clock and store needed");
    scheduler_ = std::make_unique<QrScheduler>(*parts_.clock, *parts_.store, parts_.accounts,
                                               parts_.wifi, parts_.screen, parts_.scheduler);
    timeline_ = std::make_unique<Timeline>(*parts_.store);
    if (parts_.fixture.wired_handover) {
        handovers_ = std::make_unique<TokenHandovers>(*parts_.fixture.wired_handover,
                                                      parts_.background_handovers);
    }
    auto channel = [&](const std::optional<config::ChannelRef>& ref,
                       const std::string& slot) -> std::optional<SlotChannel> {
        if (!ref) return std::nullopt;
        auto* board = parts_.boards ? parts_.boards->output(ref->board) : nullptr;
        if (!board) {
            throw std::invalid_argument("slot " + slot + ": board \"" + ref->board +
                                        "\" is not attached");
        }
        return SlotChannel{board, ref->board, ref->channel};
    };
    for (const auto& s : parts_.fixture.slots) {
        SlotHardware hw{channel(s.reset, s.id), channel(s.power, s.id), s.power_safe_on,
                        s.power_wiring};
        auto f = std::make_unique<SlotFlow>(s.id, hw, *parts_.clock, *parts_.store, *scheduler_,
                                            *timeline_, parts_.station_id, parts_.lan);
        f->on_handover(handovers_.get());
        f->on_evidence([this](const EvidenceMoment& m) { keep_evidence(m); });
        f->on_change([this](const SlotView& v) { pending_.push_back({"slot", to_json(v)}); });
        f->on_finish([this](const UnitResult& r) {
            ++batch_.units_done;
            if (r.verdict == verdict::kPass) {
                ++batch_.pass;
            } else {
                ++batch_.fail;
            }
            finished_.push_back(r);
            pending_.push_back({"batch", to_json(batch_)});
        });
        flows_.push_back(std::move(f));
    }
}

void Line::keep_evidence(const EvidenceMoment& m) {
    try {
        store::EvidenceRecord e;
        e.unit_id = m.unit_id;
        e.moment = m.moment;
        e.t_ms = parts_.clock->wall_ms();
        e.led_json = m.led_json;
        if (parts_.leds) e.png = parts_.leds->slot_crop_png(m.slot);
        parts_.store->add_evidence(e, parts_.evidence, e.t_ms);
    } catch (const std::exception& ex) {
        Poco::Logger::get("station").warning("slot %s: evidence \"%s\" of unit %s not kept: %s",
                                             m.slot, m.moment, std::to_string(m.unit_id),
                                             std::string(ex.what()));
    }
}

std::vector<std::int64_t> Line::recover() {
    std::lock_guard lock(mutex_);
    // Relays first: a store that cannot be written (read-only, full) must not leave a reset
    // pressed or a unit powered on the way out.
    for (auto& f : flows_) {
        try {
            f->to_safe_state();
        } catch (const drivers::DriverError&) {
            // The board is down: the supervision drives its outputs safe when it is back.
        } catch (const std::exception&) {
            // The store refused the move's record; the relay moved all the same, and the
            // marks below meet the same store and report it.
        }
    }
    auto ids = parts_.store->mark_interrupted(parts_.clock->wall_ms(),
                                              "station restarted while the unit was in flight");
    // The timeline says so too, after whatever it recorded before the stop.
    for (auto id : ids) {
        timeline_->add({0, id, parts_.clock->wall_ms(), "flow",
                        R"({"verdict":"INTERRUPTED","reason":"station restarted"})"});
    }
    timeline_->flush();
    // The reservations the stop left open are settled by what the cloud says became of
    // them, asked off this thread once the codes shown before the stop have expired.
    LedgerRecoveryOptions ledger;
    ledger.background = parts_.scheduler.background_cloud;
    ledger.shared_quota = parts_.scheduler.shared_quota;
    ledger_ =
        std::make_unique<LedgerRecovery>(*parts_.clock, *parts_.store, parts_.accounts, ledger);
    held_.clear();
    watch_boards();
    return ids;
}

SlotFlow& Line::flow(const std::string& slot) {
    for (auto& f : flows_) {
        if (f->slot() == slot) return *f;
    }
    throw Refusal("no_slot", "no slot \"" + slot + "\" on this fixture", {{"slot", slot}});
}

std::int64_t Line::start_batch(const StartBatchRequest& request) {
    std::int64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        if (batch_.state == "running" || batch_.state == "stopping") {
            throw Refusal("batch_running", "a batch is already running");
        }
        auto r = parts_.recipes.find(request.recipe);
        if (r == parts_.recipes.end()) {
            throw Refusal("no_recipe", "no recipe \"" + request.recipe + "\"",
                          {{"recipe", request.recipe}});
        }
        if (request.kind != "unbind" && request.kind != "pre_activation" &&
            request.kind != "wired") {
            throw Refusal("bad_kind", "batch kind must be unbind, pre_activation or wired, got \"" +
                                          request.kind + "\"");
        }
        if (parts_.accounts.empty()) {
            // Without a cloud nothing can confirm an unbind or an activation: the LED's
            // green-then-ready is also what a refused activation shows.
            throw Refusal(
                "no_cloud",
                "no cloud account is configured: a " + request.kind +
                    " batch needs the cloud's confirmation (add a \"cloud\" section to the "
                    "station config)");
        }
        std::vector<UnitLoad> units = request.units;
        if (units.empty()) {
            for (const auto& f : flows_) units.push_back({f->slot(), std::nullopt});
        }
        std::vector<std::string> slots;
        std::vector<std::string> serials;
        for (const auto& u : units) {
            if (flow(u.slot).busy())
                throw Refusal("slot_busy", "slot " + u.slot + " is busy", {{"slot", u.slot}});
            if (std::find(slots.begin(), slots.end(), u.slot) != slots.end()) {
                throw Refusal("slot_twice", "slot " + u.slot + " is named twice",
                              {{"slot", u.slot}});
            }
            slots.push_back(u.slot);
            if (!u.serial) continue;
            if (u.serial->empty()) {
                throw Refusal("serial_empty", "slot " + u.slot + ": the serial is empty",
                              {{"slot", u.slot}});
            }
            if (std::find(serials.begin(), serials.end(), *u.serial) != serials.end()) {
                throw Refusal("serial_twice", "unit " + *u.serial + " is scanned into two slots",
                              {{"serial", *u.serial}});
            }
            serials.push_back(*u.serial);
        }
        if (flow_for(request.kind, r->second) == FlowKind::Wired && !handovers_) {
            // Tuya documents that the app sends a wired gateway its token over the LAN, but
            // not the frames; the fixture names the frame a gateway (or its adapter) takes.
            throw Refusal("no_wired_handover",
                          "this station cannot hand a pairing token to a wired device (" +
                              r->second.product_id + " pairs by wire; the fixture " +
                              parts_.fixture.name +
                              " has no \"wired_handover\"): a wired batch would fail every unit");
        }
        recipe_ = &r->second;
        kind_ = flow_for(request.kind, *recipe_);
        parts_.store->upsert_product({recipe_->product_id, recipe_->name, recipe_->category,
                                      config::to_string(recipe_->binding),
                                      recipe_->source.filename().string()});
        store::BatchRecord b;
        b.kind = request.kind;
        b.recipe = recipe_->product_id;
        b.product_id = recipe_->product_id;
        b.station_id = parts_.station_id;
        if (!request.operator_login.empty()) b.operator_login = request.operator_login;
        if (!parts_.accounts.empty()) b.cloud_account_id = parts_.accounts.front().store_id;
        b.started_ms = parts_.clock->wall_ms();
        b.software_version = kVersion;
        if (!recipe_->sha256.empty()) b.recipe_sha256 = recipe_->sha256;
        id = parts_.store->start_batch(b);
        batch_ = BatchView{};
        batch_.batch_id = id;
        batch_.kind = request.kind;
        batch_.recipe = recipe_->product_id;
        batch_.state = "running";
        if (!request.operator_login.empty()) batch_.operator_login = request.operator_login;
        batch_.software_version = b.software_version;
        batch_.recipe_sha256 = b.recipe_sha256;
        batch_slots_ = slots;
        batch_serials_.clear();
        // Audited here, once, where the actor and the batch are both known: the web part
        // that called does not audit line actions of its own.
        Poco::JSON::Object detail;
        detail.set("batch", id);
        detail.set("recipe", recipe_->product_id);
        detail.set("kind", request.kind);
        Poco::JSON::Array audited_slots;
        Poco::JSON::Array audited_units;
        for (const auto& u : units) {
            audited_slots.add(u.slot);
            Poco::JSON::Object one;
            one.set("slot", u.slot);
            if (u.serial) one.set("serial", *u.serial);
            audited_units.add(one);
        }
        detail.set("slots", audited_slots);
        detail.set("units", audited_units);
        parts_.store->audit(b.started_ms, request.operator_login, "batch.start", json_text(detail));
        pending_.push_back({"batch", to_json(batch_)});
        for (const auto& u : units) start_or_hold(flow(u.slot), u.serial);
    }
    flush_events();
    return id;
}

void Line::start_unit(SlotFlow& f, std::optional<std::string> serial,
                      const std::optional<store::UnitRecord>& retest_of) {
    if (!serial && parts_.scan_serial) serial = parts_.scan_serial(f.slot());
    if (serial) batch_serials_.insert(*serial);
    UnitOrder order;
    if (retest_of) {
        order.device_id = retest_of->device_id;
        order.attempt = retest_of->attempt + 1;
        order.retest_of = retest_of->id;
    }
    order.batch_id = batch_.batch_id;
    order.kind = *kind_;
    order.recipe = recipe_;
    order.serial = serial;
    order.operator_login = batch_.operator_login;
    f.start(order);
}

void Line::start_or_hold(SlotFlow& f, std::optional<std::string> serial) {
    if (!f.faulted()) {
        start_unit(f, std::move(serial));
        return;
    }
    if (serial) batch_serials_.insert(*serial);
    held_[f.slot()] = std::move(serial);
}

void Line::next_unit(const std::string& slot, std::optional<std::string> serial) {
    {
        std::lock_guard lock(mutex_);
        auto& f = flow(slot);
        if (batch_.state != "running" || f.busy()) return;
        if (std::find(batch_slots_.begin(), batch_slots_.end(), slot) == batch_slots_.end()) return;
        start_or_hold(f, std::move(serial));
    }
    flush_events();
}

void Line::load_unit(const UnitLoad& load, const std::string& actor) {
    {
        std::lock_guard lock(mutex_);
        auto& f = flow(load.slot);
        if (batch_.state != "running") {
            throw Refusal("no_batch", "no batch is running: start one to load units");
        }
        if (f.busy())
            throw Refusal("slot_busy", "slot " + load.slot + " is busy", {{"slot", load.slot}});
        if (load.serial) {
            if (load.serial->empty())
                throw Refusal("serial_empty", "the serial is empty", {{"slot", load.slot}});
            for (const auto& other : flows_) {
                if (other->busy() && other->view().unit_serial == load.serial) {
                    throw Refusal("serial_in_slot",
                                  "unit " + *load.serial + " is already in slot " + other->slot(),
                                  {{"serial", *load.serial}, {"slot", other->slot()}});
                }
            }
            // The same unit twice in one batch is a re-test, which keeps its identity and
            // history; a second load would count it as another unit.
            if (batch_serials_.count(*load.serial) != 0) {
                throw Refusal("serial_judged",
                              "unit " + *load.serial +
                                  " was already tested in this batch: re-test it in its slot "
                                  "instead",
                              {{"serial", *load.serial}});
            }
        }
        if (std::find(batch_slots_.begin(), batch_slots_.end(), load.slot) == batch_slots_.end()) {
            batch_slots_.push_back(load.slot);
        }
        Poco::JSON::Object detail;
        detail.set("slot", load.slot);
        detail.set("batch", batch_.batch_id.value_or(0));
        if (load.serial) detail.set("serial", *load.serial);
        parts_.store->audit(parts_.clock->wall_ms(), actor, "slot.load", json_text(detail));
        f.clear();
        start_or_hold(f, load.serial);
    }
    flush_events();
}

void Line::stop_batch(const std::string& actor) {
    {
        std::lock_guard lock(mutex_);
        if (batch_.state != "running") throw Refusal("no_batch", "no batch is running");
        parts_.store->audit(parts_.clock->wall_ms(), actor, "batch.stop",
                            "{\"batch\":" + std::to_string(batch_.batch_id.value_or(0)) + "}");
        batch_.state = "stopping";
        held_.clear();  // never started: nothing to finish
        scheduler_->sweep_now();
        pending_.push_back({"batch", to_json(batch_)});
    }
    tick();
}

void Line::begin_stop(const std::string& actor) {
    {
        std::lock_guard lock(mutex_);
        scheduler_->hold_for_stop();
        if (batch_.state == "running") {
            parts_.store->audit(parts_.clock->wall_ms(), actor, "batch.stop",
                                "{\"batch\":" + std::to_string(batch_.batch_id.value_or(0)) +
                                    ",\"why\":\"the station is stopping\"}");
            batch_.state = "stopping";
            pending_.push_back({"batch", to_json(batch_)});
        }
        held_.clear();
        for (auto& f : flows_) f->interrupt("the station was stopped while the unit was in flight");
    }
    tick();
}

bool Line::stop_settled() {
    std::lock_guard lock(mutex_);
    return scheduler_->stop_settled();
}

void Line::end_stop() {
    std::lock_guard lock(mutex_);
    scheduler_->end_stop();
}

void Line::abort_slot(const std::string& slot, const std::string& actor) {
    {
        std::lock_guard lock(mutex_);
        auto& f = flow(slot);
        if (!f.busy())
            throw Refusal("slot_idle", "slot " + slot + " has no unit in flight", {{"slot", slot}});
        Poco::JSON::Object detail;
        detail.set("slot", slot);
        parts_.store->audit(parts_.clock->wall_ms(), actor, "slot.abort", json_text(detail));
        f.abort(actor);
    }
    flush_events();
}

void Line::reload_slot(const std::string& slot, bool retest, const std::string& actor) {
    {
        std::lock_guard lock(mutex_);
        auto& f = flow(slot);
        if (f.busy()) throw Refusal("slot_busy", "slot " + slot + " is busy", {{"slot", slot}});
        if (retest && batch_.state != "running") {
            throw Refusal("no_batch", "no batch is running");
        }
        auto serial = f.view().unit_serial;
        const auto last = f.view().unit_id;
        // The same unit only: its identity comes from its own last attempt in this slot.
        const auto retested = retest && last ? parts_.store->unit(*last) : std::nullopt;
        f.clear();
        held_.erase(slot);
        Poco::JSON::Object detail;
        detail.set("slot", slot);
        detail.set("retest", retest);
        parts_.store->audit(parts_.clock->wall_ms(), actor, retest ? "slot.retest" : "slot.reload",
                            json_text(detail));
        if (retest) start_unit(f, serial, retested);
    }
    flush_events();
}

void Line::watch_boards() {
    if (!parts_.boards) return;
    parts_.boards->poll();
    for (auto& f : flows_) {
        const bool was_faulted = f->faulted();
        f->board_fault(parts_.boards->slot_fault(f->slot()));
        if (!was_faulted || f->faulted()) continue;
        auto held = held_.find(f->slot());
        if (held == held_.end()) continue;
        auto serial = std::move(held->second);
        held_.erase(held);
        if (batch_.state == "running" && !f->busy()) start_unit(*f, std::move(serial));
    }
}

Line::FixtureHealth Line::fixture_health() {
    std::lock_guard lock(mutex_);
    FixtureHealth h;
    if (parts_.leds) h.camera_ok = parts_.leds->camera_ok();
    if (parts_.boards) h.boards = parts_.boards->health();
    return h;
}

void Line::tick() {
    {
        std::lock_guard lock(mutex_);
        watch_boards();
        if (parts_.leds) {
            for (const auto& obs : parts_.leds->poll(parts_.clock->now_s())) {
                for (auto& f : flows_) {
                    if (f->slot() == obs.slot) f->observe(obs);
                }
            }
        }
        scheduler_->tick();
        if (ledger_) {
            ledger_->tick();
            if (ledger_->take_left_bound_found()) scheduler_->watch_left_bound();
        }
        if (handovers_) handovers_->tick();
        for (auto& f : flows_) f->tick();
        if (batch_.strays_removed != scheduler_->strays_removed() ||
            batch_.left_bound != scheduler_->left_bound()) {
            batch_.strays_removed = scheduler_->strays_removed();
            batch_.left_bound = scheduler_->left_bound();
            pending_.push_back({"batch", to_json(batch_)});
        }
        if (scheduler_->generation_id() != last_qr_generation_) {
            auto q = scheduler_->view();
            last_qr_generation_ = q.generation;
            pending_.push_back({"qr", to_json(q)});
        }
        if (batch_.state == "stopping" &&
            std::none_of(flows_.begin(), flows_.end(), [](auto& f) { return f->busy(); })) {
            batch_.state = "done";
            parts_.store->end_batch(*batch_.batch_id, parts_.clock->wall_ms(), "done");
            pending_.push_back({"batch", to_json(batch_)});
        }
    }
    flush_events();
}

void Line::flush_events() {
    std::vector<StationEvent> events;
    std::vector<UnitResult> results;
    {
        std::lock_guard lock(mutex_);
        timeline_->flush();
        events.swap(pending_);
        results.swap(finished_);
    }
    if (verdict_listener_) {
        for (const auto& r : results) verdict_listener_(r);
    }
    for (const auto& e : events) publish(e);
}

void Line::publish(const StationEvent& e) {
    std::lock_guard lock(listeners_mutex_);
    for (auto& [id, l] : listeners_) l(e);
}

int Line::subscribe(StationService::EventListener listener) {
    std::lock_guard lock(listeners_mutex_);
    listeners_[next_listener_] = std::move(listener);
    return next_listener_++;
}

void Line::unsubscribe(int id) {
    std::lock_guard lock(listeners_mutex_);
    listeners_.erase(id);
}

std::vector<SlotView> Line::slots() {
    std::lock_guard lock(mutex_);
    std::vector<SlotView> v;
    for (auto& f : flows_) v.push_back(f->view());
    return v;
}

BatchView Line::batch() {
    std::lock_guard lock(mutex_);
    return batch_;
}

QrView Line::qr() {
    std::lock_guard lock(mutex_);
    return scheduler_->view();
}

std::string Line::camera_snapshot_png() {
    std::lock_guard lock(mutex_);
    return parts_.leds ? parts_.leds->snapshot_png() : std::string{};
}

std::vector<std::string> Line::recipe_ids() const {
    std::vector<std::string> ids;
    for (const auto& [id, r] : parts_.recipes) ids.push_back(id);
    return ids;
}

std::vector<std::string> Line::batch_kinds(const std::string& recipe) const {
    auto r = parts_.recipes.find(recipe);
    if (r == parts_.recipes.end()) return {};
    std::vector<std::string> kinds;
    for (const char* kind : {"unbind", "pre_activation", "wired"}) {
        const auto flow = flow_for(kind, r->second);
        if (r->second.flows.count(to_string(flow)) == 0) continue;
        // A wired job this station cannot hand the token over for would fail every unit.
        if (flow == FlowKind::Wired && !handovers_) continue;
        if (std::string(kind) == "wired" || flow != FlowKind::Wired) kinds.push_back(kind);
    }
    return kinds;
}

std::optional<double> Line::release_due_s() {
    std::lock_guard lock(mutex_);
    std::optional<double> due;
    for (const auto& f : flows_) {
        if (auto d = f->release_due_s(); d && (!due || *d < *due)) due = d;
    }
    return due;
}

bool Line::slot_busy(const std::string& slot) {
    std::lock_guard lock(mutex_);
    return flow(slot).busy();
}

}  // namespace linestation::flow
