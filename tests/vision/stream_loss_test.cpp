// Camera loss with the real driver: an MJPEG-over-HTTP camera (multipart/x-mixed-replace,
// as IP cameras serve it) on loopback, opened through OpenCV, that goes away and returns.

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

#include "drivers/camera/frame_source.hpp"
#include "fixtures/virtual/camera/mjpeg_server.hpp"
#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_scanner.hpp"
#include "tests/vision/vision_clips.hpp"

namespace linestation::vision {
namespace {

using testing::phase;
using testing::script;

// The virtual line's network camera (fixtures/virtual/camera/mjpeg_server), serving the
// same few frames round and round at about 30 fps while it is on, on the same port each time.
class MjpegCamera {
  public:
    explicit MjpegCamera(std::vector<cv::Mat> frames)
        : frames_(std::move(frames)), port_(free_port()) {}
    void start() {
        server_.emplace(
            [this]() -> std::optional<cv::Mat> { return frames_[next_++ % frames_.size()]; }, 30,
            port_);
    }
    void stop() { server_.reset(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/video.mjpg"; }

  private:
    static int free_port() {
        Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
        return s.address().port();
    }
    std::vector<cv::Mat> frames_;
    int port_;
    std::atomic<std::size_t> next_{0};
    std::optional<virtual_line::MjpegServer> server_;
};

TEST(VisionCameraFeed, NetworkCameraThatGoesAwayIsLostThenReopened) {
    auto spec = testing::clip_of({script({phase(0, "green", "steady")})}, 0.3, {});
    std::vector<cv::Mat> frames;
    virtual_line::ClipPlayer player(spec);
    while (auto f = player.next()) frames.push_back(f->image.clone());
    MjpegCamera camera(frames);
    camera.start();
    SystemClock clock;
    drivers::CameraSettings settings;
    settings.source = camera.url();
    CameraFeed feed([&] { return drivers::open_frame_source(settings); }, clock, {0.2, 0.8});
    LedScanner scanner({{"A1", roi_of(spec.rois[0])}}, nullptr, TrackerOptions{});
    std::vector<LedObservation> seen;
    double start = clock.now_s();
    bool stopped = false, restarted = false;
    int frames_after_restart = 0;
    while (clock.now_s() - start < 25) {
        double now = clock.now_s() - start;
        if (!stopped && now > 2.0) {
            camera.stop();
            stopped = true;
        }
        if (stopped && !restarted && now > 4.5) {
            camera.start();
            restarted = true;
        }
        auto p = feed.poll();
        if (p.frame) {
            if (restarted) ++frames_after_restart;
            for (auto& o : scanner.process(p.frame->image, p.frame->t)) seen.push_back(o);
        } else if (p.lost) {
            for (auto& o : scanner.camera_lost(clock.now_s())) seen.push_back(o);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else if (p.ended) {
            break;
        }
        if (frames_after_restart > 30 && seen.size() >= 3) break;
    }
    ASSERT_GE(seen.size(), 3u) << "frames after restart: " << frames_after_restart;
    EXPECT_EQ(seen[0].pattern, "steady");
    EXPECT_EQ(seen[0].color, "green");
    EXPECT_TRUE(seen[1].camera_lost);
    EXPECT_GE(seen[1].t - start, 2.0);
    EXPECT_EQ(seen[2].pattern, "steady");
    EXPECT_GE(seen[2].since - start, 4.5);
    EXPECT_GE(feed.reopen_attempts(), 3);
}

}  // namespace
}  // namespace linestation::vision
