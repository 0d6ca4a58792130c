#pragma once
// The line: every slot's flow, the QR scheduler, the LED feed and the batch, ticked
// together on one clock. Implements the line operations of StationService.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drivers/core/board_supervisor.hpp"
#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/flow/ledger_recovery.hpp"
#include "station/flow/scheduler.hpp"
#include "station/flow/slot_flow.hpp"

namespace linestation::flow {

struct LineParts {
    Clock* clock = nullptr;
    store::Store* store = nullptr;
    config::FixtureConfig fixture;
    // The fixture's boards under supervision: every relay command goes through it, and a
    // slot whose board is faulted is faulted until the board is back.
    drivers::FixtureBoards* boards = nullptr;
    LedFeed* leds = nullptr;
    QrScreen* screen = nullptr;  // may be null (the web page is the screen)
    std::vector<CloudAccount> accounts;
    config::WifiSettings wifi;
    std::map<std::string, config::Recipe> recipes;  // by product id
    std::string station_id = "station-1";
    const LanDirectory* lan = nullptr;
    // A wired unit's token goes to the gateway found on the LAN as the fixture's
    // wired_handover says (none: wired batches are refused). Real time: on a worker of its
    // own; else inline (virtual time).
    bool background_handovers = false;
    // The barcode scanner: the serial of the unit in a slot, if it can be read.
    std::function<std::optional<std::string>(const std::string& slot)> scan_serial;
    SchedulerOptions scheduler;
    // How much of the verdicts' camera evidence the store keeps.
    store::EvidenceRetention evidence;
};

class Line {
  public:
    explicit Line(LineParts parts);

    // Start-up: units left in flight by a crash become INTERRUPTED (timelines kept) and
    // every relay goes to its safe state. Returns the interrupted unit ids.
    std::vector<std::int64_t> recover();

    std::int64_t start_batch(const StartBatchRequest& request);
    void stop_batch(const std::string& actor);
    // A new unit was loaded into a finished slot of the running batch. In a faulted slot it
    // waits for the slot's board to be back (a unit started there would only fail).
    void next_unit(const std::string& slot, std::optional<std::string> serial);
    // The operator loaded the next unit into a slot (audited with the actor); in a faulted
    // slot it waits for the board, as with next_unit.
    void load_unit(const UnitLoad& load, const std::string& actor);
    void abort_slot(const std::string& slot, const std::string& actor);
    void reload_slot(const std::string& slot, bool retest, const std::string& actor);

    // A clean stop (SIGTERM, `serve` stopping): the batch stops, every unit in flight is
    // INTERRUPTED at once (actuators safe, its verdict committed), and the quota they
    // reserved stays held until the cloud has said what became of each (ticks go on
    // meanwhile: stop_settled()) or end_stop() spends what it has not answered for. So the
    // stop settles its own reservations instead of leaving them to the next start.
    void begin_stop(const std::string& actor);
    bool stop_settled();
    void end_stop();

    // One step of the line at the clock's current time.
    void tick();

    std::vector<SlotView> slots();
    BatchView batch();
    QrView qr();
    std::vector<std::string> recipe_ids() const;
    std::vector<std::string> batch_kinds(const std::string& recipe) const;
    std::string camera_snapshot_png();
    bool slot_busy(const std::string& slot);
    // The earliest held reset due to end (SlotFlow::release_due_s), on the line's clock.
    std::optional<double> release_due_s();
    // The camera feed's and the boards' health now (the health report's part of the line).
    struct FixtureHealth {
        bool camera_ok = true;
        std::vector<drivers::BoardHealth> boards;
    };
    FixtureHealth fixture_health();
    const QrScheduler& scheduler() const { return *scheduler_; }

    // Called (without the line's lock) after each verdict is committed.
    void on_verdict(std::function<void(const UnitResult&)> f) { verdict_listener_ = std::move(f); }
    int subscribe(StationService::EventListener listener);
    void unsubscribe(int id);

  private:
    SlotFlow& flow(const std::string& slot);
    // `retest_of`: the slot's last unit, tested again: it keeps that unit's identity (its
    // label, and the device id the cloud named it by) and counts its next attempt.
    void start_unit(SlotFlow& f, std::optional<std::string> serial,
                    const std::optional<store::UnitRecord>& retest_of = std::nullopt);
    // Starts the unit, or holds it while the slot's board is faulted.
    void start_or_hold(SlotFlow& f, std::optional<std::string> serial);
    // Follows the board supervision: faults and recoveries into the slots, held units started.
    void watch_boards();
    void publish(const StationEvent& e);
    void flush_events();
    // Keeps a moment's crop of the slot with its LED reading (errors logged, never thrown:
    // a unit's verdict does not depend on its picture).
    void keep_evidence(const EvidenceMoment& m);
    std::string batch_json() const;

    LineParts parts_;
    std::recursive_mutex mutex_;
    std::unique_ptr<QrScheduler> scheduler_;
    std::unique_ptr<LedgerRecovery> ledger_;  // the reservations the last stop left open
    std::unique_ptr<Timeline> timeline_;
    std::vector<std::unique_ptr<SlotFlow>> flows_;
    // After flows_: destroyed first (its worker waits for the hand-over in flight, and what
    // comes back reaches a slot).
    std::unique_ptr<TokenHandovers> handovers_;
    BatchView batch_;
    std::optional<FlowKind> kind_;
    const config::Recipe* recipe_ = nullptr;
    std::vector<std::string> batch_slots_;
    // Units loaded into a faulted slot, started once its board is back.
    std::map<std::string, std::optional<std::string>> held_;
    std::set<std::string> batch_serials_;  // every unit label loaded in this batch
    std::vector<UnitResult> finished_;     // verdicts to announce after the lock is released
    std::vector<StationEvent> pending_;
    std::int64_t last_qr_generation_ = -1;
    std::mutex listeners_mutex_;
    std::map<int, StationService::EventListener> listeners_;
    int next_listener_ = 1;
    std::function<void(const UnitResult&)> verdict_listener_;
};

}  // namespace linestation::flow
