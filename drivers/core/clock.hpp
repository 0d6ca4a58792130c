#pragma once
// One clock for the whole station. Everything that waits or stamps a time asks a Clock,
// so the virtual line can run a shift on virtual time, fast and deterministically. It sits
// in drivers/ because the lowest part that waits (a board's reopen backoff) lives here.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

namespace linestation {

class Clock {
  public:
    virtual ~Clock() = default;
    // Monotonic seconds since an arbitrary start; use for timeouts and durations.
    virtual double now_s() const = 0;
    // Unix epoch milliseconds (UTC); use for records in the store.
    virtual std::int64_t wall_ms() const = 0;
    // Waits `seconds` of this clock's time: what a driver's pacing (a board's pause
    // between commands, a frame gap) and a client's retry backoff wait on, so that on
    // virtual time they cost no wall time.
    virtual void pause(double seconds) const = 0;
};

class SystemClock final : public Clock {
  public:
    double now_s() const override {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    std::int64_t wall_ms() const override {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    void pause(double seconds) const override {
        if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    }
};

// Virtual time: moves only when told to. Wall time is a fixed epoch plus now_s().
class ManualClock final : public Clock {
  public:
    explicit ManualClock(std::int64_t epoch_ms = 1'800'000'000'000) : epoch_ms_(epoch_ms) {}
    double now_s() const override {
        std::lock_guard lock(mutex_);
        return now_s_;
    }
    std::int64_t wall_ms() const override {
        std::lock_guard lock(mutex_);
        return epoch_ms_ + static_cast<std::int64_t>(now_s_ * 1000.0);
    }
    void advance(double seconds) {
        std::lock_guard lock(mutex_);
        if (seconds > 0) now_s_ += seconds;
    }
    // Virtual time moves only by advance() and set(): a pause within a step of the
    // line is over at once (the twins it paces for live on the same clock).
    void pause(double) const override {}
    // Never goes backwards.
    void set(double seconds) {
        std::lock_guard lock(mutex_);
        if (seconds > now_s_) now_s_ = seconds;
    }

  private:
    mutable std::mutex mutex_;
    std::int64_t epoch_ms_;
    double now_s_ = 0;
};

}  // namespace linestation
