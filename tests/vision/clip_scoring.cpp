#include "tests/vision/clip_scoring.hpp"

#include "tests/vision/vision_clips.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "station/vision/led_scanner.hpp"

namespace linestation::testing {

namespace {

using virtual_line::LedPhase;

bool fast(const LedPhase& p, double fps) {
    return (p.pattern == "blink" || p.pattern == "alternate") && p.freq_hz > fps / 4;
}

bool same_colors(const std::string& a, const std::string& b) {
    if (a == b) return true;
    auto sa = a.find('/'), sb = b.find('/');
    if (sa == std::string::npos || sb == std::string::npos) return false;
    return a.substr(0, sa) == b.substr(sb + 1) && a.substr(sa + 1) == b.substr(0, sb);
}

bool matches(const vision::LedObservation& o, const LedPhase& p) {
    if (o.unsure || o.camera_lost) return false;
    if (o.pattern != p.pattern || !same_colors(o.color, p.color)) return false;
    if (p.pattern == "blink" || p.pattern == "alternate") {
        return o.freq_hz && std::abs(*o.freq_hz - p.freq_hz) <= 0.25 * p.freq_hz;
    }
    return true;
}

std::string describe(const vision::LedObservation& o) {
    return vision::observation_json(o);
}

std::string describe(const LedPhase& p) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "truth from %.2f: %s %s %.2fHz duty %.2f pwm %.0f", p.start_s,
                  p.color.c_str(), p.pattern.c_str(), p.freq_hz, p.duty, p.pwm_hz);
    return buf;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double maximum(const std::vector<double>& v) {
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

}  // namespace

void ClipScore::add(const ClipScore& o) {
    phases += o.phases;
    phases_correct += o.phases_correct;
    unsure_expected += o.unsure_expected;
    unsure_ok += o.unsure_ok;
    unsure_reported += o.unsure_reported;
    periodic_phases += o.periodic_phases;
    periodic_correct += o.periodic_correct;
    observations += o.observations;
    wrong += o.wrong;
    false_blinks += o.false_blinks;
    false_steadies += o.false_steadies;
    auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(freq_errors, o.freq_errors);
    append(latency_frames, o.latency_frames);
    append(latency_s, o.latency_s);
    append(latency_after_hold_frames, o.latency_after_hold_frames);
    append(latency_after_hold_s, o.latency_after_hold_s);
    append(latency_periods, o.latency_periods);
    append(latency_periods_from_off, o.latency_periods_from_off);
    append(failures, o.failures);
    append(late, o.late);
    late_from_off += o.late_from_off;
    decided_after_start += o.decided_after_start;
}

std::string ClipScore::summary() const {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(3);
    s << "phases " << phases << ", decided right " << phases_correct << " ("
      << (phases ? 100.0 * phases_correct / phases : 0) << "%)\n"
      << "  of them blink/alternate " << periodic_phases << ", decided right " << periodic_correct
      << "\n"
      << "too-fast phases " << unsure_expected << ", never aliased " << unsure_ok
      << " (reported unsure " << unsure_reported << ", left undecided "
      << unsure_ok - unsure_reported << "), aliased " << aliased() << "\n"
      << "observations " << observations << ", wrong " << wrong << ", false blinks " << false_blinks
      << ", false steadies " << false_steadies << "\n"
      << "frequency error (relative): median " << median(freq_errors) << ", max "
      << maximum(freq_errors) << "\n"
      << "steady/off latency: median " << median(latency_s) << " s / " << median(latency_frames)
      << " frames, max " << maximum(latency_s) << " s / " << maximum(latency_frames) << " frames\n"
      << "  from the end of the longest blink phase allowed for the colour: median "
      << median(latency_after_hold_s) << " s / " << median(latency_after_hold_frames)
      << " frames, max " << maximum(latency_after_hold_s) << " s / "
      << maximum(latency_after_hold_frames) << " frames\n"
      << "blink/alternate latency: median " << median(latency_periods) << " periods, max "
      << maximum(latency_periods) << " periods\n"
      << "  of blinks that began from off: median " << median(latency_periods_from_off)
      << " periods, max " << maximum(latency_periods_from_off)
      << " periods (n=" << latency_periods_from_off.size() << ")\n"
      << "  later than 1.5 periods: " << late.size() << " of " << decided_after_start
      << " that began after the first frame"
      << " (of blinks from off: " << late_from_off << " of " << latency_periods_from_off.size()
      << ")\n";
    return s.str();
}

ClipScore score_clip(const virtual_line::ClipSpec& spec,
                     const std::vector<vision::LedObservation>& observations,
                     const vision::TrackerOptions* options) {
    const auto holds = options ? *options : vision::TrackerOptions::for_min_blink(0.3);
    ClipScore score;
    const double fps = spec.camera.fps, frame = 1.0 / fps;
    for (std::size_t i = 0; i < spec.slots.size(); ++i) {
        const auto& phases = spec.scripts[i].phases;
        std::vector<const vision::LedObservation*> mine;
        for (const auto& o : observations) {
            if (o.slot == spec.slots[i]) mine.push_back(&o);
        }
        auto phase_at = [&](double t) -> std::size_t {
            std::size_t k = 0;
            for (std::size_t j = 0; j < phases.size(); ++j) {
                if (phases[j].start_s <= t) k = j;
            }
            return k;
        };
        // Every observation must be true at its time (or a few frames before: a decision
        // about a phase that has just ended is late, not wrong).
        for (const auto* o : mine) {
            ++score.observations;
            if (o->unsure) {
                // Unsure is never a wrong decision, but it must not name a frequency.
                continue;
            }
            auto now = phase_at(o->t), before = phase_at(o->t - 3 * frame);
            if (matches(*o, phases[now]) || matches(*o, phases[before])) continue;
            // A blink faster than fps/4 may not be decided at all (or only unsure).
            ++score.wrong;
            if (o->pattern == "blink" || o->pattern == "alternate") ++score.false_blinks;
            if (o->pattern == "steady") ++score.false_steadies;
            score.failures.push_back(spec.slots[i] + " seed " + std::to_string(spec.seed) + ": " +
                                     describe(*o) + " but " + describe(phases[now]));
        }
        for (std::size_t j = 0; j < phases.size(); ++j) {
            const auto& p = phases[j];
            double end = j + 1 < phases.size() ? phases[j + 1].start_s : spec.duration_s;
            if (fast(p, fps)) {
                ++score.unsure_expected;
                bool aliased = false, unsure = false;
                for (const auto* o : mine) {
                    if (o->t < p.start_s || o->t >= end) continue;
                    if (!o->unsure && (o->pattern == "blink" || o->pattern == "alternate")) {
                        // A decision about the phase before, just late, is no aliasing.
                        auto before = phase_at(o->t - 3 * frame);
                        if (before != j && matches(*o, phases[before])) continue;
                        aliased = true;
                        score.failures.push_back(spec.slots[i] + " seed " +
                                                 std::to_string(spec.seed) + ": aliased " +
                                                 describe(*o) + " but " + describe(p));
                    }
                    unsure |= o->unsure;
                }
                if (!aliased) ++score.unsure_ok;
                if (!aliased && unsure) ++score.unsure_reported;
                continue;
            }
            // Phases cut short by the end of the clip cannot be decided.
            bool periodic = p.pattern == "blink" || p.pattern == "alternate";
            double needed = periodic ? 2.0 / p.freq_hz + 4 * frame : 3.6 + 4 * frame;
            if (end - p.start_s < needed) continue;
            ++score.phases;
            if (periodic) ++score.periodic_phases;
            // The first observation inside the phase that matches it. When the previous
            // reading already matches (the state did not change) it counts from before.
            const vision::LedObservation* hit = nullptr;
            const vision::LedObservation* last_before = nullptr;
            for (const auto* o : mine) {
                if (o->t < p.start_s) last_before = o;
                if (o->t >= p.start_s && o->t < end + 3 * frame && matches(*o, p)) {
                    hit = o;
                    break;
                }
            }
            if (!hit && last_before && matches(*last_before, p)) hit = last_before;
            if (!hit) {
                score.failures.push_back(spec.slots[i] + " seed " + std::to_string(spec.seed) +
                                         ": never decided " + describe(p));
                continue;
            }
            ++score.phases_correct;
            if (periodic) ++score.periodic_correct;
            double latency = std::max(0.0, hit->t - p.start_s);
            if (p.pattern == "blink" || p.pattern == "alternate") {
                score.freq_errors.push_back(std::abs(*hit->freq_hz - p.freq_hz) / p.freq_hz);
                if (hit->t >= p.start_s) {
                    const double periods = latency * p.freq_hz;
                    score.latency_periods.push_back(periods);
                    const bool from_off =
                        j > 0 && phases[j - 1].pattern == "off" && p.pattern == "blink";
                    if (from_off) score.latency_periods_from_off.push_back(periods);
                    // A phase the clip begins with began before the tracker's first frame
                    // could show its onset: its lateness says nothing.
                    if (j > 0) ++score.decided_after_start;
                    if (periods > 1.5 && j > 0) {
                        char line[64];
                        std::snprintf(line, sizeof line, ": %.2f periods (fps %.0f) ", periods,
                                      fps);
                        score.late.push_back(spec.slots[i] + " seed " + std::to_string(spec.seed) +
                                             line + describe(p) + " after " +
                                             (j > 0 ? describe(phases[j - 1]) : "nothing"));
                        if (from_off) ++score.late_from_off;
                    }
                }
            } else if (hit->t >= p.start_s) {
                score.latency_s.push_back(latency);
                score.latency_frames.push_back(latency * fps);
                auto color = vision::parse_color(p.pattern == "off" ? "off" : p.color);
                double hold = color ? holds.hold_for(*color) : holds.base_hold_s;
                double after_hold = std::max(0.0, latency - hold);
                score.latency_after_hold_s.push_back(after_hold);
                score.latency_after_hold_frames.push_back(after_hold * fps);
            }
        }
    }
    return score;
}

std::string joined_failures(const ClipScore& score) {
    std::string s;
    for (const auto& f : score.failures) s += f + "\n";
    return s;
}

std::vector<vision::LedObservation> observe(const virtual_line::ClipSpec& spec,
                                            std::optional<vision::TrackerOptions> options,
                                            const config::Recipe* recipe) {
    std::vector<vision::SlotRoi> rois;
    for (std::size_t i = 0; i < spec.slots.size(); ++i)
        rois.push_back({spec.slots[i], roi_of(spec.rois[i])});
    vision::LedScanner scanner(rois, recipe, options);
    virtual_line::ClipPlayer player(spec);
    std::vector<vision::LedObservation> seen;
    while (auto f = player.next()) {
        for (auto& o : scanner.process(f->image, f->t)) seen.push_back(std::move(o));
    }
    return seen;
}

ClipScore run_and_score(const virtual_line::ClipSpec& spec,
                        std::vector<vision::LedObservation>* observations) {
    auto seen = observe(spec);
    auto score = score_clip(spec, seen);
    if (observations) *observations = std::move(seen);
    return score;
}

}  // namespace linestation::testing
