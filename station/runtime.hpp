#pragma once
// The running station: its configuration, its store and its line. Implements the
// service interface the web part talks to; the line operations go to the attached line,
// which a thread here ticks in real time.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "station/clock/clock.hpp"
#include "station/config/station_config.hpp"
#include "station/flow/line.hpp"
#include "station/service.hpp"
#include "station/store/store.hpp"

namespace linestation {

struct LineAttachment {
    std::unique_ptr<flow::Line> line;
    Clock* clock = nullptr;
    // Runs before each tick under the line lock (the virtual line moves its devices).
    std::function<void()> before_tick;
    // Runs after each tick under the line lock (the virtual operator loads units).
    std::function<void()> after_tick;
    double tick_s = 0.1;  // the camera's frame period
    // How long a clean stop waits for the cloud's word on the units it interrupted before it
    // spends what is still unknown (on the line's clock and in real time, whichever ends
    // first).
    double stop_settle_s = 20;
};

class Runtime : public StationService {
  public:
    explicit Runtime(config::StationConfig config);
    ~Runtime() override;

    HealthReport health() override;

    const config::StationConfig& config() const { return config_; }
    store::Store& store() { return *store_; }

    // Recovers the store (in-flight units INTERRUPTED, relays safe) and starts ticking.
    void attach_line(LineAttachment attachment);
    void detach_line();
    // Runs `f` with the line locked (no tick in between); for the virtual operator.
    void with_line(const std::function<void(flow::Line&)>& f);

    std::vector<SlotView> slots() override;
    BatchView batch() override;
    QrView qr() override;
    std::vector<std::string> recipes() override;
    std::vector<std::string> batch_kinds(const std::string& recipe) override;
    std::int64_t start_batch(const StartBatchRequest& request) override;
    void stop_batch(const std::string& actor) override;
    void abort_slot(const std::string& slot, const std::string& actor) override;
    void load_unit(const UnitLoad& load, const std::string& actor) override;
    void reload_slot(const std::string& slot, bool retest, const std::string& actor) override;
    std::string camera_snapshot_png() override;
    int subscribe(EventListener listener) override;
    void unsubscribe(int id) override;

  private:
    flow::Line& line();
    void run(std::stop_token stop);
    // A unit may only be admitted while its records can be committed.
    void require_writable_store();
    // A write the store refused: from now on no unit is admitted, until a probe write
    // (an audit row) commits again. Other errors are left to the caller.
    bool note_store_failure(const std::exception& e);
    void probe_store();

    config::StationConfig config_;
    std::unique_ptr<store::Store> store_;
    std::mutex store_fault_mutex_;
    std::string store_fault_;  // why the store cannot be written; empty: it can
    std::chrono::steady_clock::time_point next_store_probe_;
    std::chrono::steady_clock::time_point started_;
    std::recursive_mutex line_mutex_;
    LineAttachment attachment_;
    std::jthread ticker_;
};

}  // namespace linestation
