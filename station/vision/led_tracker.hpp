#pragma once
// One slot's LED over time: from per-frame ROI samples to a decided reading
// (off, steady, blink with frequency and duty, alternate between two colours) with an
// estimated onset. Decides as soon as the evidence allows and no sooner:
// - a new steady or off phase only once it has lasted longer than any blink phase that
//   the context allows for that colour (the recipe's slowest blink, or min_blink_hz),
//   so the first on-phase of a slow blink is never reported as steady;
// - a blink after two rising edges, once the third phase confirms the first;
// - a blink faster than a quarter of the frame rate is reported unsure, never aliased:
//   a frequency is given only once no faster blink could have produced the frames seen
//   (checked exactly on their timestamps, see faster_blink_fits).
// Frame drops and jittery timestamps are expected: durations come from timestamps.

#include <array>
#include <deque>
#include <optional>
#include <string>

#include "station/config/recipe.hpp"
#include "station/vision/led_color.hpp"
#include "station/vision/led_observation.hpp"

namespace linestation::vision {

struct TrackerOptions {
    // Shortest time a new steady/off phase must last before it is decided (the part of
    // "3 frames + 0.3 s" that is not frame latency).
    double base_hold_s = 0.3;
    // Per colour (LedColor index; Off = the longest dark phase): the longest phase of a
    // blink of that colour that must not be mistaken for steady/off.
    std::array<double, kLedColorCount> phase_hold_s{};
    // The slowest blink recognised as one.
    double min_blink_hz = 0.3;
    // Relative tolerance on the duration of a blink's phases.
    double phase_tolerance = 0.35;

    // Blinks from `min_hz` up with duty up to 75% are all told apart from steady.
    static TrackerOptions for_min_blink(double min_hz);
    // The holds the recipe's LED table needs: per colour its slowest blink's longest phase.
    static TrackerOptions for_recipe(const config::Recipe& recipe);
    double hold_for(LedColor color) const;
};

class LedTracker {
  public:
    LedTracker(std::string slot, const ColorTable& colors, TrackerOptions options = {},
               const config::Recipe* recipe = nullptr);

    // One frame at capture time `t` (s). Returns an observation when the decided reading
    // changes (the first decided reading included).
    std::optional<LedObservation> update(double t, const RoiSample& sample);
    // No frames: forget the evidence; report camera loss once.
    std::optional<LedObservation> camera_lost(double t);

    // The reading as last decided (pattern empty before the first decision).
    const LedObservation& current() const { return current_; }
    // The colour this frame showed (Off when unlit), for snapshots.
    LedColor frame_color() const { return last_symbol_; }
    bool decided() const { return kind_ != Kind::None; }

  private:
    enum class Kind { None, Off, Steady, Blink, Alternate, Unsure };
    struct Run {
        LedColor symbol = LedColor::Off;
        double start = 0;    // estimated edge that began the run
        double first_t = 0;  // first frame in it
        double last_t = 0;   // last frame in it
        int frames = 0;
        std::array<int, kLedColorCount> counts{};
        LedColor pending = LedColor::Off;  // a different colour seen on the last frame(s)
        int pending_frames = 0;
        double pending_first_t = 0;
        double before_pending_t = 0;
    };
    struct Periodic {
        LedColor a = LedColor::Off, b = LedColor::Off;  // the two alternating symbols
        double period = 0, dur_a = 0, dur_b = 0, onset = 0;
        bool too_fast = false;
        // The runs that are phases of it (the oldest begins at `onset`).
        std::size_t phases = 0;
        double first_frame_t = 0;  // the first frame of the oldest
    };
    struct Frame {
        double t = 0;
        LedColor symbol = LedColor::Off;
    };

    LedColor classify_frame(const RoiSample& s);
    void learn_reference(const RoiSample& s);
    void push_symbol(double t, LedColor symbol);
    std::optional<Periodic> fit_periodic(double t) const;
    bool faster_blink_fits(const Periodic& p) const;
    bool fresh_start(std::size_t index, LedColor x, LedColor y, double d1, double d2,
                     double t) const;
    bool consistent(double duration, double expected) const;
    double run_duration(std::size_t index_from_end, double t) const;
    std::optional<LedObservation> decide(double t);
    std::optional<LedObservation> emit(double t);
    LedColor run_color(const Run& run) const;
    // Frames of the run that showed a colour the recipe knows.
    static int clear_frames(const Run& run);

    std::string slot_;
    const ColorTable& colors_;
    TrackerOptions options_;
    const config::Recipe* recipe_;

    // The slot's own "off" reference (robust low level), learnt from unlit frames.
    bool have_ref_ = false;
    std::array<float, 3> ref_rgb_{};
    float ref_level_ = 0;
    float ref_clipped_ = 0;

    double last_t_ = -1;
    double first_frame_t_ = 0;
    double dt_ = 0;
    // All frame intervals since the camera (re)started, and how many frame times they
    // span (drops counted): their ratio is the frame time, free of jitter.
    double span_s_ = 0, span_frames_ = 0;
    LedColor last_symbol_ = LedColor::Off;
    std::deque<Run> runs_;        // closed runs then the current one (bounded)
    std::deque<Frame> frames_;    // the latest frames (bounded), for the aliasing check
    double faster_fit_run_ = -1;  // the start of the run in which a faster blink last fitted

    Kind kind_ = Kind::None;
    LedColor color_a_ = LedColor::Off, color_b_ = LedColor::Off;
    double period_ = 0, dur_a_ = 0, dur_b_ = 0, since_ = 0;
    bool lost_ = false;
    LedObservation current_;
};

}  // namespace linestation::vision
