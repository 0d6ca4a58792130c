// The camera driver against an RTSP camera twin: rtsp_camera_twin serves LedScene frames
// as RTP/JPEG or H.264 (x264, P frames between key frames), with or without basic
// authentication, through the real gst-rtsp-server, and the driver reads them with
// OpenCV's FFmpeg backend, as it reads an IP camera.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>

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

class CameraRtspTwin : public ::testing::Test {
  protected:
    void SetUp() override {
        spec_ = testing::two_led_scene();
        virtual_line::write_clip_images(spec_, dir_ / "frames");
    }
    // Starts the twin (on `port`, or any free one) and returns its URL. Only TCP is
    // offered, so a driver that asked for RTP over UDP would not get a stream.
    std::string start(const std::string& port = "0", const std::vector<std::string>& more = {}) {
        std::vector<std::string> argv{LS_RTSP_CAMERA_TWIN,
                                      "--frames",
                                      (dir_ / "frames").string(),
                                      "--port",
                                      port,
                                      "--fps",
                                      "30",
                                      "--tcp-only"};
        argv.insert(argv.end(), more.begin(), more.end());
        twin_ = std::make_unique<testing::ChildProcess>(argv);
        auto line = twin_->wait_for_line("rtsp://", 30);
        EXPECT_FALSE(line.empty()) << "the RTSP twin did not start";
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        return line;
    }
    void stop() { twin_.reset(); }
    void watch_unplug_and_replug(const std::vector<std::string>& twin_args,
                                 const std::function<std::string(const std::string&)>& url_of);
    drivers::CameraSettings settings(const std::string& url) const {
        drivers::CameraSettings s;
        s.source = url;
        return s;
    }

    testing::TempDir dir_;
    virtual_line::ClipSpec spec_;
    std::unique_ptr<testing::ChildProcess> twin_;
};

// Every frame's time is its capture time: 1/30 s apart (or whole periods, where the twin
// skipped one), never before the frame was due.
void expect_frames_timed_by_capture(drivers::FrameSource& source,
                                    const virtual_line::ClipSpec& spec) {
    EXPECT_TRUE(source.live());
    // FFmpeg reads ahead while it probes the stream, so the first frames arrive together;
    // their times must still be 1/30 s apart, as the camera captured them.
    std::vector<drivers::CameraFrame> frames;
    while (frames.size() < 45) {
        auto f = source.read();
        ASSERT_TRUE(f) << "the stream stopped after " << frames.size() << " frames";
        EXPECT_EQ(f->image.cols, spec.camera.width);
        EXPECT_EQ(f->image.rows, spec.camera.height);
        frames.push_back(*f);
    }
    EXPECT_TRUE(source.warnings().empty()) << joined(source.warnings());
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

// Opens `url`, says how long the open and the first frame took, and checks the frame times.
void expect_opened_and_timed(const std::string& url, const virtual_line::ClipSpec& spec) {
    auto began = std::chrono::steady_clock::now();
    drivers::CameraSettings s;
    s.source = url;
    auto source = drivers::open_frame_source(s);
    auto opened = std::chrono::steady_clock::now();
    auto first = source->read();
    auto read = std::chrono::steady_clock::now();
    ASSERT_TRUE(first);
    std::cout << "[ measured ] open " << std::chrono::duration<double>(opened - began).count()
              << " s, first frame " << std::chrono::duration<double>(read - began).count()
              << " s after the open began" << std::endl;
    expect_frames_timed_by_capture(*source, spec);
}

TEST_F(CameraRtspTwin, FramesAreTimedByTheStreamsOwnTimestamps) {
    expect_opened_and_timed(start(), spec_);
}

TEST_F(CameraRtspTwin, H264FramesAreTimedByTheStreamsOwnTimestamps) {
    expect_opened_and_timed(start("0", {"--codec", "h264"}), spec_);
}

// `url` with user:password@ put after the scheme.
std::string with_credentials(const std::string& url, const std::string& user,
                             const std::string& password) {
    return "rtsp://" + user + ":" + password + "@" + url.substr(std::string("rtsp://").size());
}

// The station watches the twin, which is stopped and started again on the same port: the
// LEDs are read before, the loss reported once per slot, the LEDs decided afresh after.
// `url_of` makes the URL the station opens from the twin's.
void CameraRtspTwin::watch_unplug_and_replug(
    const std::vector<std::string>& twin_args,
    const std::function<std::string(const std::string&)>& url_of) {
    auto url = start("0", twin_args);
    auto port = url.substr(url.rfind(':') + 1, url.rfind('/') - url.rfind(':') - 1);
    auto opened = url_of(url);
    SystemClock clock;
    double start_s = clock.now_s();
    CameraFeed feed([&] { return drivers::open_frame_source(settings(opened)); }, clock,
                    {0.2, 0.8});
    LedScanner leds({{"A1", roi_of(spec_.rois[0])}, {"A2", roi_of(spec_.rois[1])}}, nullptr,
                    TrackerOptions{});
    auto w = testing::watch_loss_and_return(
        feed, leds, clock, 2, 2.5, 2, [&] { stop(); }, [&] { start(port, twin_args); }, 55);
    std::set<std::string> slots;
    double decided_s = -1;
    for (const auto& o : w.seen) {
        slots.insert(o.slot);
        if (slots.size() == 2 && decided_s < 0) decided_s = o.t;
    }
    std::cout << "[ measured ] every slot decided " << decided_s - start_s
              << " s of stream after the station began opening the camera; " << testing::summary(w)
              << std::endl;
    testing::expect_two_led_scene(w.seen, 0, testing::first_loss(w.seen));
    // FFmpeg notices the closed connection at once, or after its 2 s read timeout.
    testing::expect_lost_once_then_decided_afresh(w, 2, 3.0);
    testing::expect_two_led_scene(w.seen, testing::after_last_loss(w.seen));
    EXPECT_GE(w.reopen_attempts_s.size(), 3u);
    EXPECT_FALSE(w.errors.empty());
}

TEST_F(CameraRtspTwin, LedsAreReadAndALostStreamIsReopenedWithNoStaleState) {
    watch_unplug_and_replug({}, [](const std::string& url) { return url; });
}

// H.264 as IP cameras send it: most frames are P frames, coded as changes from the frame
// before, and a reopened stream decodes only from the next key frame. The blink's edges
// and the steady LED's colour must still read right, before and after a reopen.
TEST_F(CameraRtspTwin, H264LedsAreReadAndALostStreamIsReopenedWithNoStaleState) {
    // 150 kbit/s for 320x240 at 30 fps is the bits per pixel of a 1080p camera at 4 Mbit/s.
    watch_unplug_and_replug({"--codec", "h264", "--bitrate", "150"},
                            [](const std::string& url) { return url; });
}

// A camera that asks for a password (RTSP basic authentication) is opened with it in the
// URL, and reopened with it after a loss.
TEST_F(CameraRtspTwin, AuthenticatedCameraIsReadWithItsCredentialsAndReopened) {
    watch_unplug_and_replug(
        {"--codec", "h264", "--user", "line4", "--password", "Cam-pw-71"},
        [](const std::string& url) { return with_credentials(url, "line4", "Cam-pw-71"); });
}

TEST_F(CameraRtspTwin, AuthenticatedCameraRefusesAWrongPasswordOrNoneWithACameraError) {
    auto url = start("0", {"--user", "line4", "--password", "Cam-pw-71"});
    for (const auto& wrong : {with_credentials(url, "line4", "Cam-pw-72"),
                              with_credentials(url, "line5", "Cam-pw-71"), url}) {
        auto began = std::chrono::steady_clock::now();
        EXPECT_THROW(drivers::open_frame_source(settings(wrong)), drivers::CameraError) << wrong;
        // 401 comes back at once: refused, not timed out (the open timeout is 5 s).
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
                  4.5)
            << wrong;
    }
    // The right credentials still open it: the refusals were about them, not the twin.
    auto source = drivers::open_frame_source(settings(with_credentials(url, "line4", "Cam-pw-71")));
    EXPECT_TRUE(source->read());
}

// The camera's password is a secret: it must not reach an error text, a source warning or
// anything the station prints (its own lines, and OpenCV's and FFmpeg's log lines on its
// stderr), whether the camera refused the password or took it.
TEST_F(CameraRtspTwin, ThePasswordIsNeverInErrorsWarningsOrTheStationsOutput) {
    const std::string password = "Cam-pw-71";
    // A slow camera clock, so the source has a warning to give (its timing is given up on).
    auto url = start("0", {"--user", "line4", "--password", password, "--clock-rate", "0.5"});
    auto hidden = [&](const std::string& text) { return text.find(password) == std::string::npos; };
    auto wrong = with_credentials(url, "line4", password + "x");
    auto right = with_credentials(url, "line4", password);
    const std::string shown = with_credentials(url, "line4", "***");

    // Refused: the error names the camera, without the password it was given.
    try {
        drivers::open_frame_source(settings(wrong));
        ADD_FAILURE() << "a wrong password opened the camera";
    } catch (const drivers::CameraError& e) {
        EXPECT_TRUE(hidden(e.what()) &&
                    std::string(e.what()).find(password + "x") == std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(shown), std::string::npos) << e.what();
    }
    SystemClock clock;
    CameraFeed feed([&] { return drivers::open_frame_source(settings(wrong)); }, clock, {0.2, 0.8});
    auto p = feed.poll();
    EXPECT_TRUE(p.lost);
    EXPECT_FALSE(p.error.empty());
    EXPECT_TRUE(hidden(p.error)) << p.error;

    // Taken: the warnings the source gives while it runs name the camera without it.
    auto source = drivers::open_frame_source(settings(right));
    double began = clock.now_s();
    while (source->warnings().empty() && clock.now_s() - began < 12) ASSERT_TRUE(source->read());
    ASSERT_FALSE(source->warnings().empty()) << "a camera clock at half speed went unnoticed";
    for (const auto& w : source->warnings()) {
        EXPECT_TRUE(hidden(w)) << w;
        EXPECT_NE(w.find(shown), std::string::npos) << w;
    }
    source.reset();

    // The station: a scan refused the camera, and a scan that read it until it went away.
    auto station_output = [&](const std::string& video, bool until_decided) {
        auto err = dir_ / "station.err";
        std::vector<std::string> argv{
            "/bin/sh", "-c", "exec \"$@\" 2>" + err.string(), "sh", LS_STATION_BINARY, "led-scan",
            "--video", video};
        for (const auto& a : testing::roi_args(spec_)) argv.push_back(a);
        testing::ChildProcess scan(argv);
        std::string out;
        for (int states = 0; until_decided && states < 2; ++states) {
            auto line = scan.wait_for_line("\"slot\"", 15);
            EXPECT_FALSE(line.empty()) << "led-scan decided no state for a slot";
            out += line + "\n";
        }
        if (until_decided) stop();  // the camera goes away: the scan ends, as a failure
        out += scan.wait_for_line("never printed", 10);
        EXPECT_EQ(scan.stop(0), 1);
        std::ifstream in(err);
        return out + std::string(std::istreambuf_iterator<char>(in), {});
    };
    auto refused = station_output(wrong, false);
    EXPECT_TRUE(refused.find(password) == std::string::npos) << refused;
    EXPECT_NE(refused.find(shown), std::string::npos) << refused;
    auto read = station_output(right, true);
    EXPECT_TRUE(hidden(read)) << read;
    EXPECT_NE(read.find(shown + ": the camera stopped delivering frames"), std::string::npos)
        << read;
}

}  // namespace
}  // namespace linestation::vision
