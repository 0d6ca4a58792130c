#include "tests/vision/camera_twins/camera_watch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "tests/vision/vision_clips.hpp"

namespace linestation::testing {

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(what) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

virtual_line::ClipSpec two_led_scene() {
    return clip_of(
        {script({phase(0, "red", "blink", 2, 0.5)}), script({phase(0, "green", "steady")})},
        59.5 / 30, {});
}

void expect_two_led_scene(const std::vector<vision::LedObservation>& seen, std::size_t from,
                          std::size_t to) {
    std::map<std::string, vision::LedObservation> last;
    for (std::size_t i = from; i < std::min(to, seen.size()); ++i)
        if (!seen[i].camera_lost) last[seen[i].slot] = seen[i];
    ASSERT_EQ(last.size(), 2u);
    EXPECT_EQ(last["A1"].color, "red");
    EXPECT_EQ(last["A1"].pattern, "blink");
    ASSERT_TRUE(last["A1"].freq_hz);
    EXPECT_NEAR(*last["A1"].freq_hz, 2.0, 0.2);
    EXPECT_EQ(last["A2"].color, "green");
    EXPECT_EQ(last["A2"].pattern, "steady");
}

std::size_t first_loss(const std::vector<vision::LedObservation>& seen) {
    std::size_t i = 0;
    while (i < seen.size() && !seen[i].camera_lost) ++i;
    return i;
}

std::size_t after_last_loss(const std::vector<vision::LedObservation>& seen) {
    std::size_t i = seen.size();
    while (i > 0 && !seen[i - 1].camera_lost) --i;
    return i;
}

CameraWatch watch_loss_and_return(vision::CameraFeed& feed, vision::LedScanner& scanner,
                                  const Clock& clock, std::size_t unplug_after, double away_s,
                                  std::size_t decided_after, const std::function<void()>& unplug,
                                  const std::function<void()>& replug, double limit_s) {
    CameraWatch w;
    double start = clock.now_s();
    std::size_t decided = 0;               // states decided (not "camera lost")
    std::size_t decided_after_replug = 0;  // ... when the camera came back
    while (clock.now_s() - start < limit_s) {
        if (w.unplugged_s < 0 && decided >= unplug_after) {
            unplug();
            w.unplugged_s = clock.now_s();
        }
        if (w.unplugged_s >= 0 && w.replugged_s < 0 && clock.now_s() - w.unplugged_s > away_s) {
            replug();
            w.replugged_s = clock.now_s();
            decided_after_replug = decided;
        }
        int before = feed.reopen_attempts();
        auto p = feed.poll();
        if (feed.reopen_attempts() > before) w.reopen_attempts_s.push_back(clock.now_s());
        if (p.frame) {
            if (w.replugged_s >= 0 && w.frames_after_replug++ == 0)
                w.first_frame_after_replug_s = clock.now_s();
            for (auto& o : scanner.process(p.frame->image, p.frame->t)) {
                w.seen.push_back(o);
                ++decided;
            }
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
            decided >= decided_after_replug + decided_after)
            break;
    }
    return w;
}

std::string summary(const CameraWatch& w) {
    double lost_t = -1, decided_again_t = -1;
    for (const auto& o : w.seen) {
        if (o.camera_lost && lost_t < 0) lost_t = o.t;
        if (!o.camera_lost && lost_t >= 0 && o.t >= w.replugged_s) decided_again_t = o.t;
    }
    std::ostringstream s;
    s.precision(3);
    s << "loss reported " << lost_t - w.unplugged_s << " s after the unplug; "
      << w.reopen_attempts_s.size() << " reopen attempts; first frame "
      << w.first_frame_after_replug_s - w.replugged_s << " s after the replug, every slot decided "
      << decided_again_t - w.replugged_s << " s after it";
    return s.str();
}

void expect_lost_once_then_decided_afresh(const CameraWatch& w, std::size_t slots,
                                          double detect_s) {
    ASSERT_GE(w.unplugged_s, 0) << "no LED state decided before the unplug";
    ASSERT_GE(w.replugged_s, 0);
    std::size_t lost_at = 0;
    while (lost_at < w.seen.size() && !w.seen[lost_at].camera_lost) ++lost_at;
    ASSERT_LT(lost_at, w.seen.size()) << "the loss was never reported";
    EXPECT_GE(lost_at, slots);
    std::size_t lost = 0, after = 0;
    for (std::size_t i = lost_at; i < w.seen.size(); ++i) {
        if (w.seen[i].camera_lost) {
            ++lost;
            EXPECT_GE(w.seen[i].t, w.unplugged_s);
            EXPECT_LT(w.seen[i].t, w.unplugged_s + detect_s);
            EXPECT_LT(w.seen[i].t, w.replugged_s);
        } else {
            ++after;
            EXPECT_GE(w.seen[i].since, w.replugged_s) << "a state from before the loss";
        }
    }
    EXPECT_EQ(lost, slots);
    EXPECT_GE(after, slots) << "not every slot was decided after the camera came back";
    EXPECT_GT(w.frames_after_replug, 30);
}

}  // namespace linestation::testing
