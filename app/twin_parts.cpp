#include "app/twin_parts.hpp"

namespace linestation::app {

TwinLedPrograms::TwinLedPrograms(const virtual_line::VirtualLine& line) : line_(line) {
    for (const auto& s : line_.fixture().slots) {
        slots_.push_back(s.id);
        tracks_[s.id].shown.color = "";  // nothing decided yet
    }
}

std::vector<vision::LedObservation> TwinLedPrograms::poll(double now) {
    std::vector<vision::LedObservation> out;
    if (line_.camera_lost()) {
        if (!lost_reported_) {
            for (const auto& s : slots_) {
                vision::LedObservation o;
                o.slot = s;
                o.t = o.since = now;
                o.camera_lost = true;
                out.push_back(o);
            }
        }
        lost_reported_ = true;
        return out;
    }
    lost_reported_ = false;
    for (const auto& s : slots_) {
        auto& tr = tracks_[s];
        const auto p = line_.led_program(s);
        if (!(p == tr.seen)) {
            tr.seen = p;
            tr.seen_since = now;
        }
        if (tr.seen == tr.shown) continue;
        // A tracker decides a steady state in a few frames, a blink after 1.5 periods.
        const double latency = p.freq_hz > 0 ? 1.5 / p.freq_hz : 0.3;
        if (now - tr.seen_since + 1e-9 < latency) continue;
        vision::LedObservation o;
        o.slot = s;
        o.t = now;
        o.since = tr.seen_since;
        o.color = p.color;
        o.pattern = p.pattern;
        if (p.freq_hz > 0) o.freq_hz = p.freq_hz;
        out.push_back(o);
        tr.shown = p;
    }
    return out;
}

}  // namespace linestation::app
