#pragma once
// All slots of one camera: each slot's ROI measured per frame and tracked over time.

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "station/config/recipe.hpp"
#include "station/vision/led_color.hpp"
#include "station/vision/led_observation.hpp"
#include "station/vision/led_tracker.hpp"

namespace linestation::vision {

struct SlotRoi {
    std::string slot;
    RoiRect roi;
};

// "A1=60,120,24,24" -> SlotRoi; throws std::invalid_argument naming what is wrong.
SlotRoi parse_slot_roi(const std::string& text);

class LedScanner {
  public:
    // With a recipe: its colours, its LED table for states and holds; `options` overrides
    // the holds when given.
    LedScanner(std::vector<SlotRoi> slots, const config::Recipe* recipe = nullptr,
               std::optional<TrackerOptions> options = std::nullopt);

    // One frame captured at `t`: the observations that changed, in slot order.
    std::vector<LedObservation> process(const cv::Mat& bgr, double t);
    // The camera delivers nothing: every slot says so (once).
    std::vector<LedObservation> camera_lost(double t);

    const std::vector<SlotRoi>& slots() const { return slots_; }
    const LedObservation& current(std::size_t slot) const { return trackers_[slot].current(); }
    LedColor frame_color(std::size_t slot) const { return trackers_[slot].frame_color(); }

  private:
    std::vector<SlotRoi> slots_;
    std::unique_ptr<ColorTable> colors_;  // trackers keep a reference: stable address
    std::vector<LedTracker> trackers_;
};

// One `station led-scan` line (docs/ARCHITECTURE.md, "Contracts"), without the newline; with a
// recipe the line always has "state" (null when the recipe's table has no row for the reading).
std::string observation_json(const LedObservation& o, bool with_state = false);

}  // namespace linestation::vision
