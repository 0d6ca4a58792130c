#pragma once
// Watches a live camera through the station's feed and LED scanner, on the real clock,
// while a test unplugs and replugs it: what the tests of the camera twins share.

#include <functional>
#include <vector>

#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_observation.hpp"
#include "station/vision/led_scanner.hpp"

namespace linestation::testing {

struct CameraWatch {
    std::vector<vision::LedObservation> seen;
    std::vector<double> reopen_attempts_s;  // clock time of each reopen attempt
    double unplugged_s = -1;                // clock time the camera was taken away
    double replugged_s = -1;                // ... and given back
    int frames_after_replug = 0;
    int lost_polls = 0;
    std::vector<std::string> errors;  // distinct reasons the feed gave while lost
};

// Polls `feed` into `scanner` until `done` or `limit_s`. `unplug` runs once after
// `unplug_after` observations are decided (the camera is watched until then), `replug`
// once `away_s` later; the watch ends when `frames_after` frames arrived after the replug
// and a state was decided afresh. Nothing is timed by sleeps: only the camera's pace.
CameraWatch watch_loss_and_return(vision::CameraFeed& feed, vision::LedScanner& scanner,
                                  const Clock& clock, std::size_t unplug_after, double away_s,
                                  const std::function<void()>& unplug,
                                  const std::function<void()>& replug, double limit_s);

}  // namespace linestation::testing
