#pragma once
// A camera that may go away: frames stamped on the station's clock at their capture time
// (live sources: now minus the age the camera's own timestamp gives) or
// with stream time (files, folders); a source that stops delivering is reopened with
// exponential backoff, and until it delivers again the feed says "lost", so no LED state
// is decided on stale frames.
//
// Reopening happens on the feed's own thread: an open can hang for the driver's timeout
// (5 s for a stream that does not answer), and the line polls the feed under its lock, so
// poll() only starts an open and takes its result when it is there; meanwhile it says
// "lost" at once. A lost source is closed on that thread too (closing a stream can wait on
// the network). The first open, in the constructor, is the caller's: a station starting up
// holds no lock yet, and a feed that opened reads its first frame at the first poll.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "drivers/camera/frame_source.hpp"
#include "station/clock/clock.hpp"

namespace linestation::vision {

struct BackoffOptions {
    double first_s = 0.5;
    double max_s = 10.0;
    // A live camera whose frames stay the same, bit for bit, this long is hung (a sensor's
    // noise alone changes every frame): it is lost and reopened like one that went away.
    double frozen_after_s = 1.0;
};

class CameraFeed {
  public:
    using Opener = std::function<std::unique_ptr<drivers::FrameSource>()>;
    // Opens the source once (a failure is only remembered: the first poll reports it as
    // lost); `open` is called again on the feed's thread for each reopen.
    CameraFeed(Opener open, const Clock& clock, BackoffOptions backoff = {});
    // Waits for an open in progress to end: OpenCV cannot cancel one.
    ~CameraFeed();
    CameraFeed(const CameraFeed&) = delete;
    CameraFeed& operator=(const CameraFeed&) = delete;

    struct Poll {
        std::optional<drivers::CameraFrame> frame;
        bool lost = false;   // no frame: the camera is gone (retrying)
        bool ended = false;  // a file or folder was read to its end
        std::string error;   // why the last open or read failed
        // What the source newly warned about (a setting refused, timestamps not
        // believed); each is also logged once on the "camera" logger.
        std::vector<std::string> warnings;
    };
    // One frame, or why there is none. Never sleeps and never waits for an open: a reopen
    // is started once its backoff has passed on the clock and taken up by a later poll when
    // it has ended; the caller waits (on the same clock) between polls.
    Poll poll();
    // When the next reopen will be attempted (clock seconds); meaningful while lost.
    double next_attempt_s() const { return next_attempt_s_; }
    // Opens started, the constructor's included.
    int reopen_attempts() const { return attempts_; }
    // A reopen is running on the feed's thread (its result not yet there).
    bool opening() const;

  private:
    struct Opened {
        std::unique_ptr<drivers::FrameSource> source;
        std::string error;
        double ended_s = 0;  // clock time the open returned or failed
    };
    Opened open_now();
    void take(Opened opened);
    void schedule_retry(double from_s);
    void pass_on_warnings(Poll& p);
    Poll lost() const;
    // Drops the source (closed on the feed's thread) and schedules its reopen.
    Poll drop(const std::string& why, Poll p);
    // Whether a live frame repeats a frozen picture (see frozen_after_s).
    bool frozen(const drivers::CameraFrame& frame);
    void run_opens(const std::stop_token& stop);

    Opener open_;
    const Clock& clock_;
    BackoffOptions backoff_;
    // The caller's side (poll's thread).
    std::unique_ptr<drivers::FrameSource> source_;
    bool open_started_ = false;  // a reopen was handed to the thread, its result not taken
    double delay_s_ = 0;
    double next_attempt_s_ = 0;
    int attempts_ = 0;
    std::size_t warnings_passed_ = 0;  // of the current source's
    double last_live_t_ = -1e300;
    std::string error_;
    std::optional<std::uint64_t> last_hash_;    // the last live frame's content
    double same_since_s_ = 0;                   // when that content first came
    std::optional<std::uint64_t> frozen_hash_;  // the picture a hung camera repeats

    // Shared with the feed's thread, under mutex_.
    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    bool open_wanted_ = false;
    std::optional<Opened> opened_;                                 // a finished reopen
    std::vector<std::unique_ptr<drivers::FrameSource>> to_close_;  // lost sources
    // Last: stopped and joined before the state it uses is destroyed.
    std::jthread thread_;
};

}  // namespace linestation::vision
