#include "app/line_assembly.hpp"

#include <Poco/Exception.h>
#include <Poco/Logger.h>

#include <algorithm>

#include "drivers/core/board_factory.hpp"
#include "station/cloud/tuya_client.hpp"
#include "station/vision/snapshot.hpp"

namespace linestation::app {

namespace {

drivers::CameraSettings camera_settings(const config::CameraConfig& camera) {
    drivers::CameraSettings settings;
    settings.source = camera.source;
    settings.width = camera.width;
    settings.height = camera.height;
    settings.fps = camera.fps;
    settings.exposure = camera.exposure;
    settings.gain = camera.gain;
    settings.white_balance_k = camera.white_balance_k;
    return settings;
}

constexpr const char* kConfigAccount = "config:";

std::string account_name(const config::CloudSettings& cloud) {
    return cloud.account_name.empty() ? kConfigAccount + cloud.uid : cloud.account_name;
}

// The store's row for a configured account, made on first use.
std::int64_t account_row(store::Store& store, const config::CloudSettings& cloud) {
    const std::string name = account_name(cloud);
    for (const auto& rec : store.cloud_accounts()) {
        if (rec.name == name) return rec.id;
    }
    return store.add_cloud_account(
        {0, name, cloud.endpoint, cloud.client_id, cloud.uid, "owner", "station config"});
}

// The accounts an admin added on the dashboard, their secrets read from where secret_ref
// says. One whose secret cannot be read is left out, said in the log (never the secret).
std::vector<config::CloudSettings> admin_accounts(const config::StationConfig& config,
                                                  store::Store& store) {
    std::vector<config::CloudSettings> out;
    auto& log = Poco::Logger::get("station");
    for (const auto& rec : store.cloud_accounts()) {
        if (rec.name.rfind(kConfigAccount, 0) == 0) continue;
        config::CloudSettings c;
        if (config.cloud) c = *config.cloud;  // quotas and API family as the station's
        c.account_name = rec.name;
        c.endpoint = rec.endpoint;
        c.client_id = rec.client_id;
        c.uid = rec.uid;
        try {
            c.secret = config::resolve_secret_ref(rec.name, rec.secret_ref);
        } catch (const config::ConfigError& e) {
            log.warning("cloud account %s not used: %s", rec.name, e.problem());
            continue;
        }
        log.information("cloud account %s (uid %s) from the dashboard", rec.name, rec.uid);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

CameraLedFeed::CameraLedFeed(const config::FixtureConfig& fixture, const config::Recipe* colors,
                             vision::CameraFeed::Opener open, const Clock& clock) {
    camera_ = std::make_unique<vision::CameraFeed>(std::move(open), clock);
    std::vector<vision::SlotRoi> rois;
    for (const auto& s : fixture.slots)
        rois.push_back({s.id, {s.led.x, s.led.y, s.led.w, s.led.h}});
    scanner_ = std::make_unique<vision::LedScanner>(rois, colors);
}

std::vector<vision::LedObservation> CameraLedFeed::poll(double now_s) {
    auto p = camera_->poll();
    if (p.frame) {
        camera_ok_ = true;
        last_frame_ = p.frame->image;
        return scanner_->process(p.frame->image, p.frame->t);
    }
    if (p.lost || p.ended) {
        camera_ok_ = false;
        return scanner_->camera_lost(now_s);
    }
    return {};
}

std::string CameraLedFeed::snapshot_png() {
    if (last_frame_.empty()) return {};
    const auto png = vision::snapshot_png(last_frame_, *scanner_);
    return std::string(png.begin(), png.end());
}

std::string CameraLedFeed::slot_crop_png(const std::string& slot) {
    if (last_frame_.empty()) return {};
    for (const auto& s : scanner_->slots()) {
        if (s.slot != slot) continue;
        const auto png = vision::slot_crop_png(last_frame_, s.roi);
        return std::string(png.begin(), png.end());
    }
    return {};
}

store::EvidenceRetention evidence_retention(const config::StationConfig& config) {
    store::EvidenceRetention kept;
    if (config.evidence.max_mb) {
        kept.max_bytes = static_cast<std::uint64_t>(*config.evidence.max_mb * 1024 * 1024);
    }
    if (config.evidence.max_days) {
        kept.max_age_ms = static_cast<std::int64_t>(*config.evidence.max_days * 24 * 3600 * 1000);
    }
    // Pictures never crowd out verdicts: in a store capped at N MB they keep to N/4.
    if (config.store_max_size_mb) {
        kept.max_bytes = std::min<std::uint64_t>(
            kept.max_bytes,
            static_cast<std::uint64_t>(*config.store_max_size_mb * 1024 * 1024 / 4));
    }
    return kept;
}

LineSetup line_setup(const config::StationConfig& config, store::Store& store) {
    LineSetup setup;
    setup.station_id = config.station_id;
    if (config.fixture_file) setup.fixture = config::load_fixture(*config.fixture_file);
    setup.recipes = config::load_recipes(config.recipes_dir);
    if (config.cloud) setup.clouds.push_back(*config.cloud);
    for (auto& c : admin_accounts(config, store)) setup.clouds.push_back(std::move(c));
    setup.wifi = config.wifi;
    setup.evidence = evidence_retention(config);
    for (const auto& [id, recipe] : setup.recipes) {
        if (recipe.flows.count("wired")) {
            setup.lan = LanPorts{config.lan.plain_port, config.lan.encrypted_port, config.lan.bind};
        }
    }
    return setup;
}

LineAssembly::LineAssembly(LineSetup setup, Clock& clock, store::Store& store)
    : setup_(std::move(setup)), clock_(clock), store_(store) {
    auto& log = Poco::Logger::get("station");
    boards_ = std::make_unique<drivers::FixtureBoards>(
        setup_.fixture, clock_,
        [&clock = clock_](const config::BoardConfig& b) { return drivers::open_board(b, &clock); },
        setup_.board_backoff,
        [&log](const std::string& board, bool healthy, const std::string& cause) {
            if (healthy) {
                log.information("board %s answers: its outputs are in their safe state", board);
            } else {
                log.error("board %s faulted (its slots are faulted until it is back): %s", board,
                          cause);
            }
        });
    boards_->probe_idle_boards(setup_.board_probe_idle_s);
    if (setup_.reopen_boards_in_background) boards_->reopen_in_background();
    if (!setup_.leds) {
        const config::Recipe* colors = nullptr;
        if (auto it = setup_.recipes.find(setup_.led_colors); it != setup_.recipes.end()) {
            colors = &it->second;
        } else if (!setup_.recipes.empty()) {
            colors = &setup_.recipes.begin()->second;
        }
        auto open = setup_.camera;
        if (!open) {
            open = [settings = camera_settings(setup_.fixture.camera)] {
                return drivers::open_frame_source(settings);
            };
        }
        camera_ = std::make_unique<CameraLedFeed>(setup_.fixture, colors, std::move(open), clock_);
    }
    for (const auto& c : setup_.clouds) {
        auto o = cloud::client_options(c);
        // Retry backoff on the line's clock: on virtual time it costs no wall time.
        o.pause = [&clock = clock_](double seconds) { clock.pause(seconds); };
        clients_.push_back(std::make_unique<cloud::TuyaClient>(o, clock_));
        accounts_.push_back({account_row(store_, c), account_name(c), c.uid, clients_.back().get(),
                             c.unbind_quota_per_account, c.unbind_quota_per_product});
    }
    if (setup_.lan) {
        try {
            lan_ = std::make_unique<flow::LanDiscovery>(clock_, setup_.lan->plain,
                                                        setup_.lan->encrypted, setup_.lan->bind);
        } catch (const Poco::Exception& e) {
            Poco::Logger::get("station").warning("LAN discovery off: UDP %d/%d: %s",
                                                 setup_.lan->plain, setup_.lan->encrypted,
                                                 e.displayText());
        }
    }
}

LineAssembly::~LineAssembly() = default;

std::unique_ptr<flow::Line> LineAssembly::make_line() {
    flow::LineParts parts;
    parts.clock = &clock_;
    parts.store = &store_;
    parts.fixture = setup_.fixture;
    parts.boards = boards_.get();
    parts.leds = setup_.leds ? setup_.leds : camera_.get();
    parts.screen = setup_.screen;
    parts.accounts = accounts_;
    parts.wifi = setup_.wifi;
    parts.recipes = setup_.recipes;
    parts.station_id = setup_.station_id;
    parts.lan = lan_.get();
    parts.background_handovers = setup_.background_handovers;
    parts.scan_serial = setup_.scan_serial;
    parts.scheduler = setup_.scheduler;
    parts.evidence = setup_.evidence;
    return std::make_unique<flow::Line>(std::move(parts));
}

std::map<std::string, drivers::DigitalOutput*> LineAssembly::boards() {
    std::map<std::string, drivers::DigitalOutput*> m;
    for (const auto& b : setup_.fixture.boards) m[b.id] = boards_->output(b.id);
    return m;
}

double LineAssembly::tick_s() const {
    return 1.0 / std::max(1.0, setup_.fixture.camera.fps);
}

namespace {
// Real time: a slow cloud must not hold the line (relays, LEDs, the web API).
LineSetup in_real_time(LineSetup setup) {
    setup.scheduler.background_cloud = true;
    setup.reopen_boards_in_background = true;
    setup.background_handovers = true;
    return setup;
}
}  // namespace

StationLine::StationLine(Runtime& runtime, LineSetup setup, Clock& clock, Hooks hooks)
    : runtime_(runtime), assembly_(in_real_time(std::move(setup)), clock, runtime.store()) {
    LineAttachment a;
    a.line = assembly_.make_line();
    if (hooks.on_verdict) a.line->on_verdict(std::move(hooks.on_verdict));
    a.clock = &clock;
    a.tick_s = assembly_.tick_s();
    a.before_tick = std::move(hooks.before_tick);
    a.after_tick = std::move(hooks.after_tick);
    runtime.attach_line(std::move(a));
}

StationLine::~StationLine() {
    runtime_.detach_line();
}

}  // namespace linestation::app
