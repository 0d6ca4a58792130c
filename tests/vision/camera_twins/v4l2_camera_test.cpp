// The camera driver against a V4L2 camera twin: OpenCV's own V4L2 backend (cv::CAP_V4L2)
// opens /dev/video42, which the LD_PRELOAD shim v4l2_camera_twin.c makes a UVC-like MJPEG
// camera (real ioctls, mmap'd buffers, select on a timerfd, monotonic buffer timestamps).

#include <gtest/gtest.h>

#include <iostream>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "drivers/camera/frame_source.hpp"
#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_scanner.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/vision/camera_twins/camera_watch.hpp"
#include "tests/vision/vision_clips.hpp"

namespace linestation::vision {
namespace {

using testing::joined;
using testing::mentions;

constexpr const char* kDevice = "/dev/video42";

// A twin camera looking at the two-LED scene (camera_watch.hpp).
class CameraV4l2Twin : public ::testing::Test {
  protected:
    void SetUp() override {
        spec_ = testing::two_led_scene();
        virtual_line::write_clip_images(spec_, dir_ / "frames");
        if (!std::getenv("LD_PRELOAD") ||
            std::string(std::getenv("LD_PRELOAD")).find("v4l2_camera_twin") == std::string::npos) {
            GTEST_FAIL() << "run under ctest: the V4L2 twin needs LD_PRELOAD of its shim";
        }
        setenv("V4L2_TWIN_DEVICE", kDevice, 1);
        setenv("V4L2_TWIN_FRAMES", (dir_ / "frames").c_str(), 1);
        setenv("V4L2_TWIN_GONE", (dir_ / "unplugged").c_str(), 1);
        setenv("V4L2_TWIN_LOG", log_path().c_str(), 1);
        unsetenv("V4L2_TWIN_CONTROLS");
        unsetenv("V4L2_TWIN_TIMESTAMPS");
        unsetenv("V4L2_TWIN_FORMAT");
        unsetenv("V4L2_TWIN_SIZE");
    }
    std::string log_path() const { return (dir_ / "dqbuf.log").string(); }
    drivers::CameraSettings settings() const {
        drivers::CameraSettings s;
        s.source = kDevice;
        s.width = spec_.camera.width;
        s.height = spec_.camera.height;
        s.fps = 30;
        return s;
    }
    LedScanner scanner() const {
        return LedScanner({{"A1", roi_of(spec_.rois[0])}, {"A2", roi_of(spec_.rois[1])}}, nullptr,
                          TrackerOptions{});
    }

    testing::TempDir dir_;
    virtual_line::ClipSpec spec_;
};

TEST_F(CameraV4l2Twin, CameraOpensThroughOpenCvV4l2AndItsLedsAreRead) {
    auto source = drivers::open_frame_source(settings());
    EXPECT_TRUE(source->live());
    EXPECT_TRUE(source->warnings().empty()) << joined(source->warnings());
    SystemClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(settings()); }, clock);
    auto leds = scanner();
    std::vector<LedObservation> seen;
    int frames = 0;
    double start = clock.now_s();
    while (clock.now_s() - start < 20 && frames < 150) {
        auto p = feed.poll();
        ASSERT_TRUE(p.frame) << p.error;
        EXPECT_EQ(p.frame->image.cols, spec_.camera.width);
        EXPECT_EQ(p.frame->image.rows, spec_.camera.height);
        ++frames;
        for (auto& o : leds.process(p.frame->image, p.frame->t)) seen.push_back(o);
    }
    testing::expect_two_led_scene(seen);
}

TEST_F(CameraV4l2Twin, CameraOpensByIndexAndAnAbsentOneIsNamed) {
    auto s = settings();
    s.source = "42";  // OpenCV's V4L2 backend makes that /dev/video42
    auto source = drivers::open_frame_source(s);
    auto f = source->read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->image.cols, spec_.camera.width);
    std::ofstream(dir_ / "unplugged") << "\n";
    try {
        drivers::open_frame_source(settings());
        FAIL() << "an unplugged camera opened";
    } catch (const drivers::CameraError& e) {
        EXPECT_NE(std::string(e.what()).find(kDevice), std::string::npos) << e.what();
    }
}

TEST_F(CameraV4l2Twin, LedScanCommandReadsTheCamera) {
    // The station executable inherits the twin (LD_PRELOAD and its settings).
    std::vector<std::string> argv{LS_STATION_BINARY, "led-scan", "--video", kDevice};
    for (const auto& a : testing::roi_args(spec_)) argv.push_back(a);
    testing::ChildProcess scan(argv);
    std::map<std::string, std::string> first;
    while (first.size() < 2) {
        auto line = scan.wait_for_line("\"slot\"", 30);
        ASSERT_FALSE(line.empty()) << "led-scan printed no state for every slot";
        auto slot = line.substr(line.find("\"slot\":\"") + 8, 2);
        first.emplace(slot, line);
    }
    EXPECT_NE(first["A1"].find("\"color\":\"red\""), std::string::npos) << first["A1"];
    EXPECT_NE(first["A1"].find("\"pattern\":\"blink\""), std::string::npos) << first["A1"];
    EXPECT_NE(first["A2"].find("\"color\":\"green\""), std::string::npos) << first["A2"];
    EXPECT_NE(first["A2"].find("\"pattern\":\"steady\""), std::string::npos) << first["A2"];
    // Unplugged, the camera stops delivering and the scan ends, as a failure: a live camera
    // has no end, and its last states are no longer the slots' present ones.
    std::ofstream(dir_ / "unplugged") << "\n";
    EXPECT_EQ(scan.stop(0), 1);
}

// Raw YUYV 4:2:2 (BT.601, full range, as OpenCV's YUV2BGR_YUYV reads it) of a BGR image.
std::vector<std::uint8_t> to_yuyv(const cv::Mat& bgr) {
    cv::Mat yuv;
    cv::cvtColor(bgr, yuv, cv::COLOR_BGR2YUV);
    std::vector<std::uint8_t> out;
    out.reserve(static_cast<std::size_t>(bgr.total()) * 2);
    for (int y = 0; y < yuv.rows; ++y) {
        for (int x = 0; x + 1 < yuv.cols; x += 2) {
            auto a = yuv.at<cv::Vec3b>(y, x), b = yuv.at<cv::Vec3b>(y, x + 1);
            out.push_back(a[0]);
            out.push_back(static_cast<std::uint8_t>((a[1] + b[1] + 1) / 2));
            out.push_back(b[0]);
            out.push_back(static_cast<std::uint8_t>((a[2] + b[2] + 1) / 2));
        }
    }
    return out;
}

TEST_F(CameraV4l2Twin, YuyvOnlyCameraIsReadInItsOwnFormat) {
    // Many cheap and infrared cameras have no MJPG: the driver's MJPG request is adjusted.
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "frames")) {
        if (e.path().extension() != ".jpg") continue;
        auto raw = to_yuyv(cv::imread(e.path().string(), cv::IMREAD_COLOR));
        auto out = e.path();
        std::ofstream(out.replace_extension(".yuyv"), std::ios::binary)
            .write(reinterpret_cast<const char*>(raw.data()),
                   static_cast<std::streamsize>(raw.size()));
    }
    setenv("V4L2_TWIN_FORMAT", "YUYV", 1);
    auto size = std::to_string(spec_.camera.width) + "x" + std::to_string(spec_.camera.height);
    setenv("V4L2_TWIN_SIZE", size.c_str(), 1);
    SystemClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(settings()); }, clock);
    auto leds = scanner();
    std::vector<LedObservation> seen;
    for (int frames = 0; frames < 120; ++frames) {
        auto p = feed.poll();
        ASSERT_TRUE(p.frame) << p.error;
        EXPECT_TRUE(p.warnings.empty()) << joined(p.warnings);
        ASSERT_EQ(p.frame->image.cols, spec_.camera.width);
        for (auto& o : leds.process(p.frame->image, p.frame->t)) seen.push_back(o);
    }
    testing::expect_two_led_scene(seen);
}

TEST_F(CameraV4l2Twin, ManualExposureAndGainAreSetAndReadBack) {
    setenv("V4L2_TWIN_CONTROLS", "exposure,gain,white_balance", 1);
    auto s = settings();
    s.exposure = 120;  // 12 ms in V4L2's 100 us units
    s.gain = 64;
    s.white_balance_k = 5000;
    drivers::VideoCaptureSource source(s);
    EXPECT_TRUE(source.warnings().empty()) << joined(source.warnings());
    EXPECT_NEAR(source.fps(), 30, 1e-9);
}

TEST_F(CameraV4l2Twin, WhatTheCameraRefusesOrChangesIsWarnedByName) {
    setenv("V4L2_TWIN_CONTROLS", "exposure,gain", 1);  // no white balance control
    auto s = settings();
    s.width = 640;  // the twin has one frame size
    s.height = 480;
    s.fps = 20;  // 15 or 30 only
    s.exposure = 120;
    s.gain = 400;  // above the control's maximum (255): clamped
    s.white_balance_k = 4000;
    drivers::VideoCaptureSource source(s);
    const auto& w = source.warnings();
    auto text = joined(w);
    std::ostringstream size;
    size << "camera size: asked for 640x480, camera reports " << spec_.camera.width << "x"
         << spec_.camera.height;
    EXPECT_TRUE(mentions(w, size.str())) << text;
    EXPECT_TRUE(mentions(w, "camera fps: asked for 20, camera reports 15")) << text;
    EXPECT_TRUE(mentions(w, "camera gain: asked for 400, camera reports 255")) << text;
    EXPECT_TRUE(mentions(w, "camera white balance: asked for 4000")) << text;
    EXPECT_TRUE(mentions(w, "(setting refused)")) << text;
    EXPECT_FALSE(mentions(w, "camera exposure")) << text;  // that one the camera has
    EXPECT_EQ(w.size(), 5u) << text;  // size, fps, gain, manual white balance, white balance
    // It still delivers, at the size it has.
    auto f = source.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->image.cols, spec_.camera.width);
    // The station's feed passes the warnings on (and logs them) once, with the first frame.
    ManualClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(s); }, clock);
    auto first = feed.poll();
    ASSERT_TRUE(first.frame) << first.error;
    EXPECT_EQ(first.warnings, w);
    EXPECT_TRUE(feed.poll().warnings.empty());
}

struct Stamp {
    long sequence;
    double t;
};

std::vector<Stamp> read_log(const std::string& path) {
    std::vector<Stamp> out;
    std::ifstream in(path);
    long seq, sec, usec;
    while (in >> seq >> sec >> usec) out.push_back({seq, sec + usec / 1e6});
    return out;
}

TEST_F(CameraV4l2Twin, FrameTimesAreTheCamerasOwnBufferTimestamps) {
    auto source = drivers::open_frame_source(settings());
    std::vector<drivers::CameraFrame> frames;
    while (frames.size() < 45) {
        auto f = source->read();
        ASSERT_TRUE(f);
        frames.push_back(*f);
    }
    EXPECT_TRUE(source->warnings().empty()) << joined(source->warnings());
    auto stamps = read_log(log_path());
    // OpenCV drops the first buffer after STREAMON (a first MJPEG frame is often bad).
    ASSERT_EQ(stamps.size(), frames.size() + 1);
    int aged = 0;
    for (std::size_t i = 1; i < frames.size(); ++i) {
        EXPECT_NEAR(frames[i].t - frames[0].t, stamps[i + 1].t - stamps[1].t, 2e-6) << i;
        EXPECT_GE(frames[i].age_s, 0.0);
        EXPECT_LT(frames[i].age_s, 0.5);
        if (frames[i].age_s > 0.003) ++aged;
    }
    // The twin stamps frames 0..9 ms before it delivers them: the jitter is seen.
    EXPECT_GT(aged, 10);
}

TEST_F(CameraV4l2Twin, FeedBackdatesFramesByTheirCapturedAge) {
    // On virtual time the feed's clock stands still during a poll, so its stamp is
    // exactly "now minus the frame's age".
    ManualClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(settings()); }, clock);
    double last = -1;
    int aged = 0;
    for (int i = 0; i < 30; ++i) {
        clock.advance(1.0 / 30);
        auto p = feed.poll();
        ASSERT_TRUE(p.frame) << p.error;
        EXPECT_GT(p.frame->t, last);
        EXPECT_GE(p.frame->age_s, 0.0);
        if (p.frame->t - (clock.now_s() - p.frame->age_s) > 1e-9) {
            // only when the frame before was stamped later still
            EXPECT_NEAR(p.frame->t, last + 1e-6, 1e-9) << i;
        } else {
            EXPECT_NEAR(p.frame->t, clock.now_s() - p.frame->age_s, 1e-9) << i;
        }
        if (p.frame->age_s > 0.003) ++aged;
        last = p.frame->t;
    }
    EXPECT_GT(aged, 5);  // the twin's 0..9 ms between capture and delivery is seen
}

TEST_F(CameraV4l2Twin, MissingTimestampsFallBackToArrivalWithAWarning) {
    setenv("V4L2_TWIN_TIMESTAMPS", "none", 1);
    auto source = drivers::open_frame_source(settings());
    double last = -1;
    for (int i = 0; i < 10; ++i) {
        auto f = source->read();
        ASSERT_TRUE(f);
        EXPECT_EQ(f->age_s, 0.0);
        EXPECT_GT(f->t, last);
        last = f->t;
    }
    ASSERT_EQ(source->warnings().size(), 1u) << joined(source->warnings());
    EXPECT_TRUE(mentions(source->warnings(), "no capture timestamps"));
}

TEST_F(CameraV4l2Twin, BackwardsTimestampsAreNotBelievedAndTimeNeverRunsBack) {
    setenv("V4L2_TWIN_TIMESTAMPS", "backwards", 1);
    auto source = drivers::open_frame_source(settings());
    std::vector<drivers::CameraFrame> frames;
    while (frames.size() < 20) {
        auto f = source->read();
        ASSERT_TRUE(f);
        if (!frames.empty()) {
            EXPECT_GT(f->t, frames.back().t);
        }
        frames.push_back(*f);
    }
    auto text = joined(source->warnings());
    EXPECT_TRUE(mentions(source->warnings(), "went backwards")) << text;
    EXPECT_EQ(source->warnings().size(), 1u) << text;  // once, not once per frame
    auto stamps = read_log(log_path());
    ASSERT_EQ(stamps.size(), frames.size() + 1);
    int believed = 0, arrival = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        bool early = stamps[i + 1].sequence % 5 == 4;  // the twin's stamp 200 ms early
        if (early) {
            EXPECT_EQ(frames[i].age_s, 0.0) << i;
            ++arrival;
        } else if (frames[i].age_s > 0) {
            ++believed;
        }
    }
    EXPECT_GE(arrival, 3);
    EXPECT_GE(believed, 10);
}

TEST_F(CameraV4l2Twin, UnpluggedCameraIsLostWithNoStateThenReopenedWithBackoff) {
    SystemClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(settings()); }, clock, {0.2, 0.8});
    auto leds = scanner();
    auto gone = dir_ / "unplugged";
    auto w = testing::watch_loss_and_return(
        feed, leds, clock, 2, 2.5, 2, [&] { std::ofstream(gone) << "unplugged\n"; },
        [&] { std::filesystem::remove(gone); }, 45);
    std::cout << "[ measured ] " << testing::summary(w) << std::endl;
    testing::expect_two_led_scene(w.seen, 0, testing::first_loss(w.seen));
    testing::expect_lost_once_then_decided_afresh(w, 2, 1.0);
    testing::expect_two_led_scene(w.seen, testing::after_last_loss(w.seen));
    // The open failed while unplugged, with the device named; reopen attempts backed off.
    EXPECT_TRUE(mentions(w.errors, kDevice)) << joined(w.errors);
    std::vector<double> while_gone;
    for (double a : w.reopen_attempts_s)
        if (a > w.unplugged_s && a <= w.replugged_s + 0.9) while_gone.push_back(a);
    ASSERT_GE(while_gone.size(), 3u);
    for (std::size_t i = 2; i < while_gone.size(); ++i)
        EXPECT_GE(while_gone[i] - while_gone[i - 1], 0.2 * 0.9) << i;
    EXPECT_GT(while_gone.back() - while_gone[while_gone.size() - 2],
              while_gone[1] - while_gone[0] - 0.05);
}

}  // namespace
}  // namespace linestation::vision
