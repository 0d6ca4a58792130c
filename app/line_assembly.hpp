#pragma once
// The one place a line is assembled: from a fixture file, the recipes, cloud settings
// and a clock to the parts the controller runs on. A real station, the virtual line
// (`serve` without a config) and `simulate` all come through here; they differ only in
// what the fixture's ports and the cloud endpoint point at.
//   - boards: drivers::open_board (the real drivers) on the fixture's ports, under a
//     drivers::FixtureBoards supervision (a board down is faulted and reopened, never fatal);
//   - camera: a drivers::FrameSource (the fixture's camera, or one the caller hands in)
//     read by the station's own CameraFeed and LedScanner;
//   - cloud: cloud::TuyaClient over HTTP, one per configured account;
//   - LAN discovery: its UDP listener; the token's hand-over to a wired gateway as the
//     fixture's wired_handover says (drivers::LanHandover, over TCP);
//   - QR screen: the caller's, or the web page (qr.html).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/core/board_supervisor.hpp"
#include "drivers/core/digital_output.hpp"
#include "station/cloud/cloud.hpp"
#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/config/station_config.hpp"
#include "station/flow/lan_discovery.hpp"
#include "station/flow/line.hpp"
#include "station/flow/line_parts.hpp"
#include "station/runtime.hpp"
#include "station/store/store.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_scanner.hpp"

namespace linestation::app {

// The camera through the LED vision: one observation per decided change, and camera loss
// (never a stale state) while the camera is away.
class CameraLedFeed final : public flow::LedFeed {
  public:
    CameraLedFeed(const config::FixtureConfig& fixture, const config::Recipe* colors,
                  vision::CameraFeed::Opener open, const Clock& clock);
    std::vector<vision::LedObservation> poll(double now_s) override;
    std::string snapshot_png() override;
    std::string slot_crop_png(const std::string& slot) override;
    bool camera_ok() const override { return camera_ok_; }

  private:
    std::unique_ptr<vision::CameraFeed> camera_;
    std::unique_ptr<vision::LedScanner> scanner_;
    cv::Mat last_frame_;
    bool camera_ok_ = true;
};

struct LanPorts {
    int plain = 6666;  // Tuya's; 0 picks a free port (the virtual line, tests)
    int encrypted = 6667;
    std::string bind = "0.0.0.0";
};

// What a line is assembled from.
struct LineSetup {
    std::string station_id = "station-1";
    config::FixtureConfig fixture;
    std::map<std::string, config::Recipe> recipes;  // by product id
    // The product whose LED colour table the scanner reads with; empty: the first recipe.
    std::string led_colors;
    // How much camera evidence the store keeps (a quarter of a capped store at most).
    store::EvidenceRetention evidence;
    std::vector<config::CloudSettings> clouds;  // one client and account each
    config::WifiSettings wifi;
    // The camera; empty: the fixture's camera through drivers::open_frame_source.
    vision::CameraFeed::Opener camera;
    // LED states from somewhere other than a camera (the virtual line's vision-less runs:
    // simulate --no-vision, fast controller tests); null: the camera and the LED vision.
    flow::LedFeed* leds = nullptr;
    // Where the pairing code is shown; null: the web page (qr.html) is the screen.
    flow::QrScreen* screen = nullptr;
    // LAN discovery for wired devices; nullopt: no listener. A port that cannot be bound
    // is logged and leaves the line without one (wired units then fail not_discovered).
    std::optional<LanPorts> lan;
    // A wired unit's token is handed over on a worker of its own (real time), else inline.
    bool background_handovers = false;
    std::function<std::optional<std::string>(const std::string& slot)> scan_serial;
    // StationLine (real time) hands the cloud's calls to a worker thread; on virtual time
    // they run inline.
    flow::SchedulerOptions scheduler;
    // Faulted boards are reopened on a thread of their own (real time: a connect that hangs
    // must not hold the line); otherwise at each tick of the line, on its clock.
    bool reopen_boards_in_background = false;
    // How soon, and how often at most, a faulted board is tried again (station clock).
    drivers::Backoff board_backoff{0.5, 5.0, 2.0};
    // A board nothing has used this long is read once, so one that went away while idle
    // shows faulted (slots, health) before a unit needs it; 0: never.
    double board_probe_idle_s = 2.0;
};

// How much camera evidence the station config lets the store keep: its "evidence" section,
// the store's defaults for what it leaves out, and a quarter of a capped store at most.
store::EvidenceRetention evidence_retention(const config::StationConfig& config);

// The station's settings as a line setup (the fixture file, the recipes folder, the cloud
// section, Wi-Fi; LAN discovery on Tuya's ports when a recipe has a wired flow); the
// caller may then point the camera or the screen elsewhere.
LineSetup line_setup(const config::StationConfig& config, store::Store& store);

class LineAssembly {
  public:
    // Opens every board (one that cannot be opened is faulted, logged and retried: its
    // slots are faulted until it answers), the camera feed, the cloud clients and the LAN
    // listener, and records the cloud accounts in `store`. The boards' pacing and backoff
    // and the clients' retries wait on `clock`.
    LineAssembly(LineSetup setup, Clock& clock, store::Store& store);
    ~LineAssembly();
    LineAssembly(const LineAssembly&) = delete;
    LineAssembly& operator=(const LineAssembly&) = delete;

    // The controller on these parts; it must not outlive them (the assembly).
    std::unique_ptr<flow::Line> make_line();

    const config::FixtureConfig& fixture() const { return setup_.fixture; }
    // The boards as the slots drive them (through the supervision), by fixture board id.
    std::map<std::string, drivers::DigitalOutput*> boards();
    drivers::FixtureBoards& supervised_boards() { return *boards_; }
    const std::vector<flow::CloudAccount>& accounts() const { return accounts_; }
    flow::LanDiscovery* lan() { return lan_.get(); }
    // The camera's frame period: how often the line is ticked.
    double tick_s() const;

  private:
    LineSetup setup_;
    Clock& clock_;
    store::Store& store_;
    std::unique_ptr<drivers::FixtureBoards> boards_;
    std::unique_ptr<CameraLedFeed> camera_;
    std::vector<std::unique_ptr<cloud::Cloud>> clients_;
    std::vector<flow::CloudAccount> accounts_;
    std::unique_ptr<flow::LanDiscovery> lan_;
};

// An assembled line attached to the running station, ticked by it in real time (`serve`).
class StationLine {
  public:
    struct Hooks {
        std::function<void()> before_tick;  // under the line lock (the twins move)
        std::function<void()> after_tick;   // under the line lock (the virtual operator)
        std::function<void(const flow::UnitResult&)> on_verdict;
    };
    StationLine(Runtime& runtime, LineSetup setup, Clock& clock, Hooks hooks = {});
    ~StationLine();
    StationLine(const StationLine&) = delete;
    StationLine& operator=(const StationLine&) = delete;

    LineAssembly& assembly() { return assembly_; }

  private:
    Runtime& runtime_;
    LineAssembly assembly_;
};

}  // namespace linestation::app
