#include <fstream>
#include <iostream>

#include <opencv2/imgcodecs.hpp>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "drivers/camera/frame_source.hpp"
#include "station/config/recipe.hpp"
#include "station/vision/led_scanner.hpp"
#include "station/vision/roi_proposal.hpp"
#include "station/vision/snapshot.hpp"

namespace linestation::app {

namespace {

std::unique_ptr<drivers::FrameSource> open_video(const CommandLine& cli,
                                                 const std::string& command) {
    drivers::CameraSettings settings;
    settings.source = cli.value("video");
    settings.fps = cli.number_value("fps", 0);
    if (cli.has("fps") && !(settings.fps > 0)) {
        throw UsageError(command + ": --fps: expected a positive number, got \"" +
                         cli.value("fps") + "\"");
    }
    if (drivers::source_kind(settings.source) == drivers::SourceKind::ImageFolder &&
        !(settings.fps > 0)) {
        throw UsageError(command + ": --video " + settings.source +
                         " is a folder of images: give its frame rate with --fps");
    }
    auto source = drivers::open_frame_source(settings);
    for (const auto& w : source->warnings())
        std::cerr << "station " << command << ": " << w << "\n";
    return source;
}

}  // namespace

int run_led_scan(const Args& args) {
    CommandLine cli("led-scan",
                    "--video FILE --roi NAME=X,Y,W,H [--roi ...] [--recipe FILE] "
                    "[--fps N]",
                    "Reads a video (a file OpenCV opens, or a folder of numbered images with "
                    "--fps) and prints one JSON line each time a slot's LED reading changes: "
                    "{\"slot\",\"t\",\"since\",\"color\",\"pattern\",\"freq_hz\"} (+\"state\" "
                    "with --recipe).");
    cli.option("video", "FILE", "video file or folder of numbered images", true)
        .option("roi", "NAME=X,Y,W,H", "a slot's LED region (repeat for each slot)", true, true)
        .option("recipe", "FILE", "product recipe: its colours and LED table name the states")
        .option("fps", "N", "frame rate of a folder of images")
        .option("min-blink-hz", "HZ",
                "slowest blink to tell apart from steady/off without a recipe (default 0.3); "
                "a steady/off phase is decided once it outlasts such a blink's phase")
        .option("snapshot", "FILE.png", "write the annotated last frame as PNG");
    if (!cli.parse(args, std::cout)) return 0;
    std::vector<vision::SlotRoi> rois;
    for (const auto& text : cli.values("roi")) {
        try {
            rois.push_back(vision::parse_slot_roi(text));
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string("led-scan: --roi ") + e.what());
        }
        for (std::size_t i = 0; i + 1 < rois.size(); ++i) {
            if (rois[i].slot == rois.back().slot) {
                throw UsageError("led-scan: --roi " + text + ": slot \"" + rois.back().slot +
                                 "\" is given twice");
            }
        }
    }
    std::optional<config::Recipe> recipe;
    if (cli.has("recipe")) recipe = config::load_recipe(cli.value("recipe"));
    std::optional<vision::TrackerOptions> options;
    if (cli.has("min-blink-hz")) {
        double hz = cli.number_value("min-blink-hz", 0.3);
        if (!(hz > 0 && hz <= 10)) {
            throw UsageError("led-scan: --min-blink-hz: expected a number in (0, 10], got \"" +
                             cli.value("min-blink-hz") + "\"");
        }
        options = vision::TrackerOptions::for_min_blink(hz);
    }
    auto source = open_video(cli, "led-scan");
    vision::LedScanner scanner(rois, recipe ? &*recipe : nullptr, options);
    cv::Mat last;
    long frames = 0;
    while (auto frame = source->read()) {
        for (const auto& o : scanner.process(frame->image, frame->t)) {
            std::cout << vision::observation_json(o, recipe.has_value()) << "\n";
        }
        std::cout.flush();
        last = frame->image;
        ++frames;
    }
    if (frames == 0) {
        std::cerr << "station led-scan: " << drivers::without_url_passwords(cli.value("video"))
                  << ": no frame could be read\n";
        return 1;
    }
    // A file or folder ends; a live camera or stream that stops delivering has failed, and
    // a script must not take its last states for the slots' present ones.
    const bool camera_stopped = source->live();
    if (camera_stopped) {
        std::cerr << "station led-scan: " << drivers::without_url_passwords(cli.value("video"))
                  << ": the camera stopped delivering frames\n";
    }
    if (cli.has("snapshot")) {
        if (!cv::imwrite(cli.value("snapshot"), vision::annotate(last, scanner))) {
            std::cerr << "station led-scan: cannot write " << cli.value("snapshot") << "\n";
            return 1;
        }
    }
    return camera_stopped ? 1 : 0;
}

int run_calibrate(const Args& args) {
    CommandLine cli("calibrate", "--video FILE [--slots N] [--fps N] [--out DIR]",
                    "Proposes one LED region per slot from a short clip in which the LEDs blink "
                    "(the spots that change), writes a fixture snippet (fixture-slots.json) and "
                    "an annotated picture (calibration.png) to --out, and prints the snippet.");
    cli.option("video", "FILE", "video file or folder of numbered images", true)
        .option("slots", "N", "how many slots to find (default: every spot that changes)")
        .option("fps", "N", "frame rate of a folder of images")
        .option("roi-size", "PX", "side of each square ROI (default: from the spot size)")
        .option("seconds", "S", "read at most this much of the clip (default 20)")
        .option("out", "DIR", "where to write fixture-slots.json and calibration.png (default .)");
    if (!cli.parse(args, std::cout)) return 0;
    int slots = cli.int_value("slots", 0, 1, 256);
    int size = cli.int_value("roi-size", 0, 4, 512);
    double seconds = cli.number_value("seconds", 20);
    auto source = open_video(cli, "calibrate");
    vision::RoiProposer proposer;
    while (auto frame = source->read()) {
        if (frame->t > seconds) break;
        proposer.add(frame->image);
    }
    auto rois = proposer.propose(slots, size);
    if (rois.empty()) {
        std::cerr << "station calibrate: no LED changed in " << proposer.frames()
                  << " frames; record a clip in which every slot's LED blinks\n";
        return 1;
    }
    std::string snippet = "{\n  \"slots\": [\n";
    for (std::size_t i = 0; i < rois.size(); ++i) {
        const auto& r = rois[i];
        snippet += "    { \"id\": \"" + r.slot + "\", \"led\": [" + std::to_string(r.roi.x) + ", " +
                   std::to_string(r.roi.y) + ", " + std::to_string(r.roi.w) + ", " +
                   std::to_string(r.roi.h) + "] }" + (i + 1 < rois.size() ? "," : "") + "\n";
    }
    snippet += "  ]\n}\n";
    std::filesystem::path out = cli.value_or("out", ".");
    std::filesystem::create_directories(out);
    std::ofstream(out / "fixture-slots.json") << snippet;
    if (!cv::imwrite((out / "calibration.png").string(),
                     vision::annotate_rois(proposer.sample(), rois))) {
        std::cerr << "station calibrate: cannot write " << (out / "calibration.png") << "\n";
        return 1;
    }
    std::cout << snippet;
    if (slots > 0 && static_cast<int>(rois.size()) < slots) {
        std::cerr << "station calibrate: found only " << rois.size() << " of " << slots
                  << " slots\n";
        return 1;
    }
    return 0;
}

}  // namespace linestation::app
