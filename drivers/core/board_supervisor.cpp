#include "drivers/core/board_supervisor.hpp"

#include <algorithm>
#include <chrono>

namespace linestation::drivers {

BoardSupervisor::BoardSupervisor(std::string board, Opener open, const Clock& clock,
                                 Backoff backoff, OnChange on_change, int probe_channel,
                                 Restore restore)
    : board_(std::move(board)),
      open_(std::move(open)),
      clock_(clock),
      backoff_(backoff),
      on_change_(std::move(on_change)),
      probe_channel_(probe_channel),
      restore_(std::move(restore)) {
    auto opened = open_checked();
    std::lock_guard lock(mutex_);
    ++attempts_;
    take_locked(std::move(opened));
}

void BoardSupervisor::fault_locked(const std::string& cause) {
    output_.reset();
    cause_ = cause;
    delay_s_ =
        delay_s_ <= 0 ? backoff_.first_s : std::min(delay_s_ * backoff_.factor, backoff_.max_s);
    next_retry_s_ = clock_.now_s() + delay_s_;
    const bool changed = healthy_ || !reported_;
    healthy_ = false;
    reported_ = true;
    if (changed && on_change_) {
        try {
            on_change_(board_, false, cause_);
        } catch (...) {
            // A listener's failure must not take the board's supervision down with it.
        }
    }
}

BoardSupervisor::Opened BoardSupervisor::open_checked() const {
    Opened o;
    try {
        auto output = open_();
        output->get(probe_channel_);
        // Whatever the board kept or lost while it was away (a relay held by a press that
        // never got its release), nothing uses it before its outputs are safe again.
        if (restore_) restore_(*output);
        o.output = std::move(output);
    } catch (const std::exception& e) {
        o.error = e.what();
    } catch (...) {
        o.error = "unknown failure while opening";
    }
    return o;
}

void BoardSupervisor::take_locked(Opened opened) {
    if (!opened.output) {
        fault_locked(opened.error);
        return;
    }
    output_ = std::move(opened.output);
    last_used_s_ = clock_.now_s();
    const bool changed = !healthy_;
    healthy_ = true;
    reported_ = true;
    cause_.clear();
    delay_s_ = 0;
    if (changed && on_change_) {
        try {
            on_change_(board_, true, "");
        } catch (...) {
            // See fault_locked.
        }
    }
}

bool BoardSupervisor::run(const std::function<void(DigitalOutput&)>& command) noexcept {
    std::lock_guard lock(mutex_);
    if (!healthy_ || !output_) return false;
    try {
        command(*output_);
        last_used_s_ = clock_.now_s();
        return true;
    } catch (const std::exception& e) {
        fault_locked(e.what());
    } catch (...) {
        fault_locked("unknown failure");
    }
    return false;
}

bool BoardSupervisor::set(int channel, bool on) noexcept {
    return run([&](DigitalOutput& out) { out.set(channel, on); });
}

void BoardSupervisor::poll() noexcept {
    {
        std::lock_guard lock(mutex_);
        if (healthy_ || opening_ || clock_.now_s() < next_retry_s_) return;
        opening_ = true;
        ++attempts_;
    }
    auto opened = open_checked();
    std::lock_guard lock(mutex_);
    opening_ = false;
    take_locked(std::move(opened));
}

bool BoardSupervisor::probe_if_idle(double idle_s) noexcept {
    {
        std::lock_guard lock(mutex_);
        if (!healthy_ || idle_s <= 0 || clock_.now_s() - last_used_s_ < idle_s) return true;
    }
    return run([&](DigitalOutput& out) { out.get(probe_channel_); });
}

void SupervisedOutput::refused() const {
    throw DriverError(board_.board(), port_, "faulted (reopening with backoff): " + board_.cause());
}

void SupervisedOutput::set(int channel, bool on) {
    if (!board_.set(channel, on)) refused();
}

bool SupervisedOutput::get(int channel) {
    bool on = false;
    if (!board_.run([&](DigitalOutput& out) { on = out.get(channel); })) refused();
    return on;
}

bool BoardSupervisor::healthy() const {
    std::lock_guard lock(mutex_);
    return healthy_;
}

std::string BoardSupervisor::cause() const {
    std::lock_guard lock(mutex_);
    return cause_;
}

double BoardSupervisor::next_retry_s() const {
    std::lock_guard lock(mutex_);
    return next_retry_s_;
}

int BoardSupervisor::attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
}

std::vector<SafeOutput> safe_outputs(const config::FixtureConfig& fixture) {
    std::vector<SafeOutput> out;
    for (const auto& slot : fixture.slots) {
        if (slot.reset)
            out.push_back({slot.reset->board, slot.reset->channel, false, "reset of " + slot.id});
        if (slot.power) {
            out.push_back({slot.power->board, slot.power->channel,
                           slot.power_energized(slot.power_safe_on), "power of " + slot.id});
        }
    }
    return out;
}

FixtureBoards::FixtureBoards(
    const config::FixtureConfig& fixture, const Clock& clock,
    std::function<std::unique_ptr<DigitalOutput>(const config::BoardConfig&)> open, Backoff backoff,
    BoardSupervisor::OnChange on_change)
    : slots_(fixture.slots), safe_(safe_outputs(fixture)) {
    for (const auto& board : fixture.boards) {
        const int probe = board.driver == "usb-hub" ? 1 : 0;
        std::vector<SafeOutput> own;
        for (const auto& output : safe_) {
            if (output.board == board.id) own.push_back(output);
        }
        auto restore = [own](DigitalOutput& out) {
            for (const auto& o : own) out.set(o.channel, o.on);
        };
        auto supervisor = std::make_unique<BoardSupervisor>(
            board.id, [open, board] { return open(board); }, clock, backoff, on_change, probe,
            std::move(restore));
        outputs_.emplace(
            board.id, std::make_unique<SupervisedOutput>(*supervisor, board.port, board.channels));
        boards_.emplace(board.id, std::move(supervisor));
    }
}

FixtureBoards::~FixtureBoards() {
    if (reopening_.joinable()) {
        reopening_.request_stop();
        reopening_.join();
    }
    drive_safe_state();
}

DigitalOutput* FixtureBoards::output(const std::string& id) {
    auto it = outputs_.find(id);
    return it == outputs_.end() ? nullptr : it->second.get();
}

BoardSupervisor* FixtureBoards::board(const std::string& id) {
    auto it = boards_.find(id);
    return it == boards_.end() ? nullptr : it->second.get();
}

namespace {

const config::SlotConfig* find_slot(const std::vector<config::SlotConfig>& slots,
                                    const std::string& id) {
    for (const auto& s : slots) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

}  // namespace

bool FixtureBoards::press_reset(const std::string& slot, bool pressed) noexcept {
    const auto* s = find_slot(slots_, slot);
    if (!s || !s->reset) return false;
    auto* b = board(s->reset->board);
    return b && b->set(s->reset->channel, pressed);
}

bool FixtureBoards::set_power(const std::string& slot, bool on) noexcept {
    const auto* s = find_slot(slots_, slot);
    if (!s || !s->power) return false;
    auto* b = board(s->power->board);
    return b && b->set(s->power->channel, s->power_energized(on));
}

std::vector<std::string> FixtureBoards::drive_safe_state() noexcept {
    std::vector<std::string> failures;
    for (const auto& output : safe_) {
        auto* b = board(output.board);
        if (b && b->set(output.channel, output.on)) continue;
        failures.push_back(output.role + " (board " + output.board + " channel " +
                           std::to_string(output.channel) +
                           "): " + (b ? b->cause() : "no such board"));
    }
    return failures;
}

std::vector<std::string> FixtureBoards::faulted_slots() const {
    std::vector<std::string> out;
    const auto faulted = [&](const std::optional<config::ChannelRef>& ref) {
        if (!ref) return false;
        auto it = boards_.find(ref->board);
        return it == boards_.end() || !it->second->healthy();
    };
    for (const auto& slot : slots_) {
        if (faulted(slot.reset) || faulted(slot.power)) out.push_back(slot.id);
    }
    return out;
}

std::optional<std::string> FixtureBoards::slot_fault(const std::string& slot) const {
    const auto* s = find_slot(slots_, slot);
    if (!s) return std::nullopt;
    for (const auto* ref : {&s->reset, &s->power}) {
        if (!*ref) continue;
        auto it = boards_.find((*ref)->board);
        if (it == boards_.end()) return "board \"" + (*ref)->board + "\" is not in the fixture";
        if (!it->second->healthy())
            return "board " + it->first + " faulted: " + it->second->cause();
    }
    return std::nullopt;
}

std::vector<BoardHealth> FixtureBoards::health() const {
    std::vector<BoardHealth> out;
    for (const auto& [id, board] : boards_) {
        const bool healthy = board->healthy();
        out.push_back({id, healthy, healthy ? std::string{} : board->cause()});
    }
    return out;
}

void FixtureBoards::poll_now() noexcept {
    const double idle_s = probe_idle_s_;
    for (auto& [id, board] : boards_) {
        board->poll();
        board->probe_if_idle(idle_s);
    }
}

void FixtureBoards::poll() noexcept {
    if (!reopening_.joinable()) poll_now();
}

void FixtureBoards::reopen_in_background(int period_ms) {
    if (reopening_.joinable()) return;
    reopening_ = std::jthread([this, period_ms](std::stop_token stop) {
        while (!stop.stop_requested()) {
            poll_now();
            std::this_thread::sleep_for(std::chrono::milliseconds(period_ms));
        }
    });
}

}  // namespace linestation::drivers
