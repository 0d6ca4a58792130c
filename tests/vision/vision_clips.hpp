#pragma once
// Small hand-made clips for the vision tests: a few LEDs on a small frame.

#include <string>
#include <vector>

#include "fixtures/virtual/camera/led_clip.hpp"
#include "station/vision/led_color.hpp"

namespace linestation::virtual_line {
// A clip's LED region as the station's vision takes it (the twin keeps its own rectangle;
// found by argument-dependent lookup wherever a test names a clip's region).
inline vision::RoiRect roi_of(const ClipRect& r) {
    return {r.x, r.y, r.w, r.h};
}
}  // namespace linestation::virtual_line

namespace linestation::testing {

struct CleanCamera {
    double fps = 30;
    double flicker_depth = 0.1;
    double exposure_s = 0.004;
    double drop_probability = 0;
    double jitter_s = 0;
    double ambient = 0.12;
    double read_noise = 0.004;
    std::uint64_t seed = 7;
};

// One LED per script, in a row, on a 64-pixel-high frame; ROIs 24x24 named A1, A2, ...
virtual_line::ClipSpec clip_of(const std::vector<virtual_line::LedScript>& scripts,
                               double duration_s, const CleanCamera& camera = {});

virtual_line::LedScript script(std::vector<virtual_line::LedPhase> phases);
virtual_line::LedPhase phase(double start, const char* color, const char* pattern,
                             double freq_hz = 0, double duty = 0.5);

// `--roi SLOT=X,Y,W,H` for each of the clip's slots, as station led-scan takes them.
std::vector<std::string> roi_args(const virtual_line::ClipSpec& spec);

}  // namespace linestation::testing
