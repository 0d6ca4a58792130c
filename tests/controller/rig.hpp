#pragma once
// A small virtual line with the station assembled on it (app/line_assembly: real drivers
// over TCP to the board twins, the cloud over HTTP), on virtual time, for the tests. The
// LEDs are reported straight from the devices' programs (no camera) unless `vision`.

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "app/line_assembly.hpp"
#include "app/twin_parts.hpp"
#include "fixtures/virtual/line/virtual_line.hpp"
#include "station/config/recipe.hpp"
#include "station/config/station_config.hpp"
#include "station/flow/lan_discovery.hpp"
#include "station/flow/line.hpp"
#include "tests/common/temp_dir.hpp"

namespace linestation::testing {

struct RigOptions {
    int slots = 1;
    std::map<std::string, double> kinds{{"good", 1.0}};
    int accounts = 1;
    int quota_per_account = 1000;
    int quota_per_product = 1000;
    bool returned_units = true;
    std::string recipe = "tuya-ipc-camera.json";
    std::function<void(config::Recipe&)> adjust;
    // Changes the fixture as the station reads it (not as the virtual line is wired).
    std::function<void(config::FixtureConfig&)> station_fixture;
    bool wired = false;  // gateways found on the LAN by a real UDP listener on loopback
    bool announce = true;
    bool vision = false;  // the camera twin's frames through the station's LED vision
    // The fixture has its wired_handover (the twins' gateways take the token over TCP);
    // false: a fixture without one, as a real rig's.
    bool handover = true;
    // The cloud accounts as an admin adds them on the dashboard (the store keeps a
    // secret_ref naming an environment variable) instead of the station config's.
    bool admin_accounts = false;
    // Runs on the twins before the station is assembled on them (a board down at start).
    std::function<void(virtual_line::VirtualLine&)> before_station;
    // Stands between the camera twin and the station (a camera that misbehaves).
    std::function<std::unique_ptr<drivers::FrameSource>(std::unique_ptr<drivers::FrameSource>)>
        camera;
    // Changes the cloud accounts as the station reads them (endpoint, secret, ...).
    std::function<void(std::vector<config::CloudSettings>&)> station_clouds;
};

struct Rig {
    explicit Rig(RigOptions o = {}) : options(o) {
        recipe = config::load_recipe(config::default_station_config().recipes_dir / o.recipe);
        if (o.adjust) o.adjust(recipe);
        store = std::make_unique<store::Store>(dir / "station.db");
        virtual_line::VirtualLineOptions vo;
        vo.fixture = virtual_line::virtual_fixture(o.slots);
        vo.mix.kinds = o.kinds;
        vo.mix.accounts = o.accounts;
        vo.mix.quota_per_account = o.quota_per_account;
        vo.mix.quota_per_product = o.quota_per_product;
        vo.product = recipe.product_id;
        vo.label = config::to_string(recipe.label);
        vo.returned_units = o.returned_units;
        vo.wired = o.wired;
        vline = std::make_unique<virtual_line::VirtualLine>(clock, vo);
        app::LineSetup setup;
        setup.fixture = vline->fixture();
        if (!o.handover) setup.fixture.wired_handover.reset();
        if (o.station_fixture) o.station_fixture(setup.fixture);
        setup.recipes[recipe.product_id] = recipe;
        setup.led_colors = recipe.product_id;
        setup.clouds = vline->cloud_accounts();
        if (o.admin_accounts) setup.clouds = added_by_admin(setup.clouds);
        if (o.station_clouds) o.station_clouds(setup.clouds);
        setup.wifi = vo.wifi;
        setup.camera = [this] {
            auto source = vline->open_camera();
            return options.camera ? options.camera(std::move(source)) : std::move(source);
        };
        if (o.before_station) o.before_station(*vline);
        programs = std::make_unique<app::TwinLedPrograms>(*vline);
        if (!o.vision) setup.leds = programs.get();
        screen = std::make_unique<app::TwinScreen>(vline->screen());
        setup.screen = screen.get();
        // Gateways are found on the LAN by a real UDP listener on loopback.
        if (o.wired) setup.lan = app::LanPorts{0, 0, "127.0.0.1"};
        assembly = std::make_unique<app::LineAssembly>(std::move(setup), clock, *store);
        lan = assembly->lan();
        if (lan && o.announce) vline->announce_to(lan->encrypted_port());
        line = assembly->make_line();
        line->on_verdict([this](const flow::UnitResult& r) { results.push_back(r); });
        line->recover();  // start-up: relays to their safe state (power on)
    }

    // Loads a device into every slot and starts a batch of `kind`. Slots in `unscanned`
    // get their device but no serial (the operator did not scan it).
    void start(const std::string& kind = "unbind", const std::set<std::string>& unscanned = {}) {
        StartBatchRequest req;
        req.kind = kind;
        req.recipe = recipe.product_id;
        req.operator_login = "tester";
        for (const auto& s : vline->fixture().slots) {
            auto serial = vline->load(s.id);
            req.units.push_back(
                {s.id, unscanned.count(s.id) ? std::nullopt : std::optional<std::string>(serial)});
        }
        line->start_batch(req);
    }

    // Each twin account into the store as the dashboard adds it, its secret in an
    // environment variable; then read back the way `serve` reads them.
    std::vector<config::CloudSettings> added_by_admin(const std::vector<config::CloudSettings>& c) {
        for (std::size_t i = 0; i < c.size(); ++i) {
            const auto var = "LS_RIG_SECRET_" + std::to_string(i);
            ::setenv(var.c_str(), c[i].secret.c_str(), 1);
            store->add_cloud_account({0, "line-" + std::to_string(i), c[i].endpoint, c[i].client_id,
                                      c[i].uid, "owner", "env:" + var});
        }
        config::StationConfig config = config::default_station_config();
        return app::line_setup(config, *store).clouds;
    }

    // Runs at 10 fps until `n` verdicts are in (or `limit_s` of virtual time passes).
    void run_until(std::size_t n, double limit_s = 1200) {
        const double end = clock.now_s() + limit_s;
        while (results.size() < n && clock.now_s() < end) step();
    }
    void step() {
        clock.advance(0.1);
        vline->step();
        if (lan) {
            // Give the listener thread (real time) the chance to take in what the virtual
            // gateways just broadcast (virtual time).
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        line->tick();
    }

    RigOptions options;
    TempDir dir;
    ManualClock clock;
    config::Recipe recipe;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<virtual_line::VirtualLine> vline;
    std::unique_ptr<app::TwinLedPrograms> programs;
    std::unique_ptr<app::TwinScreen> screen;
    std::unique_ptr<app::LineAssembly> assembly;
    flow::LanDiscovery* lan = nullptr;
    std::unique_ptr<flow::Line> line;
    std::vector<flow::UnitResult> results;
};

}  // namespace linestation::testing
