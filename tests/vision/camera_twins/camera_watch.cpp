#include "tests/vision/camera_twins/camera_watch.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace linestation::testing {

CameraWatch watch_loss_and_return(vision::CameraFeed& feed, vision::LedScanner& scanner,
                                  const Clock& clock, std::size_t unplug_after, double away_s,
                                  const std::function<void()>& unplug,
                                  const std::function<void()>& replug, double limit_s) {
    CameraWatch w;
    double start = clock.now_s();
    std::size_t decided_after_replug = 0;
    while (clock.now_s() - start < limit_s) {
        if (w.unplugged_s < 0 && w.seen.size() >= unplug_after) {
            unplug();
            w.unplugged_s = clock.now_s();
        }
        if (w.unplugged_s >= 0 && w.replugged_s < 0 && clock.now_s() - w.unplugged_s > away_s) {
            replug();
            w.replugged_s = clock.now_s();
            decided_after_replug = w.seen.size();
        }
        int before = feed.reopen_attempts();
        auto p = feed.poll();
        if (feed.reopen_attempts() > before) w.reopen_attempts_s.push_back(clock.now_s());
        if (p.frame) {
            if (w.replugged_s >= 0) ++w.frames_after_replug;
            for (auto& o : scanner.process(p.frame->image, p.frame->t)) w.seen.push_back(o);
        } else if (p.lost) {
            ++w.lost_polls;
            if (std::find(w.errors.begin(), w.errors.end(), p.error) == w.errors.end())
                w.errors.push_back(p.error);
            for (auto& o : scanner.camera_lost(clock.now_s())) w.seen.push_back(o);
            // Waiting for the backoff: the feed never sleeps, its caller does.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        } else if (p.ended) {
            break;
        }
        if (w.replugged_s >= 0 && w.frames_after_replug > 30 &&
            w.seen.size() > decided_after_replug)
            break;
    }
    return w;
}

}  // namespace linestation::testing
