#pragma once
// Watches a live camera through the station's feed and LED scanner, on the real clock,
// while a test unplugs and replugs it: what the tests of the camera twins share.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fixtures/virtual/camera/led_clip.hpp"
#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_observation.hpp"
#include "station/vision/led_scanner.hpp"

namespace linestation::testing {

// Whether one of `lines` contains `what`; all of them, one per line (for messages).
bool mentions(const std::vector<std::string>& lines, const std::string& what);
std::string joined(const std::vector<std::string>& lines);

// The scene the twins look at: A1 blinks red at 2 Hz, A2 is steady green. 60 frames (2 s
// at 30 fps) hold four whole blink periods, so the clip loops seamlessly.
virtual_line::ClipSpec two_led_scene();
// The last state decided for each slot in seen[from, to) is the scene's.
void expect_two_led_scene(const std::vector<vision::LedObservation>& seen, std::size_t from = 0,
                          std::size_t to = SIZE_MAX);
// The index of the first "camera lost" observation in `seen` (its size if none).
std::size_t first_loss(const std::vector<vision::LedObservation>& seen);

// The index just after the last "camera lost" observation in `seen` (0 if none).
std::size_t after_last_loss(const std::vector<vision::LedObservation>& seen);

struct CameraWatch {
    std::vector<vision::LedObservation> seen;
    std::vector<double> reopen_attempts_s;  // clock time of each reopen attempt
    double unplugged_s = -1;                // clock time the camera was taken away
    double replugged_s = -1;                // ... and given back
    int frames_after_replug = 0;
    double first_frame_after_replug_s = -1;
    int lost_polls = 0;
    std::vector<std::string> errors;  // distinct reasons the feed gave while lost
};

// Polls `feed` into `scanner` until `done` or `limit_s`. `unplug` runs once after
// `unplug_after` observations are decided (the camera is watched until then), `replug`
// once `away_s` later; the watch ends when more than 30 frames arrived after the replug
// and `decided_after` states were decided afresh. Nothing is timed by sleeps: only the camera's
// pace.
CameraWatch watch_loss_and_return(vision::CameraFeed& feed, vision::LedScanner& scanner,
                                  const Clock& clock, std::size_t unplug_after, double away_s,
                                  std::size_t decided_after, const std::function<void()>& unplug,
                                  const std::function<void()>& replug, double limit_s);

// One line of what the watch measured (loss reported after, reopen attempts, back after).
std::string summary(const CameraWatch& w);

// Every slot was decided before the unplug; then "camera lost" once per slot, within
// `detect_s` of the unplug; after it only states decided afresh from frames after the
// replug (one per slot at least), never a stale one.
void expect_lost_once_then_decided_afresh(const CameraWatch& w, std::size_t slots, double detect_s);

}  // namespace linestation::testing
