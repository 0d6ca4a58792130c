#pragma once
// A camera that may go away: frames stamped on the station's clock at their capture time
// (live sources: now minus the age the camera's own timestamp gives) or
// with stream time (files, folders); a source that stops delivering is reopened with
// exponential backoff, and until it delivers again the feed says "lost", so no LED state
// is decided on stale frames.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/camera/frame_source.hpp"
#include "station/clock/clock.hpp"

namespace linestation::vision {

struct BackoffOptions {
    double first_s = 0.5;
    double max_s = 10.0;
};

class CameraFeed {
  public:
    using Opener = std::function<std::unique_ptr<drivers::FrameSource>()>;
    CameraFeed(Opener open, const Clock& clock, BackoffOptions backoff = {});

    struct Poll {
        std::optional<drivers::CameraFrame> frame;
        bool lost = false;   // no frame: the camera is gone (retrying)
        bool ended = false;  // a file or folder was read to its end
        std::string error;   // why the last open or read failed
        // What the source newly warned about (a setting refused, timestamps not
        // believed); each is also logged once on the "camera" logger.
        std::vector<std::string> warnings;
    };
    // One frame, or why there is none. Never sleeps: a reopen is attempted only once its
    // backoff has passed on the clock; the caller waits (on the same clock) between polls.
    Poll poll();
    // When the next reopen will be attempted (clock seconds); meaningful while lost.
    double next_attempt_s() const { return next_attempt_s_; }
    int reopen_attempts() const { return attempts_; }

  private:
    void schedule_retry();
    void pass_on_warnings(Poll& p);

    Opener open_;
    const Clock& clock_;
    BackoffOptions backoff_;
    std::unique_ptr<drivers::FrameSource> source_;
    bool ever_opened_ = false;
    double delay_s_ = 0;
    double next_attempt_s_ = 0;
    int attempts_ = 0;
    std::size_t warnings_passed_ = 0;  // of the current source's
    double last_live_t_ = -1e300;
    std::string error_;
};

}  // namespace linestation::vision
