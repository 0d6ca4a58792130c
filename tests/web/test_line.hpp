#pragma once
// A small line for testing the web part without the controller: four slots that walk
// through the real steps (resetting, waiting_ready, in_batch, watching, done) when told
// to (or on a timer), record their attempts in the store like the controller does, and
// publish the same live events. A serial starting BAD fails; one starting GW is a wired
// gateway the LAN found (SlotView::discovered). Test code only; the product uses the
// controller.

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "station/service.hpp"
#include "station/store/store.hpp"

namespace linestation::testing {

class TestLine : public StationService {
  public:
    // `store` may be null (no records). `step_every_s` > 0 walks the slots on a timer.
    TestLine(store::Store* store, std::vector<std::string> recipes, double step_every_s = 0);
    ~TestLine() override;

    HealthReport health() override;
    std::vector<SlotView> slots() override;
    BatchView batch() override;
    QrView qr() override;
    std::vector<std::string> recipes() override { return recipes_; }
    std::int64_t start_batch(const StartBatchRequest& request) override;
    void stop_batch(const std::string& actor) override;
    void abort_slot(const std::string& slot, const std::string& actor) override;
    void load_unit(const UnitLoad& load, const std::string& actor) override;
    void reload_slot(const std::string& slot, bool retest, const std::string& actor) override;
    std::string camera_snapshot_png() override;
    int subscribe(EventListener listener) override;
    void unsubscribe(int id) override;

    // Moves every busy slot one step on; returns how many moved.
    int step();
    // Changes one slot's LED and publishes it (live-update tests and benchmarks).
    void set_led(const std::string& slot, const std::string& color, const std::string& pattern);
    std::vector<std::string> calls();
    // What health() reports of the camera and the boards (a test sets a fault).
    void set_fixture_health(bool camera_ok, std::vector<HealthReport::Board> boards);
    // What batch() reports of devices left bound to the station's account and of re-pairs
    // removed again (the controller's scheduler counts them; the pages only show them).
    void set_left_bound(int left_bound, int strays_removed);
    // How much of the crops the store keeps (the controller's LineParts::evidence).
    void set_evidence_retention(store::EvidenceRetention retention);
    // Replaces the running batch's code by a new one (as the scheduler does before
    // expiry) and announces it.
    void rotate_qr();
    // The payload of code generation `g`: kQrPayload for the first, then new tokens.
    static std::string payload_for(std::int64_t generation);
    static constexpr const char* kQrPayload =
        R"({"s":"LineStation-Test","p":"line-station-pass","t":"EUa1b2c3d4e5f6"})";

  private:
    void publish(const std::string& topic, const std::string& json);
    void audit(const std::string& actor, const std::string& action, const std::string& detail_json);
    void publish_slot_locked(const SlotView& s);
    void finish_locked(SlotView& s, const std::string& verdict, const std::string& reason);
    // Keeps the slot's crop and LED reading as the controller's evidence (ready, green, final).
    void witness_locked(const SlotView& s, const std::string& moment);

    store::Store* store_;
    std::vector<std::string> recipes_;
    std::mutex mutex_;
    bool camera_ok_ = true;
    std::vector<HealthReport::Board> boards_;
    std::vector<SlotView> slots_;
    std::map<std::string, std::vector<std::string>> readings_;  // slot -> this unit's LED readings
    BatchView batch_;
    int left_bound_ = 0, strays_removed_ = 0;
    store::EvidenceRetention retention_;
    std::set<std::string> batch_serials_;  // every unit label loaded in this batch
    std::int64_t qr_generation_ = 0;
    std::vector<std::string> calls_;
    std::map<int, EventListener> listeners_;
    std::mutex listeners_mutex_;
    int next_listener_ = 1;
    std::atomic<bool> stopping_{false};
    std::thread ticker_;
};

}  // namespace linestation::testing
