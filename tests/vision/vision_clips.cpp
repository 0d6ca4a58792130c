#include "tests/vision/vision_clips.hpp"

namespace linestation::testing {

virtual_line::ClipSpec clip_of(const std::vector<virtual_line::LedScript>& scripts,
                               double duration_s, const CleanCamera& c) {
    virtual_line::ClipSpec s;
    s.seed = c.seed;
    s.camera.width = static_cast<int>(48 * scripts.size()) + 16;
    s.camera.height = 64;
    s.camera.fps = c.fps;
    s.camera.flicker_depth = c.flicker_depth;
    s.camera.exposure_s = c.exposure_s;
    s.camera.line_time_s = 30e-6;  // a 1080p sensor's row time
    s.camera.ambient = c.ambient;
    s.camera.read_noise = c.read_noise;
    s.camera.jpeg_quality = 85;
    s.duration_s = duration_s;
    s.drop_probability = c.drop_probability;
    s.jitter_s = c.jitter_s;
    std::mt19937_64 rng(c.seed);
    for (std::size_t i = 0; i < scripts.size(); ++i) {
        virtual_line::LedLook led;
        led.x = 32 + 48.0 * static_cast<double>(i);
        led.y = 32;
        s.leds.push_back(led);
        s.slots.push_back("A" + std::to_string(i + 1));
        s.rois.push_back({static_cast<int>(led.x) - 12, static_cast<int>(led.y) - 12, 24, 24});
        s.units.push_back(virtual_line::make_unit(rng, 1.0));
        s.scripts.push_back(scripts[i]);
    }
    return s;
}

virtual_line::LedScript script(std::vector<virtual_line::LedPhase> phases) {
    virtual_line::LedScript s;
    s.phases = std::move(phases);
    return s;
}

virtual_line::LedPhase phase(double start, const char* color, const char* pattern, double freq_hz,
                             double duty) {
    virtual_line::LedPhase p;
    p.start_s = start;
    p.color = color;
    p.pattern = pattern;
    p.freq_hz = freq_hz;
    p.duty = duty;
    return p;
}

std::vector<std::string> roi_args(const virtual_line::ClipSpec& spec) {
    std::vector<std::string> args;
    for (std::size_t i = 0; i < spec.slots.size(); ++i) {
        const auto& r = spec.rois[i];
        args.push_back("--roi");
        args.push_back(spec.slots[i] + "=" + std::to_string(r.x) + "," + std::to_string(r.y) + "," +
                       std::to_string(r.w) + "," + std::to_string(r.h));
    }
    return args;
}

}  // namespace linestation::testing
