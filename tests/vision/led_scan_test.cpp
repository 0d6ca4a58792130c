// `station led-scan` and `station calibrate` end to end on generated clips, the camera
// feed's loss and reopen, and the annotated snapshot.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "drivers/camera/frame_source.hpp"
#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/snapshot.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/vision/clip_scoring.hpp"
#include "tests/vision/vision_clips.hpp"

namespace linestation::vision {
namespace {

using testing::phase;
using testing::script;

using testing::roi_args;

std::vector<LedObservation> parse_lines(const std::string& out) {
    std::vector<LedObservation> seen;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        auto object = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
        LedObservation o;
        o.slot = object->getValue<std::string>("slot");
        o.t = object->getValue<double>("t");
        o.since = object->getValue<double>("since");
        o.color = object->getValue<std::string>("color");
        o.pattern = object->getValue<std::string>("pattern");
        if (!object->isNull("freq_hz")) o.freq_hz = object->getValue<double>("freq_hz");
        o.unsure = object->has("unsure");
        if (object->has("state") && !object->isNull("state")) {
            o.state = object->getValue<std::string>("state");
        }
        // The contract's fields, in the contract's order.
        EXPECT_EQ(line.rfind("{\"slot\":", 0), 0u) << line;
        EXPECT_LT(line.find("\"t\":"), line.find("\"since\":")) << line;
        EXPECT_LT(line.find("\"pattern\":"), line.find("\"freq_hz\":")) << line;
        seen.push_back(o);
    }
    return seen;
}

virtual_line::ClipSpec scan_clip() {
    testing::CleanCamera cam;
    cam.fps = 25;
    cam.drop_probability = 0.03;
    cam.jitter_s = 0.003;
    return testing::clip_of(
        {script({phase(0, "off", "off"), phase(1, "red", "steady"),
                 phase(5, "red", "blink", 2, 0.5), phase(8, "green", "blink", 0.5, 0.5),
                 phase(13, "green", "steady")}),
         script({phase(0, "red/green", "alternate", 1.0), phase(5, "off", "off"),
                 phase(9, "amber", "blink", 0.4, 0.5)}),
         script({phase(0, "blue", "steady"), phase(4.5, "white", "blink", 4, 0.3),
                 phase(9, "off", "off")})},
        17, cam);
}

TEST(VisionLedScan, FolderOfImagesMatchesGroundTruth) {
    testing::TempDir dir;
    auto spec = scan_clip();
    virtual_line::write_clip_images(spec, dir / "clip");
    EXPECT_TRUE(std::filesystem::exists(dir / "clip" / "truth.json"));
    std::vector<std::string> argv{LS_STATION_BINARY,       "led-scan", "--video",
                                  (dir / "clip").string(), "--fps",    "25"};
    for (auto& a : roi_args(spec)) argv.push_back(a);
    auto r = testing::run_process(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto seen = parse_lines(r.out);
    auto score = testing::score_clip(spec, seen);
    EXPECT_EQ(score.wrong, 0) << score.summary() << r.out;
    EXPECT_EQ(score.phases_correct, score.phases) << score.summary() << r.out;
    EXPECT_GE(score.phases, 10);
    for (const auto& f : score.failures) ADD_FAILURE() << f;
}

TEST(VisionLedScan, MjpegAviWithRecipeStates) {
    testing::TempDir dir;
    auto spec =
        testing::clip_of({script({phase(0, "red", "steady"), phase(4, "red", "blink", 2, 0.5),
                                  phase(7, "green", "steady")})},
                         12, {});
    virtual_line::write_clip_avi(spec, dir / "clip.avi");
    std::vector<std::string> argv{LS_STATION_BINARY, "led-scan",
                                  "--video",         (dir / "clip.avi").string(),
                                  "--recipe",        LS_SOURCE_DIR "/recipes/tuya-ipc-camera.json"};
    for (auto& a : roi_args(spec)) argv.push_back(a);
    auto r = testing::run_process(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto seen = parse_lines(r.out);
    std::vector<std::string> states;
    for (const auto& o : seen) states.push_back(o.state.value_or("null"));
    EXPECT_EQ(states, (std::vector<std::string>{"booting", "ready", "online"})) << r.out;
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_NEAR(*seen[1].freq_hz, 2.0, 0.2);
    // The blink shows first when its first dark phase ends the steady red (4.25 s).
    EXPECT_NEAR(seen[1].since, 4.25, 0.1);
    EXPECT_NEAR(seen[2].since, 7.0, 0.1);
}

TEST(VisionLedScan, H264ClipMatchesGroundTruth) {
    testing::TempDir dir;
    auto spec = scan_clip();
    spec.duration_s = 14;
    virtual_line::write_clip_h264(spec, dir / "clip.mp4");
    std::vector<std::string> argv{LS_STATION_BINARY, "led-scan", "--video",
                                  (dir / "clip.mp4").string()};
    for (auto& a : roi_args(spec)) argv.push_back(a);
    auto r = testing::run_process(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto score = testing::score_clip(spec, parse_lines(r.out));
    EXPECT_EQ(score.wrong, 0) << score.summary() << r.out;
    EXPECT_EQ(score.phases_correct, score.phases) << score.summary() << r.out;
    EXPECT_GE(score.phases, 8);
}

TEST(VisionLedScan, BadArgumentsNameTheProblem) {
    testing::TempDir dir;
    auto spec = testing::clip_of({script({phase(0, "red", "steady")})}, 0.2, {});
    virtual_line::write_clip_images(spec, dir / "clip");
    auto bad_roi =
        testing::run_process({LS_STATION_BINARY, "led-scan", "--video", (dir / "clip").string(),
                              "--fps", "30", "--roi", "A1=1,2,x,4"});
    EXPECT_EQ(bad_roi.exit_code, 2);
    EXPECT_NE(bad_roi.err.find("\"x\" is not a whole number"), std::string::npos) << bad_roi.err;
    auto no_fps = testing::run_process(
        {LS_STATION_BINARY, "led-scan", "--video", (dir / "clip").string(), "--roi", "A1=1,2,3,4"});
    EXPECT_EQ(no_fps.exit_code, 2);
    EXPECT_NE(no_fps.err.find("--fps"), std::string::npos) << no_fps.err;
    auto missing = testing::run_process({LS_STATION_BINARY, "led-scan", "--video",
                                         (dir / "nothing.avi").string(), "--roi", "A1=1,2,3,4"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.err.find("nothing.avi"), std::string::npos) << missing.err;
}

TEST(VisionCalibrate, ProposesOneRoiPerBlinkingLed) {
    testing::TempDir dir;
    auto spec = testing::clip_of(
        {script({phase(0, "red", "blink", 1, 0.5)}), script({phase(0, "green", "blink", 2, 0.5)}),
         script({phase(0, "off", "off")}), script({phase(0, "blue", "blink", 1.5, 0.5)})},
        2.5, {});
    virtual_line::write_clip_images(spec, dir / "clip");
    auto r =
        testing::run_process({LS_STATION_BINARY, "calibrate", "--video", (dir / "clip").string(),
                              "--fps", "30", "--slots", "3", "--out", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    auto snippet = Poco::JSON::Parser().parse(r.out).extract<Poco::JSON::Object::Ptr>();
    auto slots = snippet->getArray("slots");
    ASSERT_EQ(slots->size(), 3u);
    // The blinking LEDs (1, 2 and 4), left to right, each inside its proposed ROI.
    const std::size_t leds[] = {0, 1, 3};
    for (std::size_t i = 0; i < 3; ++i) {
        auto slot = slots->getObject(static_cast<unsigned>(i));
        EXPECT_EQ(slot->getValue<std::string>("id"), "A" + std::to_string(i + 1));
        auto led = slot->getArray("led");
        double x = led->getElement<int>(0), y = led->getElement<int>(1);
        double w = led->getElement<int>(2), h = led->getElement<int>(3);
        EXPECT_NEAR(x + w / 2, spec.leds[leds[i]].x, 3) << i;
        EXPECT_NEAR(y + h / 2, spec.leds[leds[i]].y, 3) << i;
    }
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / "fixture-slots.json"));
    auto png = cv::imread((dir / "out" / "calibration.png").string());
    EXPECT_FALSE(png.empty());
}

// A camera twin: plays a rendered clip live while `present`, and stops delivering when
// it is unplugged.
class FlakyCamera final : public drivers::FrameSource {
  public:
    FlakyCamera(const virtual_line::ClipSpec& spec, const bool& present)
        : player_(spec), present_(present) {}
    std::optional<drivers::CameraFrame> read() override {
        if (!present_) return std::nullopt;
        auto f = player_.next();
        if (!f) return std::nullopt;
        return drivers::CameraFrame{f->image, f->t, f->index};
    }
    bool live() const override { return true; }
    const std::vector<std::string>& warnings() const override { return warnings_; }

  private:
    virtual_line::ClipPlayer player_;
    const bool& present_;
    std::vector<std::string> warnings_;
};

TEST(VisionCameraFeed, LossIsReportedRetriedWithBackoffAndNoStaleState) {
    auto spec = testing::clip_of({script({phase(0, "green", "steady")})}, 60, {});
    ManualClock clock;
    bool present = true;
    CameraFeed feed(
        [&]() -> std::unique_ptr<drivers::FrameSource> {
            if (!present) throw drivers::CameraError("/dev/video0: cannot open");
            return std::make_unique<FlakyCamera>(spec, present);
        },
        clock, {0.5, 4.0});
    LedScanner scanner({{"A1", roi_of(spec.rois[0])}}, nullptr, TrackerOptions{});
    std::vector<LedObservation> seen;
    // The constructor opened it once.
    std::vector<double> attempts(static_cast<std::size_t>(feed.reopen_attempts()), 0.0);
    int lost_polls = 0;
    for (int step = 0; step < 600; ++step) {
        clock.advance(1.0 / 30);
        present = !(clock.now_s() > 1.2 && clock.now_s() < 12);
        int before = feed.reopen_attempts();
        auto p = feed.poll();
        if (feed.reopen_attempts() > before) attempts.push_back(clock.now_s());
        // Reopens run on the feed's thread; on virtual time they take no time at all.
        while (feed.opening()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (p.frame) {
            for (auto& o : scanner.process(p.frame->image, p.frame->t)) seen.push_back(o);
        } else if (p.lost) {
            ++lost_polls;
            EXPECT_FALSE(p.error.empty());
            for (auto& o : scanner.camera_lost(clock.now_s())) seen.push_back(o);
        }
    }
    // Steady green, then lost once (not once per poll), then steady green decided afresh
    // from the frames after the camera came back.
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].pattern, "steady");
    EXPECT_TRUE(seen[1].camera_lost);
    EXPECT_NEAR(seen[1].t, 1.2, 0.05);
    EXPECT_EQ(seen[2].pattern, "steady");
    EXPECT_GE(seen[2].since, 12.0);
    EXPECT_GT(lost_polls, 100);
    // Reopen attempts while it is gone back off: 0.5, 1, 2, 4, 4 ... s apart.
    ASSERT_GE(attempts.size(), 6u);
    const double gaps[] = {0, 0.5, 1, 2, 4, 4};
    for (std::size_t i = 2; i < 6; ++i) {
        EXPECT_NEAR(attempts[i] - attempts[i - 1], gaps[i], 0.05) << i;
    }
}

// A reopen that hangs (a stream that does not answer until the driver's 5 s timeout) must
// not hold up the line, which polls the feed under its lock: poll() says "lost" at once
// while the open runs on the feed's thread, and takes the camera back when it opens.
TEST(VisionCameraFeed, PollReturnsAtOnceWhileAReopenHangs) {
    auto spec = testing::clip_of({script({phase(0, "green", "steady")})}, 60, {});
    SystemClock clock;
    bool present = true;
    std::mutex mutex;
    std::condition_variable answered;
    bool answer = false;
    std::atomic<int> opens{0};
    CameraFeed feed(
        [&]() -> std::unique_ptr<drivers::FrameSource> {
            if (opens++ > 0) {
                // The camera does not answer until the test lets it (or 2 s, so a feed
                // that waits for its opens fails the test instead of hanging it).
                std::unique_lock lock(mutex);
                answered.wait_for(lock, std::chrono::seconds(2), [&] { return answer; });
            }
            return std::make_unique<FlakyCamera>(spec, present);
        },
        clock, {0.05, 0.2});
    ASSERT_TRUE(feed.poll().frame);
    present = false;
    auto gone = feed.poll();
    EXPECT_TRUE(gone.lost);
    double slowest_s = 0;
    int lost_polls = 0;
    double began = clock.now_s();
    while (clock.now_s() - began < 1.0) {
        double before = clock.now_s();
        auto p = feed.poll();
        slowest_s = std::max(slowest_s, clock.now_s() - before);
        EXPECT_TRUE(p.lost);
        EXPECT_FALSE(p.frame);
        lost_polls += p.lost;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::cout << "[ measured ] slowest poll while the reopen hung: " << slowest_s * 1000 << " ms"
              << std::endl;
    EXPECT_LT(slowest_s, 0.05);
    EXPECT_GT(lost_polls, 50);
    EXPECT_TRUE(feed.opening());
    EXPECT_EQ(opens.load(), 2);  // one reopen hanging, none started beside it
    {
        std::lock_guard lock(mutex);
        answer = true;
        present = true;
    }
    answered.notify_all();
    std::optional<drivers::CameraFrame> frame;
    began = clock.now_s();
    while (!frame && clock.now_s() - began < 2.0) {
        frame = feed.poll().frame;
        if (!frame) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(frame) << "the camera was not taken back after its open returned";
    EXPECT_FALSE(feed.opening());
}

// The feed's thread is joined when the feed goes: an open still running is waited for (it
// cannot be cancelled), and nothing the feed started outlives it.
TEST(VisionCameraFeed, DestroyingTheFeedWaitsForAHangingReopen) {
    auto spec = testing::clip_of({script({phase(0, "green", "steady")})}, 60, {});
    SystemClock clock;
    bool present = true;
    std::atomic<int> opens{0};
    std::atomic<bool> open_returned{false};
    double destroyed_after_s = 0;
    {
        CameraFeed feed(
            [&]() -> std::unique_ptr<drivers::FrameSource> {
                if (opens++ > 0) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(300));
                    open_returned = true;
                    throw drivers::CameraError("rtsp://camera: timed out");
                }
                return std::make_unique<FlakyCamera>(spec, present);
            },
            clock, {0.01, 0.01});
        ASSERT_TRUE(feed.poll().frame);
        present = false;
        double began = clock.now_s();
        while (!feed.opening() && clock.now_s() - began < 1.0) {
            feed.poll();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ASSERT_TRUE(feed.opening());
        destroyed_after_s = clock.now_s();
    }
    destroyed_after_s = clock.now_s() - destroyed_after_s;
    EXPECT_TRUE(open_returned.load());
    EXPECT_EQ(opens.load(), 2);
    EXPECT_GT(destroyed_after_s, 0.1);
}

TEST(VisionSnapshot, AnnotatedPngShowsEverySlot) {
    auto spec = testing::clip_of(
        {script({phase(0, "red", "steady")}), script({phase(0, "off", "off")})}, 1.0, {});
    LedScanner scanner({{"A1", roi_of(spec.rois[0])}, {"A2", roi_of(spec.rois[1])}}, nullptr,
                       TrackerOptions{});
    virtual_line::ClipPlayer player(spec);
    cv::Mat last;
    while (auto f = player.next()) {
        scanner.process(f->image, f->t);
        last = f->image;
    }
    auto png = snapshot_png(last, scanner);
    auto image = cv::imdecode(png, cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty());
    EXPECT_GE(image.cols, last.cols);
    // The ROI frame of the lit red slot is drawn in red.
    double k = static_cast<double>(image.cols) / last.cols;
    auto edge = image.at<cv::Vec3b>(static_cast<int>(spec.rois[0].y * k),
                                    static_cast<int>((spec.rois[0].x + 12) * k));
    EXPECT_GT(edge[2], 180);
    EXPECT_LT(edge[1], 100);
}

}  // namespace
}  // namespace linestation::vision
