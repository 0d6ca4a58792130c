#pragma once
// A small virtual line with the real controller on it, on virtual time, for the tests.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

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
        vo.returned_units = o.returned_units;
        if (o.wired) {
            lan = std::make_unique<flow::LanDiscovery>(clock, 0, 0, "127.0.0.1");
            vo.wired = true;
            vo.lan_port = o.announce ? lan->encrypted_port() : 0;
        }
        vline = std::make_unique<virtual_line::VirtualLine>(clock, vo);
        flow::LineParts parts;
        parts.clock = &clock;
        parts.store = store.get();
        parts.fixture = vline->fixture();
        if (o.station_fixture) o.station_fixture(parts.fixture);
        parts.boards = vline->boards();
        parts.leds = &vline->leds();
        parts.screen = &vline->screen();
        parts.wifi = vo.wifi;
        parts.lan = lan.get();
        parts.wired_handover = [this](const std::string& id, const std::string& payload) {
            vline->hand_over(id, payload);
        };
        parts.recipes[recipe.product_id] = recipe;
        for (const auto& a : vline->accounts()) {
            auto id = store->add_cloud_account({0, a.uid, "virtual", a.uid, a.uid, "owner", ""});
            parts.accounts.push_back(
                {id, a.uid, a.uid, a.client, o.quota_per_account, o.quota_per_product});
        }
        line = std::make_unique<flow::Line>(std::move(parts));
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
            req.slots.push_back(s.id);
            auto serial = vline->load(s.id);
            req.serials.push_back(unscanned.count(s.id) ? std::string{} : serial);
        }
        line->start_batch(req);
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
    std::unique_ptr<flow::LanDiscovery> lan;
    std::unique_ptr<virtual_line::VirtualLine> vline;
    std::unique_ptr<flow::Line> line;
    std::vector<flow::UnitResult> results;
};

}  // namespace linestation::testing
