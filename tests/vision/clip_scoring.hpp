#pragma once
// Scores LED observations against a generated clip's ground truth.

#include <optional>
#include <string>
#include <vector>

#include "fixtures/virtual/camera/led_clip.hpp"
#include "station/vision/led_observation.hpp"
#include "station/vision/led_tracker.hpp"

namespace linestation::testing {

struct ClipScore {
    int phases = 0;           // truth phases that must be decided
    int phases_correct = 0;   // decided right (colour + pattern, frequency within 25%)
    int unsure_expected = 0;  // phases faster than fps/4
    int unsure_ok = 0;        // ... that were reported unsure or left undecided, never aliased
    int unsure_reported = 0;  // ... of those, reported unsure (the rest left undecided)
    int periodic_phases = 0;  // blink/alternate phases among `phases`
    int periodic_correct = 0;
    int observations = 0;
    int wrong = 0;  // observations that contradict the truth at their time
    int false_blinks = 0;
    int false_steadies = 0;
    std::vector<double> freq_errors;     // relative, decided blinks/alternations
    std::vector<double> latency_frames;  // steady/off decisions
    std::vector<double> latency_s;       // steady/off decisions
    // Steady/off decisions from the moment the evidence allowed them: the end of the
    // longest blink phase the context permits for that colour (the tracker's hold).
    std::vector<double> latency_after_hold_frames;
    std::vector<double> latency_after_hold_s;
    std::vector<double> latency_periods;           // blink/alternate decisions
    std::vector<double> latency_periods_from_off;  // ... of blinks that began from off
    std::vector<std::string> failures;             // one line per wrong observation or missed phase
    // Blink/alternate decisions later than 1.5 periods after the phase began (of phases that
    // began after the clip's first frame), one line each.
    std::vector<std::string> late;
    int late_from_off = 0;
    int decided_after_start = 0;  // blink/alternate decisions of phases after the first

    int aliased() const { return unsure_expected - unsure_ok; }
    void add(const ClipScore& other);
    std::string summary() const;
};

// `observations` in time order, as a scanner over the clip emitted them; `options` are the
// tracker's (for its holds; the scanner's default without a recipe when not given).
ClipScore score_clip(const virtual_line::ClipSpec& spec,
                     const std::vector<vision::LedObservation>& observations,
                     const vision::TrackerOptions* options = nullptr);

// The score's failures, one a line (for test messages).
std::string joined_failures(const ClipScore& score);

// Renders `spec` in memory and runs a LedScanner on its ROIs.
std::vector<vision::LedObservation> observe(const virtual_line::ClipSpec& spec,
                                            std::optional<vision::TrackerOptions> options = {},
                                            const config::Recipe* recipe = nullptr);

// Renders `spec` in memory, runs a LedScanner on its ROIs, and scores it.
ClipScore run_and_score(const virtual_line::ClipSpec& spec,
                        std::vector<vision::LedObservation>* observations = nullptr);

}  // namespace linestation::testing
