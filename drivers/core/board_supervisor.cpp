#include "drivers/core/board_supervisor.hpp"

#include <algorithm>

namespace linestation::drivers {

BoardSupervisor::BoardSupervisor(std::string board, Opener open, const Clock& clock,
                                 Backoff backoff, OnChange on_change, int probe_channel)
    : board_(std::move(board)),
      open_(std::move(open)),
      clock_(clock),
      backoff_(backoff),
      on_change_(std::move(on_change)),
      probe_channel_(probe_channel) {
    std::lock_guard lock(mutex_);
    try_open_locked();
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

void BoardSupervisor::try_open_locked() {
    ++attempts_;
    try {
        auto output = open_();
        output->get(probe_channel_);
        output_ = std::move(output);
    } catch (const std::exception& e) {
        fault_locked(e.what());
        return;
    } catch (...) {
        fault_locked("unknown failure while opening");
        return;
    }
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
    std::lock_guard lock(mutex_);
    if (healthy_ || clock_.now_s() < next_retry_s_) return;
    try_open_locked();
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
        boards_.emplace(board.id, std::make_unique<BoardSupervisor>(
                                      board.id, [open, board] { return open(board); }, clock,
                                      backoff, on_change, probe));
    }
    drive_safe_state();
}

FixtureBoards::~FixtureBoards() {
    drive_safe_state();
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

void FixtureBoards::poll() noexcept {
    for (auto& [id, board] : boards_) {
        if (board->healthy()) continue;
        board->poll();
        if (!board->healthy()) continue;
        // A board that comes back may have lost or kept anything: put its outputs safe.
        for (const auto& output : safe_) {
            if (output.board == id) board->set(output.channel, output.on);
        }
    }
}

}  // namespace linestation::drivers
