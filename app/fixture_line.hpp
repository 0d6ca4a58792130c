#pragma once
// The line on a real fixture (`station serve --config` with a fixture file): the boards
// opened by their drivers, the fixture's camera read by the LED vision, the configured
// cloud account through the Tuya OpenAPI client, and the web page as the QR screen.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drivers/core/digital_output.hpp"
#include "station/cloud/cloud.hpp"
#include "station/config/recipe.hpp"
#include "station/flow/line_parts.hpp"
#include "station/runtime.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_scanner.hpp"

namespace linestation::app {

// The fixture's camera through the LED vision: one observation per decided change, and
// camera loss (never a stale state) while the camera is away.
class CameraLedFeed final : public flow::LedFeed {
  public:
    CameraLedFeed(const config::FixtureConfig& fixture, const config::Recipe* colors,
                  const Clock& clock);
    std::vector<vision::LedObservation> poll(double now_s) override;
    std::string snapshot_png() override;

  private:
    std::unique_ptr<vision::CameraFeed> camera_;
    std::unique_ptr<vision::LedScanner> scanner_;
    cv::Mat last_frame_;
};

class FixtureLine {
  public:
    // Opens every board (a board that cannot be opened is a DriverError naming it) and
    // the camera, and attaches the line to `runtime`.
    FixtureLine(Runtime& runtime, const config::FixtureConfig& fixture,
                std::map<std::string, config::Recipe> recipes);
    ~FixtureLine();
    FixtureLine(const FixtureLine&) = delete;
    FixtureLine& operator=(const FixtureLine&) = delete;

  private:
    Runtime& runtime_;
    SystemClock clock_;
    std::map<std::string, std::unique_ptr<drivers::DigitalOutput>> boards_;
    std::unique_ptr<CameraLedFeed> camera_;
    std::unique_ptr<cloud::Cloud> cloud_;
};

}  // namespace linestation::app
