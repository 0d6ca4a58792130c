#include "app/demo_line.hpp"

namespace linestation::app {

DemoLine::DemoLine(Runtime& runtime, const config::FixtureConfig& fixture,
                   const std::map<std::string, config::Recipe>& recipes, double load_s,
                   fleet::StationFleet* fleet)
    : runtime_(runtime), load_s_(load_s) {
    virtual_line::VirtualLineOptions vo;
    vo.fixture = fixture;
    vo.seed = static_cast<std::uint64_t>(clock_.wall_ms());
    vo.wifi = runtime.config().wifi;
    // The devices on the virtual line are IP cameras, labelled as their recipe says.
    if (auto camera = recipes.find(vo.product); camera != recipes.end()) {
        vo.label = config::to_string(camera->second.label);
    }
    twins_ = std::make_unique<virtual_line::VirtualLine>(clock_, vo);
    for (const auto& s : twins_->fixture().slots) twins_->load(s.id);

    LineSetup setup;
    setup.station_id = runtime.config().station_id;
    setup.fixture = twins_->fixture();
    setup.recipes = recipes;
    setup.evidence = evidence_retention(runtime.config());
    // The devices on the virtual line are IP cameras; the scanner reads their colours.
    setup.led_colors = vo.product;
    setup.clouds = twins_->cloud_accounts();
    setup.wifi = vo.wifi;
    if (fleet) {
        setup.scheduler.shared_quota = &fleet->quota();
        setup.scheduler.quota_day = fleet->day_function();
    }
    setup.camera = [this] { return twins_->open_camera(); };
    screen_ = std::make_unique<TwinScreen>(twins_->screen());
    setup.screen = screen_.get();
    // The virtual barcode scanner reads the device's serial off its label.
    setup.scan_serial = [this](const std::string& slot) -> std::optional<std::string> {
        return twins_->label(slot);
    };
    // Wired gateways (a wired recipe's batch) are heard on loopback and take their token
    // over TCP on the port the twins put in the fixture.
    setup.lan = LanPorts{0, 0, "127.0.0.1"};
    StationLine::Hooks hooks;
    hooks.before_tick = [this] { twins_->step(); };
    hooks.on_verdict = [this](const flow::UnitResult& r) {
        std::lock_guard lock(mutex_);
        loads_.emplace_back(clock_.now_s() + load_s_, r.slot);
    };
    hooks.after_tick = [this] {
        std::deque<std::pair<double, std::string>> due;
        {
            std::lock_guard lock(mutex_);
            while (!loads_.empty() && loads_.front().first <= clock_.now_s()) {
                due.push_back(loads_.front());
                loads_.pop_front();
            }
        }
        for (const auto& [t, slot] : due) {
            const auto serial = twins_->load(slot);
            runtime_.with_line([&](flow::Line& l) { l.next_unit(slot, serial); });
        }
    };
    station_ = std::make_unique<StationLine>(runtime, std::move(setup), clock_, std::move(hooks));
    if (auto* lan = station_->assembly().lan()) twins_->announce_to(lan->encrypted_port());
}

DemoLine::~DemoLine() {
    station_.reset();
}

}  // namespace linestation::app
