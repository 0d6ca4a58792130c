// The camera driver against an RTSP camera twin: rtsp_camera_twin serves LedScene frames
// as RTP/JPEG through the real gst-rtsp-server, and the driver reads them with OpenCV's
// FFmpeg backend, as it reads an IP camera.

#include <gtest/gtest.h>

#include <iostream>

#include <cmath>
#include <memory>

#include "drivers/camera/frame_source.hpp"
#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_scanner.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/vision/camera_twins/camera_watch.hpp"

namespace linestation::vision {
namespace {

using testing::joined;
using testing::mentions;

class CameraRtspTwin : public ::testing::Test {
  protected:
    void SetUp() override {
        spec_ = testing::two_led_scene();
        virtual_line::write_clip_images(spec_, dir_ / "frames");
    }
    // Starts the twin (on `port`, or any free one) and returns its URL. Only TCP is
    // offered, so a driver that asked for RTP over UDP would not get a stream.
    std::string start(const std::string& port = "0") {
        twin_ = std::make_unique<testing::ChildProcess>(
            std::vector<std::string>{LS_RTSP_CAMERA_TWIN, "--frames", (dir_ / "frames").string(),
                                     "--port", port, "--fps", "30", "--tcp-only"});
        auto line = twin_->wait_for_line("rtsp://", 30);
        EXPECT_FALSE(line.empty()) << "the RTSP twin did not start";
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        return line;
    }
    void stop() { twin_.reset(); }
    drivers::CameraSettings settings(const std::string& url) const {
        drivers::CameraSettings s;
        s.source = url;
        return s;
    }

    testing::TempDir dir_;
    virtual_line::ClipSpec spec_;
    std::unique_ptr<testing::ChildProcess> twin_;
};

TEST_F(CameraRtspTwin, FramesAreTimedByTheStreamsOwnTimestamps) {
    auto url = start();
    auto source = drivers::open_frame_source(settings(url));
    EXPECT_TRUE(source->live());
    // FFmpeg reads ahead while it probes the stream, so the first frames arrive together;
    // their times must still be 1/30 s apart, as the camera captured them.
    std::vector<drivers::CameraFrame> frames;
    while (frames.size() < 45) {
        auto f = source->read();
        ASSERT_TRUE(f) << "the stream stopped after " << frames.size() << " frames";
        EXPECT_EQ(f->image.cols, spec_.camera.width);
        EXPECT_EQ(f->image.rows, spec_.camera.height);
        frames.push_back(*f);
    }
    EXPECT_TRUE(source->warnings().empty()) << joined(source->warnings());
    // The twin captures on a 1/30 s grid and skips what it is too busy to send: every
    // step is a whole number of frame periods (RTP's 90 kHz clock rounds a little, and the
    // mapping onto our clock follows the envelope of arrivals by up to 2 ms per second).
    for (std::size_t i = 1; i < frames.size(); ++i) {
        double periods = (frames[i].t - frames[i - 1].t) * 30;
        EXPECT_GE(periods, 0.97) << i;
        EXPECT_NEAR(periods, std::round(periods), 0.1) << i;
        EXPECT_GE(frames[i].age_s, 0.0) << i;
    }
    // The first frames waited in FFmpeg's buffer: they are reported older than the last.
    EXPECT_GT(frames[1].age_s, frames.back().age_s);
}

TEST_F(CameraRtspTwin, LedsAreReadAndALostStreamIsReopenedWithNoStaleState) {
    auto url = start();
    auto port = url.substr(url.rfind(':') + 1, url.rfind('/') - url.rfind(':') - 1);
    SystemClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(settings(url)); }, clock, {0.2, 0.8});
    LedScanner leds({{"A1", spec_.rois[0]}, {"A2", spec_.rois[1]}}, nullptr, TrackerOptions{});
    auto w = testing::watch_loss_and_return(
        feed, leds, clock, 2, 2.5, 2, [&] { stop(); }, [&] { start(port); }, 55);
    std::cout << "[ measured ] " << testing::summary(w) << std::endl;
    testing::expect_two_led_scene(w.seen, 0, testing::first_loss(w.seen));
    // FFmpeg notices the closed connection at once, or after its 2 s read timeout.
    testing::expect_lost_once_then_decided_afresh(w, 2, 3.0);
    testing::expect_two_led_scene(w.seen, testing::after_last_loss(w.seen));
    EXPECT_GE(w.reopen_attempts_s.size(), 3u);
    EXPECT_FALSE(w.errors.empty());
}

}  // namespace
}  // namespace linestation::vision
