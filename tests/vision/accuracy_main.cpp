// Accuracy of the LED vision on generated clips: `vision_accuracy FIRST_SEED COUNT [-v]`.
// Tuning used seeds 1-40; the held-out report uses seeds from 1000 on.
// `vision_accuracy quarter FIRST_SEED COUNT [-v]`: the stress set near a quarter of the
// frame rate (long state, then a blink at 0.8-1.6x fps/4, jitter and drops); a blink
// faster than fps/4 given a frequency counts as aliased, which must stay 0.
// `vision_accuracy steady FIRST_SEED COUNT [-v]`: every colour held steady (amber included)
// on random cameras; each must be read in its colour.

#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>

#include "station/vision/led_scanner.hpp"
#include "tests/vision/clip_scoring.hpp"
#include "tests/vision/vision_clips.hpp"

namespace {

// The clips the accuracy figures are taken on: 6 LEDs, 40 s, a random frame rate.
linestation::virtual_line::ClipOptions accuracy_clip() {
    linestation::virtual_line::ClipOptions options;
    options.leds = 6;
    options.duration_s = 40;
    options.fps = 0;
    return options;
}

// `vision_accuracy trace SEED SLOT FROM TO [quarter|steady]`: every frame's colour for one slot
// (of the stress set near fps/4 with `quarter`, of the steady colours with `steady`).
int trace(std::uint64_t seed, const std::string& slot, double from, double to, int quarter) {
    using namespace linestation;
    auto spec = quarter == 1   ? virtual_line::near_quarter_rate_clip(seed)
                : quarter == 2 ? virtual_line::steady_colors_clip(seed)
                               : virtual_line::random_clip(seed, accuracy_clip());
    std::vector<vision::SlotRoi> rois;
    std::size_t mine = 0;
    for (std::size_t i = 0; i < spec.slots.size(); ++i) {
        rois.push_back({spec.slots[i], roi_of(spec.rois[i])});
        if (spec.slots[i] == slot) mine = i;
    }
    std::cout << virtual_line::truth_json(spec) << "\n";
    std::cout << "fps " << spec.camera.fps << " exposure_s " << spec.camera.exposure_s
              << " flicker " << spec.camera.flicker_hz << " depth " << spec.camera.flicker_depth
              << "\n";
    vision::LedScanner scanner(rois);
    virtual_line::ClipPlayer player(spec);
    while (auto f = player.next()) {
        auto changed = scanner.process(f->image, f->t);
        if (f->t < from || f->t > to) continue;
        auto s = vision::measure_roi(f->image, roi_of(spec.rois[mine]));
        std::cout << f->t << " " << vision::color_name(scanner.frame_color(mine))
                  << " L=" << s.level << " clip=" << s.clipped_fraction
                  << " halo_hue=" << vision::chroma_of(s.halo_rgb).hue
                  << " halo_sat=" << vision::chroma_of(s.halo_rgb).saturation
                  << " unclipped_hue=" << vision::chroma_of(s.unclipped_rgb).hue << "\n";
        for (const auto& o : changed) {
            if (o.slot == slot) std::cout << "  -> " << vision::observation_json(o) << "\n";
        }
    }
    return 0;
}

int score_seeds(std::uint64_t first, int count, bool verbose,
                const std::function<linestation::virtual_line::ClipSpec(std::uint64_t)>& clip) {
    using namespace linestation;
    testing::ClipScore total;
    for (int i = 0; i < count; ++i) {
        auto spec = clip(first + static_cast<std::uint64_t>(i));
        auto score = testing::run_and_score(spec);
        if (verbose) {
            std::cout << "seed " << spec.seed << " fps " << spec.camera.fps << ": "
                      << score.phases_correct << "/" << score.phases << " wrong " << score.wrong
                      << " aliased " << score.aliased() << "\n";
            for (const auto& f : score.failures) std::cout << "  " << f << "\n";
            for (const auto& f : score.late) std::cout << "  late " << f << "\n";
        }
        total.add(score);
    }
    std::cout << "seeds " << first << ".." << first + static_cast<std::uint64_t>(count) - 1 << "\n"
              << total.summary();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace linestation;
    if (argc > 3 && std::string(argv[1]) == "write") {
        // `vision_accuracy write SEED PATH`: the clip as numbered JPEGs (or PATH.avi).
        auto options = accuracy_clip();
        auto spec = virtual_line::random_clip(std::strtoull(argv[2], nullptr, 10), options);
        std::string path = argv[3];
        if (path.size() > 4 && path.substr(path.size() - 4) == ".avi") {
            virtual_line::write_clip_avi(spec, path);
        } else {
            virtual_line::write_clip_images(spec, path);
        }
        std::cout << "fps " << spec.camera.fps;
        for (std::size_t i = 0; i < spec.slots.size(); ++i) {
            const auto& r = spec.rois[i];
            std::cout << " --roi " << spec.slots[i] << "=" << r.x << "," << r.y << "," << r.w << ","
                      << r.h;
        }
        std::cout << "\n";
        return 0;
    }
    if (argc > 5 && std::string(argv[1]) == "trace") {
        return trace(std::strtoull(argv[2], nullptr, 10), argv[3], std::atof(argv[4]),
                     std::atof(argv[5]),
                     argc > 6 ? (std::string(argv[6]) == "quarter"  ? 1
                                 : std::string(argv[6]) == "steady" ? 2
                                                                    : 0)
                              : 0);
    }
    if (argc > 3 && std::string(argv[1]) == "grid64") {
        // 64 LEDs on a 1080p frame, random scripts as in the accuracy clips.
        bool verbose = argc > 4 && std::string(argv[4]) == "-v";
        return score_seeds(std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]), verbose,
                           [](std::uint64_t seed) {
                               auto options = accuracy_clip();
                               options.leds = 64;
                               options.width = 1920;
                               options.height = 1080;
                               options.duration_s = 20;
                               return virtual_line::random_clip(seed, options);
                           });
    }
    if (argc > 3 && std::string(argv[1]) == "steady") {
        bool verbose = argc > 4 && std::string(argv[4]) == "-v";
        return score_seeds(
            std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]), verbose,
            [](std::uint64_t seed) { return virtual_line::steady_colors_clip(seed); });
    }
    if (argc > 3 && std::string(argv[1]) == "quarter") {
        bool verbose = argc > 4 && std::string(argv[4]) == "-v";
        return score_seeds(
            std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]), verbose,
            [](std::uint64_t seed) { return virtual_line::near_quarter_rate_clip(seed); });
    }
    std::uint64_t first = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000;
    int count = argc > 2 ? std::atoi(argv[2]) : 20;
    bool verbose = argc > 3 && std::string(argv[3]) == "-v";
    return score_seeds(first, count, verbose, [](std::uint64_t seed) {
        return virtual_line::random_clip(seed, accuracy_clip());
    });
}
