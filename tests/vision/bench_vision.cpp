// LED vision speed: 64 ROIs of 24x24 in a 1080p frame per frame (ours beside the naive
// whole-frame HSV way), decode + classify of a 1080p MJPEG clip, memory over an hour, and
// the tracker alone on blinks near a quarter of the frame rate (its aliasing check).

#include <benchmark/benchmark.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <random>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "fixtures/virtual/camera/led_clip.hpp"
#include "station/vision/led_scanner.hpp"
#include "tests/vision/vision_clips.hpp"

namespace {

using namespace linestation;

// 64 LEDs in an 8x8 grid on a 1080p frame, in a mix of states.
struct Fixture64 {
    virtual_line::ClipSpec spec;
    std::vector<vision::SlotRoi> rois;
    std::vector<cv::Mat> frames;  // a few consecutive frames, cycled
    Fixture64() {
        spec.seed = 64;
        spec.camera.width = 1920;
        spec.camera.height = 1080;
        spec.camera.fps = 30;
        spec.camera.line_time_s = 30e-6;
        spec.duration_s = 3600;
        spec.drop_probability = 0;
        spec.jitter_s = 0;
        std::mt19937_64 rng(64);
        const char* colors[] = {"red", "green", "amber", "blue", "white"};
        for (int i = 0; i < 64; ++i) {
            virtual_line::LedLook led;
            led.x = 120 + (i % 8) * 230;
            led.y = 80 + (i / 8) * 130;
            spec.leds.push_back(led);
            spec.slots.push_back("S" + std::to_string(i));
            spec.rois.push_back(
                {static_cast<int>(led.x) - 12, static_cast<int>(led.y) - 12, 24, 24});
            spec.units.push_back(virtual_line::make_unit(rng, 1.0));
            virtual_line::LedScript script;
            virtual_line::LedPhase p;
            p.color = colors[i % 5];
            p.pattern = i % 3 == 0 ? "steady" : (i % 3 == 1 ? "blink" : "off");
            if (p.pattern == "off") p.color = "off";
            p.freq_hz = 0.5 + (i % 7) * 0.5;
            script.phases.push_back(p);
            spec.scripts.push_back(script);
            rois.push_back({spec.slots.back(), roi_of(spec.rois.back())});
        }
    }
    void render(int count) {
        virtual_line::ClipPlayer player(spec);
        for (int i = 0; i < count; ++i) frames.push_back(player.next()->image);
    }
};

Fixture64& fixture() {
    static Fixture64 f = [] {
        Fixture64 x;
        x.render(8);
        return x;
    }();
    return f;
}

void BM_Classify64Rois(benchmark::State& state) {
    cv::setNumThreads(1);
    auto& f = fixture();
    vision::LedScanner scanner(f.rois);
    double t = 0;
    std::size_t i = 0;
    for (auto _ : state) {
        auto changed = scanner.process(f.frames[i++ % f.frames.size()], t);
        benchmark::DoNotOptimize(changed);
        t += 1.0 / 30;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Classify64Rois)->Unit(benchmark::kMicrosecond);

// The naive way: the whole frame to HSV, inRange for red (both ends of the hue circle)
// and green, and a pixel count per ROI.
void BM_Naive64Rois(benchmark::State& state) {
    cv::setNumThreads(1);
    auto& f = fixture();
    cv::Mat hsv, red_low, red_high, red, green;
    std::size_t i = 0;
    for (auto _ : state) {
        cv::cvtColor(f.frames[i++ % f.frames.size()], hsv, cv::COLOR_BGR2HSV);
        cv::inRange(hsv, cv::Scalar(0, 100, 100), cv::Scalar(10, 255, 255), red_low);
        cv::inRange(hsv, cv::Scalar(170, 100, 100), cv::Scalar(180, 255, 255), red_high);
        cv::bitwise_or(red_low, red_high, red);
        cv::inRange(hsv, cv::Scalar(40, 100, 100), cv::Scalar(85, 255, 255), green);
        int total = 0;
        for (const auto& r : f.rois) {
            cv::Rect rect(r.roi.x, r.roi.y, r.roi.w, r.roi.h);
            total += cv::countNonZero(red(rect)) + cv::countNonZero(green(rect));
        }
        benchmark::DoNotOptimize(total);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Naive64Rois)->Unit(benchmark::kMicrosecond);

void BM_DecodeClassify1080pMjpeg(benchmark::State& state) {
    cv::setNumThreads(1);
    auto& f = fixture();
    auto file = std::filesystem::temp_directory_path() /
                ("ls-bench-1080p-" + std::to_string(::getpid()) + ".avi");
    {
        cv::VideoWriter writer(file.string(), cv::CAP_OPENCV_MJPEG,
                               cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30,
                               cv::Size(1920, 1080));
        writer.set(cv::VIDEOWRITER_PROP_QUALITY, 85);
        for (int k = 0; k < 4; ++k) {
            for (const auto& frame : f.frames) writer.write(frame);
        }
    }
    vision::LedScanner scanner(f.rois);
    cv::VideoCapture capture(file.string(), cv::CAP_OPENCV_MJPEG);
    cv::Mat frame;
    double t = 0;
    for (auto _ : state) {
        if (!capture.read(frame)) {
            capture.open(file.string(), cv::CAP_OPENCV_MJPEG);
            capture.read(frame);
        }
        auto changed = scanner.process(frame, t);
        benchmark::DoNotOptimize(changed);
        t += 1.0 / 30;
    }
    state.SetItemsProcessed(state.iterations());  // items/s = frames per second
    std::filesystem::remove(file);
}
BENCHMARK(BM_DecodeClassify1080pMjpeg)->Unit(benchmark::kMillisecond);

long resident_kb() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// One hour at 30 fps through 64 trackers: the resident size must not grow.
void BM_OneHourMemory(benchmark::State& state) {
    cv::setNumThreads(1);
    auto& f = fixture();
    for (auto _ : state) {
        vision::LedScanner scanner(f.rois);
        const long frames = 3600L * 30;
        long before = 0;
        for (long k = 0; k < frames; ++k) {
            // Frames cycle through the rendered ones: every blink slot keeps changing.
            scanner.process(f.frames[static_cast<std::size_t>(k / 4) % f.frames.size()],
                            static_cast<double>(k) / 30);
            if (k == frames / 10) before = resident_kb();
        }
        long after = resident_kb();
        state.counters["rss_kb_at_6min"] = static_cast<double>(before);
        state.counters["rss_kb_at_60min"] = static_cast<double>(after);
        state.counters["rss_growth_kb"] = static_cast<double>(after - before);
    }
}
BENCHMARK(BM_OneHourMemory)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

// One tracker per frame on a blink at `state.range(0)` % of fps/4 (after a long steady of
// its colour), 10% jitter and 5% drops: the aliasing check runs while a frequency is due
// (every frame while waiting, once per phase while unsure). Per-frame time, averaged over
// the steady, the undecided start and the blink.
void BM_TrackerNearQuarterRate(benchmark::State& state) {
    const double fps = 30, freq = fps / 4 * static_cast<double>(state.range(0)) / 100;
    vision::RoiSample lit, dark;
    dark.level = 0.05f;
    dark.mean_rgb = dark.unclipped_rgb = dark.halo_rgb = {0.05f, 0.05f, 0.05f};
    dark.halo_level = 0.05f;
    lit.level = 0.3f;
    lit.mean_rgb = lit.unclipped_rgb = lit.halo_rgb = {0.9f, 0.1f, 0.05f};
    lit.halo_level = 0.3f;
    lit.clipped_fraction = 0.05f;
    vision::ColorTable colors;
    const auto options = vision::TrackerOptions::for_min_blink(0.3);
    std::mt19937_64 rng(4);
    std::uniform_real_distribution<double> u(0, 1);
    std::int64_t frames = 0;
    for (auto _ : state) {
        state.PauseTiming();
        vision::LedTracker tracker("A1", colors, options);
        std::vector<std::pair<double, bool>> clip;
        for (int i = 0; i < static_cast<int>(12 * fps); ++i) {
            double t = i / fps + (i > 0 ? 0.1 / fps * (2 * u(rng) - 1) : 0);
            if (i > 0 && u(rng) < 0.05) continue;
            double along = (t - 4) * freq;
            clip.emplace_back(t, t < 4 || along - std::floor(along) < 0.5);
        }
        state.ResumeTiming();
        for (const auto& [t, on] : clip)
            benchmark::DoNotOptimize(tracker.update(t, on ? lit : dark));
        frames += static_cast<std::int64_t>(clip.size());
        state.SetLabel(vision::observation_json(tracker.current()));
    }
    state.SetItemsProcessed(frames);  // items per second: frames through the tracker
}
BENCHMARK(BM_TrackerNearQuarterRate)->Arg(85)->Arg(110)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
