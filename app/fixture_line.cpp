#include "app/fixture_line.hpp"

#include "drivers/core/board_factory.hpp"
#include "station/cloud/tuya_client.hpp"
#include "station/flow/line.hpp"
#include "station/vision/snapshot.hpp"

namespace linestation::app {

CameraLedFeed::CameraLedFeed(const config::FixtureConfig& fixture, const config::Recipe* colors,
                             const Clock& clock) {
    drivers::CameraSettings settings;
    settings.source = fixture.camera.source;
    settings.width = fixture.camera.width;
    settings.height = fixture.camera.height;
    settings.fps = fixture.camera.fps;
    settings.exposure = fixture.camera.exposure;
    settings.gain = fixture.camera.gain;
    settings.white_balance_k = fixture.camera.white_balance_k;
    camera_ = std::make_unique<vision::CameraFeed>(
        [settings] { return drivers::open_frame_source(settings); }, clock);
    std::vector<vision::SlotRoi> rois;
    for (const auto& s : fixture.slots)
        rois.push_back({s.id, {s.led.x, s.led.y, s.led.w, s.led.h}});
    scanner_ = std::make_unique<vision::LedScanner>(rois, colors);
}

std::vector<vision::LedObservation> CameraLedFeed::poll(double now_s) {
    auto p = camera_->poll();
    if (p.frame) {
        last_frame_ = p.frame->image;
        return scanner_->process(p.frame->image, p.frame->t);
    }
    if (p.lost || p.ended) return scanner_->camera_lost(now_s);
    return {};
}

std::string CameraLedFeed::snapshot_png() {
    if (last_frame_.empty()) return {};
    const auto png = vision::snapshot_png(last_frame_, *scanner_);
    return std::string(png.begin(), png.end());
}

FixtureLine::FixtureLine(Runtime& runtime, const config::FixtureConfig& fixture,
                         std::map<std::string, config::Recipe> recipes)
    : runtime_(runtime) {
    const auto& config = runtime.config();
    flow::LineParts parts;
    parts.clock = &clock_;
    parts.store = &runtime.store();
    parts.fixture = fixture;
    for (const auto& b : fixture.boards) {
        boards_[b.id] = drivers::open_board(b);
        parts.boards[b.id] = boards_[b.id].get();
    }
    camera_ = std::make_unique<CameraLedFeed>(
        fixture, recipes.empty() ? nullptr : &recipes.begin()->second, clock_);
    parts.leds = camera_.get();
    parts.wifi = config.wifi;
    parts.station_id = config.station_id;
    if (config.cloud) {
        cloud::TuyaClientOptions o;
        o.endpoint = config.cloud->endpoint;
        o.client_id = config.cloud->client_id;
        o.secret = config.cloud->secret;
        cloud_ = std::make_unique<cloud::TuyaClient>(o, clock_);
        const std::string name = "config:" + config.cloud->uid;
        std::int64_t id = 0;
        for (std::int64_t i = 1; !id; ++i) {
            auto rec = runtime.store().cloud_account(i);
            if (!rec) break;
            if (rec->name == name) id = i;
        }
        if (!id) {
            id = runtime.store().add_cloud_account({0, name, config.cloud->endpoint,
                                                    config.cloud->client_id, config.cloud->uid,
                                                    "owner", "station config"});
        }
        parts.accounts.push_back({id, name, config.cloud->uid, cloud_.get(),
                                  config.cloud->unbind_quota_per_account,
                                  config.cloud->unbind_quota_per_product});
    }
    parts.recipes = std::move(recipes);
    LineAttachment a;
    a.line = std::make_unique<flow::Line>(std::move(parts));
    a.clock = &clock_;
    a.tick_s = 1.0 / std::max(1.0, fixture.camera.fps);
    runtime.attach_line(std::move(a));
}

FixtureLine::~FixtureLine() {
    runtime_.detach_line();
}

}  // namespace linestation::app
