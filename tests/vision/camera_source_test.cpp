// drivers/camera: folders of numbered images and video files through OpenCV.

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "drivers/camera/frame_source.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/vision/vision_clips.hpp"

namespace linestation::drivers {
namespace {

CameraSettings settings_for(const std::string& source) {
    CameraSettings s;
    s.source = source;
    return s;
}

using testing::phase;
using testing::script;

TEST(VisionCameraSource, FolderFramesAreTimedByTheirNumberSoGapsAreDrops) {
    testing::TempDir dir;
    cv::Mat image(8, 8, CV_8UC3, cv::Scalar(10, 20, 30));
    for (int n : {0, 1, 2, 5, 6, 10}) {
        cv::imwrite((dir / ("frame_" + std::to_string(n) + ".png")).string(), image);
    }
    std::ofstream(dir / "notes.txt") << "not an image\n";
    ImageFolderSource source(dir.path(), 10);
    std::vector<double> times;
    std::vector<long> numbers;
    while (auto f = source.read()) {
        times.push_back(f->t);
        numbers.push_back(f->index);
        EXPECT_EQ(f->image.size(), image.size());
    }
    // Sorted numerically (10 after 6, not after 1).
    EXPECT_EQ(numbers, (std::vector<long>{0, 1, 2, 5, 6, 10}));
    ASSERT_EQ(times.size(), 6u);
    EXPECT_DOUBLE_EQ(times[3], 0.5);
    EXPECT_DOUBLE_EQ(times[5], 1.0);
}

TEST(VisionCameraSource, FolderTimestampsFileGivesCaptureTimes) {
    testing::TempDir dir;
    cv::Mat image(8, 8, CV_8UC3, cv::Scalar(0, 0, 0));
    for (int n : {0, 1, 2}) cv::imwrite((dir / (std::to_string(n) + ".jpg")).string(), image);
    std::ofstream(dir / "timestamps.txt") << "0 0.0\n1 0.041\n2 0.079\n";
    ImageFolderSource source(dir.path(), 25);
    source.read();
    EXPECT_DOUBLE_EQ(source.read()->t, 0.041);
    EXPECT_DOUBLE_EQ(source.read()->t, 0.079);
    EXPECT_FALSE(source.read());
}

TEST(VisionCameraSource, ClearErrorsForMissingOrEmptySources) {
    testing::TempDir dir;
    try {
        ImageFolderSource source(dir.path(), 25);
        FAIL() << "an empty folder opened";
    } catch (const CameraError& e) {
        EXPECT_NE(std::string(e.what()).find("no numbered images"), std::string::npos);
    }
    EXPECT_THROW(ImageFolderSource(dir.path(), 0), CameraError);
    try {
        open_frame_source(settings_for((dir / "missing.avi").string()));
        FAIL() << "a missing file opened";
    } catch (const CameraError& e) {
        EXPECT_NE(std::string(e.what()).find("missing.avi"), std::string::npos);
    }
    EXPECT_EQ(source_kind("/dev/video2"), SourceKind::Camera);
    EXPECT_EQ(source_kind("0"), SourceKind::Camera);
    EXPECT_EQ(source_kind("rtsp://10.0.0.5/stream"), SourceKind::Stream);
    EXPECT_EQ(source_kind(dir.path().string()), SourceKind::ImageFolder);
}

TEST(VisionCameraSource, CameraPasswordsNeverReachErrorTexts) {
    EXPECT_EQ(without_url_passwords("rtsp://admin:S3cr3t@10.0.0.5:554/s1"),
              "rtsp://admin:***@10.0.0.5:554/s1");
    EXPECT_EQ(without_url_passwords(R"({"source":"http://u:p@cam/x.mjpg","b":"rtsp://h/s"})"),
              R"({"source":"http://u:***@cam/x.mjpg","b":"rtsp://h/s"})");
    // No credentials, or an '@' in the path: nothing to hide, nothing changed.
    EXPECT_EQ(without_url_passwords("rtsp://10.0.0.5/live@main"), "rtsp://10.0.0.5/live@main");
    EXPECT_EQ(without_url_passwords("/dev/video0"), "/dev/video0");
    // A camera that cannot be reached is named in the error, without its password.
    try {
        open_frame_source(settings_for("http://viewer:Pa55-word@127.0.0.1:1/cam.mjpg"));
        FAIL() << "a camera on a closed port opened";
    } catch (const CameraError& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.find("Pa55-word"), std::string::npos) << what;
        EXPECT_NE(what.find("http://viewer:***@127.0.0.1:1/cam.mjpg"), std::string::npos) << what;
    }
}

TEST(VisionCameraSource, MjpegAviFramesWithStreamTime) {
    testing::TempDir dir;
    testing::CleanCamera cam;
    cam.fps = 25;
    auto spec = testing::clip_of({script({phase(0, "red", "blink", 2, 0.5)})}, 1.0, cam);
    virtual_line::write_clip_avi(spec, dir / "clip.avi");
    auto source = open_frame_source(settings_for((dir / "clip.avi").string()));
    EXPECT_FALSE(source->live());
    int frames = 0;
    double last = -1;
    while (auto f = source->read()) {
        EXPECT_NEAR(f->t, frames / 25.0, 1e-6);
        EXPECT_GT(f->t, last);
        last = f->t;
        EXPECT_EQ(f->image.cols, spec.camera.width);
        ++frames;
    }
    EXPECT_EQ(frames, 26);  // 0 .. 1.0 s at 25 fps
}

}  // namespace
}  // namespace linestation::drivers

namespace linestation::drivers {
namespace {

// A network camera 10 ms into the connection, 20-28 ms of transport, the first 20 frames
// held back by FFmpeg's probing until 0.7 s, its clock running at `rate` times ours.
struct SyntheticStream {
    double rate = 1;
    double opened = 100.0;
    std::vector<double> capture, stamp, arrival;
    explicit SyntheticStream(double r, int frames = 1800) : rate(r) {
        std::mt19937 rng(5);
        std::uniform_real_distribution<double> jitter(0, 0.008);
        for (int i = 0; i < frames; ++i) {
            double c = opened + 0.01 + i / 30.0;
            capture.push_back(c);
            stamp.push_back(7.0 + rate * (c - capture[0]));
            arrival.push_back(std::max(c + 0.02 + jitter(rng), i < 20 ? opened + 0.7 : 0.0));
        }
    }
};

TEST(VisionCameraSource, StreamClockSpacesABurstByItsTimestampsAndFollowsTheEnvelope) {
    SyntheticStream s(1.0);
    StreamClock clock(s.opened);
    std::vector<double> mapped;
    for (std::size_t i = 0; i < s.stamp.size(); ++i) {
        auto m = clock.map(s.stamp[i], s.arrival[i]);
        EXPECT_FALSE(m.restarted);
        EXPECT_LE(m.capture_s, s.arrival[i]) << i;  // never captured after it arrived
        mapped.push_back(m.capture_s);
    }
    // The burst (all 20 frames arrived at 0.7 s) keeps the camera's 1/30 s spacing.
    for (std::size_t i = 1; i < mapped.size(); ++i)
        EXPECT_NEAR(mapped[i] - mapped[i - 1], 1 / 30.0, 0.003) << i;
    // First frame: when the connection began (10 ms early); later: on the envelope of
    // the fastest arrivals (20 ms of transport counted as capture delay, no more).
    EXPECT_NEAR(mapped[0] - s.capture[0], -0.01, 1e-9);
    for (std::size_t i = 900; i < mapped.size(); ++i)
        EXPECT_NEAR(mapped[i] - s.capture[i], 0.02, 0.005) << i;
}

TEST(VisionCameraSource, StreamClockFollowsACameraClockSlowerOrFasterThanOurs) {
    for (double rate : {0.9995, 1.0005}) {
        SyntheticStream s(rate);
        StreamClock clock(s.opened);
        for (std::size_t i = 0; i < s.stamp.size(); ++i) {
            auto m = clock.map(s.stamp[i], s.arrival[i]);
            EXPECT_FALSE(m.restarted) << rate;
            EXPECT_LE(m.capture_s, s.arrival[i]) << rate << " " << i;
            // 500 ppm for a minute is 30 ms: followed, the error stays within the jitter.
            if (i >= 900) {
                EXPECT_NEAR(m.capture_s - s.capture[i], 0.02, 0.008) << rate << " " << i;
            }
        }
    }
}

TEST(VisionCameraSource, StreamClockRestartsWhenTheCameraFallsFarBehind) {
    SyntheticStream s(0.9);  // 10 % slow: no crystal; a stream that stalls and resumes
    StreamClock clock(s.opened);
    int restarts = 0;
    for (std::size_t i = 0; i < s.stamp.size(); ++i) {
        auto m = clock.map(s.stamp[i], s.arrival[i]);
        if (m.restarted) {
            ++restarts;
            EXPECT_DOUBLE_EQ(m.capture_s, s.arrival[i]);
        }
        EXPECT_LE(s.arrival[i] - m.capture_s, StreamClock::kMaxLag_s) << i;
    }
    EXPECT_GE(restarts, 2);
}

}  // namespace
}  // namespace linestation::drivers
