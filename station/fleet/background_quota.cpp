#include "station/fleet/background_quota.hpp"

#include <exception>
#include <vector>

namespace linestation::fleet {

BackgroundQuota::BackgroundQuota(QuotaGate& inner, BackgroundQuotaOptions options,
                                 store::Store* durable)
    : inner_(inner),
      options_(options),
      journal_(durable ? std::optional<QuotaLedger>(*durable) : std::nullopt),
      worker_([this] { run(); }) {}

BackgroundQuota::~BackgroundQuota() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

QuotaGrant BackgroundQuota::reserve(const QuotaRequest& request) {
    std::lock_guard lock(mutex_);
    const auto key = key_of(request);
    if (auto it = answered_.find(key); it != answered_.end()) {
        auto& answers = it->second;
        // A refusal or an unreachable fleet is a word about that moment: an old one is
        // asked again rather than failing a unit on a quota that may have come back.
        const auto now = std::chrono::steady_clock::now();
        while (!answers.empty() && answers.front().grant.answer != QuotaAnswer::Granted &&
               now - answers.front().at >= options_.room_fresh_for) {
            answers.pop_front();
        }
        if (!answers.empty()) {
            auto grant = answers.front().grant;
            answers.pop_front();
            return grant;
        }
    }
    if (!asking_[key]) {
        asking_[key] = true;
        jobs_.push_back(Ask{request});
        wake_.notify_all();
    }
    return {QuotaAnswer::Pending, ""};
}

void BackgroundQuota::settle(const std::string& reservation_id, bool spent) {
    {
        std::lock_guard lock(mutex_);
        if (journal_) {
            // On the line's thread, a local SQLite write: the fleet is not waited for.
            try {
                journal_->queue_settlement({reservation_id, spent ? 1 : 0});
            } catch (const std::exception&) {
                // The store failed: queued in memory only, as without a store; if the
                // process dies first, the sweeper expires the reservation as spent.
            }
        }
        jobs_.push_back(Settle{reservation_id, spent});
    }
    wake_.notify_all();
}

std::optional<bool> BackgroundQuota::has_room(const QuotaRequest& request) {
    std::lock_guard lock(mutex_);
    const auto key = key_of(request);
    std::optional<bool> last;
    bool fresh = false;
    if (auto it = room_.find(key); it != room_.end()) {
        last = it->second.room;
        fresh = std::chrono::steady_clock::now() - it->second.at < options_.room_fresh_for;
    }
    if (!fresh && !rooming_[key]) {
        rooming_[key] = true;
        jobs_.push_back(Room{request});
        wake_.notify_all();
    }
    return last;
}

int BackgroundQuota::outstanding() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(jobs_.size()) + (running_job_ ? 1 : 0);
}

void BackgroundQuota::give_back_unclaimed_locked(std::unique_lock<std::mutex>& lock, bool all) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> back;
    for (auto& [key, answers] : answered_) {
        while (!answers.empty() && (all || now - answers.front().at >= options_.unclaimed_after)) {
            if (answers.front().grant.answer == QuotaAnswer::Granted) {
                back.push_back(answers.front().grant.reservation_id);
            }
            answers.pop_front();
        }
    }
    if (back.empty()) return;
    lock.unlock();
    for (const auto& id : back) inner_.settle(id, /*spent=*/false);
    lock.lock();
}

void BackgroundQuota::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ || !jobs_.empty(); });
        give_back_unclaimed_locked(lock, false);
        if (jobs_.empty()) {
            if (stop_) break;
            if (!owed_ || std::chrono::steady_clock::now() < next_flush_) continue;
            jobs_.push_back(Flush{});
        }
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        // Stopping: settlements still go (the inner gate keeps what it cannot send), and
        // nobody waits for an answer any more.
        if (stop_ && !std::holds_alternative<Settle>(job)) continue;
        running_job_ = true;
        lock.unlock();
        QuotaGrant grant{QuotaAnswer::Unreachable, ""};
        std::optional<bool> room;
        bool flushed = false;
        try {
            if (auto* ask = std::get_if<Ask>(&job)) {
                grant = inner_.reserve(ask->request);
            } else if (auto* r = std::get_if<Room>(&job)) {
                room = inner_.has_room(r->request);
            } else if (std::holds_alternative<Flush>(job)) {
                flushed = inner_.flush();
            } else {
                const auto& s = std::get<Settle>(job);
                inner_.settle(s.reservation_id, s.spent);
            }
        } catch (const std::exception&) {
            // The gate could not answer (its store failed): the slot is told the fleet is
            // unreachable and waits; a settlement lost here is expired by the sweeper.
        }
        lock.lock();
        running_job_ = false;
        const auto now = std::chrono::steady_clock::now();
        if (auto* ask = std::get_if<Ask>(&job)) {
            const auto key = key_of(ask->request);
            asking_[key] = false;
            answered_[key].push_back({grant, now});
        } else if (auto* r = std::get_if<Room>(&job)) {
            const auto key = key_of(r->request);
            rooming_[key] = false;
            room_[key] = {room, now};
        } else {
            // A settlement the fleet did not take stays owed in the inner gate: sent again
            // when idle, even if no unit comes to reserve.
            owed_ = std::holds_alternative<Settle>(job) || !flushed;
            next_flush_ = now + options_.flush_every;
        }
    }
    give_back_unclaimed_locked(lock, true);
}

}  // namespace linestation::fleet
