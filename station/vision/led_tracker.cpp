#include "station/vision/led_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace linestation::vision {

namespace {

constexpr std::size_t kMaxRuns = 16;
// Frames kept for the aliasing check: three periods of a blink near fps/4 with drops.
constexpr std::size_t kMaxFrames = 40;
// Blinks measured under this many frames per period are checked against faster ones
// (a blink faster than fps/4 with drops can look up to twice as slow).
constexpr double kAliasCheckFrames = 12;
// A blink's phases are at most this share of its period (duty 25-75%, with margin).
constexpr double kMaxPhaseShare = 0.75;
constexpr double kHoldMargin = 1.2;

std::size_t idx(LedColor c) {
    return static_cast<std::size_t>(c);
}

}  // namespace

TrackerOptions TrackerOptions::for_min_blink(double min_hz) {
    TrackerOptions o;
    o.min_blink_hz = min_hz;
    double hold = kMaxPhaseShare / min_hz * kHoldMargin;
    o.phase_hold_s.fill(hold);
    return o;
}

TrackerOptions TrackerOptions::for_recipe(const config::Recipe& recipe) {
    TrackerOptions o;
    o.phase_hold_s.fill(0);
    double slowest = 0;
    auto hold_color = [&](const std::string& name, double hold) {
        if (auto c = parse_color(name)) {
            o.phase_hold_s[idx(*c)] = std::max(o.phase_hold_s[idx(*c)], hold);
        }
    };
    for (const auto& rule : recipe.led_states) {
        if (rule.pattern != "blink" && rule.pattern != "alternate") continue;
        // A blink rule without a frequency range may be as slow as the default.
        double low = rule.freq_hz ? std::max(rule.freq_hz->first, 0.05) : 0.3;
        slowest = slowest == 0 ? low : std::min(slowest, low);
        auto slash = rule.color.find('/');
        // An alternation shows each colour for half its period; a blink up to 75% lit and
        // up to 75% dark, unless the recipe gives its duty.
        double share = slash == std::string::npos ? kMaxPhaseShare : 0.5;
        double hold = share / low * kHoldMargin;
        if (slash == std::string::npos) {
            const double lit = rule.duty ? rule.duty->second : share;
            const double dark = rule.duty ? 1 - rule.duty->first : share;
            hold_color(rule.color, lit / low * kHoldMargin);
            o.phase_hold_s[idx(LedColor::Off)] =
                std::max(o.phase_hold_s[idx(LedColor::Off)], dark / low * kHoldMargin);
        } else {
            hold_color(rule.color.substr(0, slash), hold);
            hold_color(rule.color.substr(slash + 1), hold);
        }
    }
    if (slowest > 0) o.min_blink_hz = std::min(slowest, 0.3);
    // A colour the recipe never blinks may still blink on a faulty unit; a blink at the
    // default rate must still not be read as steady for the colours the recipe names.
    return o;
}

double TrackerOptions::hold_for(LedColor color) const {
    return std::max(base_hold_s, phase_hold_s[idx(color)]);
}

LedTracker::LedTracker(std::string slot, const ColorTable& colors, TrackerOptions options,
                       const config::Recipe* recipe)
    : slot_(std::move(slot)), colors_(colors), options_(options), recipe_(recipe) {
    current_.slot = slot_;
    current_.color.clear();
    current_.pattern.clear();
}

void LedTracker::learn_reference(const RoiSample& s) {
    if (!have_ref_ || s.level < 0.6f * ref_level_) {
        // A clear step down resets the reference: one learnt from a dim lit frame must not
        // survive the first truly dark one. Flicker troughs are not such a step; they
        // average in below.
        ref_rgb_ = s.mean_rgb;
        ref_level_ = s.level;
        ref_clipped_ = s.clipped_fraction;
        have_ref_ = true;
    } else {
        constexpr float a = 0.05f;
        for (std::size_t c = 0; c < 3; ++c) ref_rgb_[c] += a * (s.mean_rgb[c] - ref_rgb_[c]);
        ref_level_ += a * (s.level - ref_level_);
        ref_clipped_ += a * (s.clipped_fraction - ref_clipped_);
    }
}

LedColor LedTracker::classify_frame(const RoiSample& s) {
    bool was_lit = last_symbol_ != LedColor::Off;
    if (have_ref_) {
        std::array<float, 3> excess{};
        for (std::size_t c = 0; c < 3; ++c) {
            excess[c] = std::max(0.0f, s.unclipped_rgb[c] - ref_rgb_[c]);
        }
        float rise = s.level - ref_level_;
        // Hysteresis between the slot's own off level and a clear rise above it.
        float threshold = std::max(0.01f, 0.5f * ref_level_);
        bool above = rise > (was_lit ? 0.5f * threshold : threshold);
        if (above) {
            auto color = colors_.classify(excess);
            if (color != LedColor::White) return color;
            // Neutral light: a white LED adds far more than room-light flicker does, or
            // clips pixels the dark slot did not.
            bool white = rise > ref_level_ + 0.02f || s.clipped_fraction > ref_clipped_ + 0.01f;
            if (white) return LedColor::White;
        }
        // A frame that rose but shows no LED colour is ambiguous (a partly lit white LED
        // under a rolling shutter, a flicker peak): it must not raise the reference.
        if (!above) learn_reference(s);
        return LedColor::Off;
    }
    // No reference yet: only a clearly chromatic halo or a clipped core counts as lit.
    auto color = colors_.classify(s.halo_rgb);
    if (color != LedColor::White && color != LedColor::Unknown && s.halo_level >= 0.02f) {
        return color;
    }
    if (s.clipped_fraction >= 0.01f) return color == LedColor::Unknown ? color : LedColor::White;
    learn_reference(s);
    return LedColor::Off;
}

LedColor LedTracker::run_color(const Run& run) const {
    if (run.symbol == LedColor::Off) return LedColor::Off;
    int best = -1, best_count = 0, decided = 0;
    for (int c = 1; c < kLedColorCount; ++c) {
        if (static_cast<LedColor>(c) == LedColor::Unknown) continue;
        int n = run.counts[static_cast<std::size_t>(c)];
        decided += n;
        if (n > best_count) {
            best = c;
            best_count = n;
        }
    }
    if (best < 0) return LedColor::Unknown;
    // A run that began in a colour keeps it while that colour wins among the frames that
    // showed one: a frame whose hue fell between the recipe's ranges (the halo of a
    // clipped core bent by white balance or flicker) is no evidence for another colour.
    bool kept = static_cast<LedColor>(best) == run.symbol && 2 * best_count > decided;
    if (2 * best_count < run.frames && !kept) return LedColor::Unknown;
    return static_cast<LedColor>(best);
}

int LedTracker::clear_frames(const Run& run) {
    int n = 0;
    for (int c = 1; c < kLedColorCount; ++c) {
        if (static_cast<LedColor>(c) != LedColor::Unknown)
            n += run.counts[static_cast<std::size_t>(c)];
    }
    return n;
}

void LedTracker::push_symbol(double t, LedColor symbol) {
    auto start_run = [&](double start, double first_t, LedColor s) {
        Run r;
        r.symbol = s;
        r.start = start;
        r.first_t = first_t;
        r.last_t = t;
        r.frames = 1;
        r.counts[idx(s)] = 1;
        runs_.push_back(r);
        while (runs_.size() > kMaxRuns) runs_.pop_front();
    };
    if (runs_.empty()) {
        start_run(t, t, symbol);
        return;
    }
    Run& cur = runs_.back();
    bool cur_lit = cur.symbol != LedColor::Off, now_lit = symbol != LedColor::Off;
    if (cur_lit != now_lit) {
        start_run(0.5 * (cur.last_t + t), t, symbol);
        return;
    }
    cur.frames += 1;
    cur.counts[idx(symbol)] += 1;
    double prev_t = cur.last_t;
    cur.last_t = t;
    if (!now_lit) return;
    // The run keeps the colour it began with; another colour splits it only when it
    // persists for two frames (a mixed frame at a colour change is not a phase).
    if (symbol == LedColor::Unknown || symbol == cur.symbol) {
        cur.pending_frames = 0;
        return;
    }
    if (cur.symbol == LedColor::Unknown &&
        (cur.frames <= 3 || (cur.counts[idx(symbol)] == clear_frames(cur) &&
                             4 * cur.counts[idx(symbol)] >= cur.frames))) {
        // A run that began on an unclear frame takes the first clear colour, or later the
        // only one it shows once a quarter of its frames show it: which frame a steady
        // LED's run began on must not decide its colour (an amber whose halo often falls
        // between amber and green was "unknown" when its run began on such a frame).
        cur.symbol = symbol;
        cur.pending_frames = 0;
        return;
    }
    if (cur.pending_frames > 0 && cur.pending == symbol) {
        cur.pending_frames += 1;
    } else {
        cur.pending = symbol;
        cur.pending_frames = 1;
        cur.pending_first_t = t;
        cur.before_pending_t = prev_t;
    }
    if (cur.pending_frames >= 2) {
        // A colour change that persists: the lit run splits (alternation).
        double first = cur.pending_first_t;
        double edge = 0.5 * (cur.before_pending_t + first);
        int moved = cur.pending_frames;
        cur.frames -= moved;
        cur.counts[idx(symbol)] -= moved;
        cur.last_t = cur.before_pending_t;
        cur.pending_frames = 0;
        if (cur.frames <= 0) {
            runs_.pop_back();
        }
        start_run(edge, first, symbol);
        runs_.back().frames = moved;
        runs_.back().counts[idx(symbol)] = moved;
    }
}

double LedTracker::run_duration(std::size_t from_end, double t) const {
    // from_end 0 = the current (ongoing) run, measured up to the latest frame.
    std::size_t i = runs_.size() - 1 - from_end;
    double end = from_end == 0 ? t : runs_[i + 1].start;
    return end - runs_[i].start;
}

bool LedTracker::consistent(double duration, double expected) const {
    return std::abs(duration - expected) <= options_.phase_tolerance * expected + 1.5 * dt_;
}

std::optional<LedTracker::Periodic> LedTracker::fit_periodic(double t) const {
    if (runs_.size() < 3 || dt_ <= 0) return std::nullopt;
    std::size_t n = runs_.size();
    const Run& z1 = runs_[n - 3];
    const Run& z2 = runs_[n - 2];
    const Run& z3 = runs_[n - 1];
    LedColor x = run_color(z1), y = run_color(z2);
    // The current run may still be settling its colour: its first symbol counts too.
    if (run_color(z3) != x && z3.symbol != x) return std::nullopt;
    if (x == y) return std::nullopt;
    double d1 = run_duration(2, t), d2 = run_duration(1, t), d3 = run_duration(0, t);
    double period = d1 + d2;
    // The current phase must have confirmed the first one, without outlasting it.
    if (d3 < std::min(0.5 * d1, d1 - 1.5 * dt_) || z3.frames < 1) return std::nullopt;
    if (d3 > d1 * (1 + options_.phase_tolerance) + 2 * dt_) return std::nullopt;
    if (period > 1.3 / options_.min_blink_hz) return std::nullopt;
    Periodic p;
    p.a = x;
    p.b = y;
    p.period = period;
    p.dur_a = d1;
    p.dur_b = d2;
    // Runs of a single frame in the recent history: the LED changes faster than the
    // camera can follow, or noise toggles it. Only since the state the pattern began from
    // (a run as long as a steady/off reading needs): the flicker of an earlier pattern
    // before a long steady says nothing about this one.
    int short_runs = 0;
    for (std::size_t k = 1; k < std::min<std::size_t>(n, 9); ++k) {
        const Run& r = runs_[n - 1 - k];
        auto c = run_color(r);
        double hold = options_.hold_for(c == LedColor::Unknown ? LedColor::White : c);
        if (k >= 3 && run_duration(k, t) >= std::max(hold, 2 * std::max(d1, d2) + 2 * dt_)) break;
        if (r.frames <= 1) ++short_runs;
    }
    if (period < 3.8 * dt_) {
        // Faster than a quarter of the frame rate: the phases are a frame or two long, so
        // noise could fake it and aliasing could bend its frequency; ask for three short
        // periods in a row and then only say "unsure".
        if (n < 7) return std::nullopt;
        for (std::size_t k = 0; k < 6; ++k) {
            const Run& r = runs_[n - 1 - k];
            if (run_color(r) != (k % 2 == 0 ? x : y) && r.symbol != (k % 2 == 0 ? x : y)) {
                return std::nullopt;
            }
            if (k > 0 && run_duration(k, t) > 3.5 * dt_) return std::nullopt;
        }
        p.too_fast = true;
        p.onset = runs_[n - 6].start;
        return p;
    }
    // The first run seen began before the camera looked: its length is no phase.
    if (z1.start <= first_frame_t_) return std::nullopt;
    std::size_t oldest_phase = n - 3;  // the oldest run known to be a phase of it
    if (period < 6 * dt_ || short_runs >= 3) {
        // Near a quarter of the frame rate one period cannot tell a blink from a faster
        // one sampled unevenly (or from noise): measure over up to six periods, and ask
        // every phase to stay within a frame of its kind's mean. Irregular or too fast is
        // "unsure", never a frequency.
        // The walk stops at the state the blink began from (a run as long as the "before"
        // rule below asks): it is no phase, and counting it would make the blink look
        // irregular until it left the window, six periods later.
        // It stops too at a run far longer than any phase of this blink but shorter than a
        // state's hold (a reboot's dark before a fast blink, in a recipe that also has a
        // slow blink of that colour, whose long dark phases make the hold long): no phase of
        // it either. The phase right after such a run may hold the tail of whatever it was,
        // so a whole period after that phase must decide (span 3 at least).
        std::size_t span = 0;
        bool after_state = false, after_pattern = false;
        for (std::size_t k = 1; k < std::min<std::size_t>(n, 13); ++k) {
            const Run& r = runs_[n - 1 - k];
            auto c = run_color(r);
            double hold = options_.hold_for(c == LedColor::Unknown ? LedColor::White : c);
            const double past_any_phase = 2 * std::max(d1, d2) + 2 * dt_;
            if (k >= 3 && run_duration(k, t) >= past_any_phase) {
                (run_duration(k, t) >= hold ? after_state : after_pattern) = true;
                break;
            }
            LedColor want = k % 2 == 0 ? x : y;
            if ((c != want && r.symbol != want) || r.start <= first_frame_t_) break;
            span = k;
        }
        // Right after a long previous state there is no earlier pattern to confuse: as for
        // slower blinks, one period of phases of two frames or more, confirmed by the
        // third, suffices when the period is clearly slower than a quarter of the frame
        // rate (4.5 frames below: midpoint edges put an LED faster than fps/4 at 4 frames
        // per period at most, plus jitter).
        // Only a blink: a lit/off edge is a level step past hysteresis, while two lit
        // colours can trade places for a few frames at a colour change under PWM.
        bool blink = x == LedColor::Off || y == LedColor::Off;
        bool fresh = !after_state && span >= 2 && fresh_start(n - 1 - span, x, y, d1, d2, t);
        bool settled_start = blink && (after_state || fresh || (after_pattern && span >= 3)) &&
                             span >= 2 && z1.frames >= 2 && z2.frames >= 2;
        if (span < 6 && !settled_start) return std::nullopt;
        double sum[2] = {0, 0};
        int count[2] = {0, 0};
        for (std::size_t k = 1; k <= span; ++k) {
            sum[k % 2] += run_duration(k, t);
            ++count[k % 2];
        }
        double mean_x = sum[0] / count[0], mean_y = sum[1] / count[1];
        bool regular = true;
        for (std::size_t k = 1; k <= span; ++k) {
            double mean = k % 2 == 0 ? mean_x : mean_y;
            if (std::abs(run_duration(k, t) - mean) > 1.1 * dt_) regular = false;
        }
        std::size_t far = span % 2 == 0 ? span : span - 1;
        double average =
            (runs_[n - 1].start - runs_[n - 1 - far].start) / static_cast<double>(far / 2);
        // Too little to call a blink too fast or irregular: wait for the full span.
        if (span < 6 && (!regular || average < 4.5 * dt_)) return std::nullopt;
        if (!regular || average < 3.9 * dt_) {
            p.too_fast = true;
            p.onset = runs_[n - 1 - span].start;
            return p;
        }
        oldest_phase = std::min(oldest_phase, n - 1 - span);
        period = average;
        p.period = average;
        p.dur_a = mean_x;
        p.dur_b = average - mean_x;
        d1 = mean_x;
    }
    double share = d1 / period;
    if (share < 0.18 || share > 0.82) return std::nullopt;  // duty 25-75% and edge frames
    // Phases of a single frame are what noise makes: ask for one more matching period.
    std::size_t back = 3;
    if (z1.frames < 2 || z2.frames < 2) {
        if (n < 5) return std::nullopt;
        if (run_color(runs_[n - 5]) != x || run_color(runs_[n - 4]) != y) return std::nullopt;
        if (!consistent(run_duration(4, t), d1) || !consistent(run_duration(3, t), d2)) {
            return std::nullopt;
        }
        back = 5;
    }
    // The run before the first period must be a phase of the same alternation, or the
    // state the blink began from (clearly longer than a phase). Anything else means the
    // first phase may be the cut-off tail of the previous pattern, or the changes are
    // irregular: wait for the next phase.
    if (n >= back + 1) {
        const Run& r0 = runs_[n - back - 1];
        double d0 = run_duration(back, t);
        bool phase = run_color(r0) == y && consistent(d0, d2);
        // A previous state lasted as long as a steady/off reading needs; a shorter run
        // is (part of) the previous pattern, whose last phase may be cut short.
        auto c0 = run_color(r0);
        bool before =
            d0 >= std::max(options_.hold_for(c0 == LedColor::Unknown ? LedColor::White : c0),
                           2 * std::max(d1, d2) + 2 * dt_);
        if (r0.start > first_frame_t_ && !phase && !before &&
            !fresh_start(n - back, x, y, d1, d2, t)) {
            return std::nullopt;
        }
    }
    // Onset: walk back over earlier runs that belong to the same alternation.
    std::size_t first = n - back;
    while (first >= 2) {            // never into the first run: it began before the camera looked
        std::size_t k = n - first;  // from_end index of runs_[first - 1] is k
        const Run& r = runs_[first - 1];
        bool is_a = (n - first) % 2 == 1;  // runs_[first-1] has the other phase's symbol
        LedColor want = is_a ? y : x;
        double expected = is_a ? d2 : d1;
        if (run_color(r) != want || !consistent(run_duration(k, t), expected)) break;
        --first;
    }
    p.onset = runs_[first].start;
    oldest_phase = std::min(oldest_phase, first);
    p.phases = n - oldest_phase;
    p.first_frame_t = runs_[oldest_phase].first_t;
    return p;
}

bool LedTracker::fresh_start(std::size_t index, LedColor x, LedColor y, double d1, double d2,
                             double t) const {
    // The first phase began at an edge into a lit colour of the new pattern, and no run
    // since the state before (back to one as long as a steady/off reading needs, or as far
    // as the runs kept reach) showed that colour: the first phase cannot hold the cut-off
    // tail of an earlier pattern's phase (a red blink's last lit phase running into a red
    // blink at another rate), so it is a whole phase and the blink is decided on one
    // period, as after off. The phases after it begin and end at the new pattern's own
    // edges. A dark first phase is never such a start: the previous pattern's dark tail
    // may be in it.
    // Only a blink: two lit colours can trade places for a few frames under PWM (a dimmed
    // white seen partly green), and such flicker must not pass for a fresh alternation.
    if (x != LedColor::Off && y != LedColor::Off) return false;
    auto c = run_color(runs_[index]);
    if (c == LedColor::Off || c == LedColor::Unknown || (c != x && c != y)) return false;
    if (runs_[index].symbol != c || index == 0) return false;
    for (std::size_t i = index; i-- > 0;) {
        const Run& r = runs_[i];
        auto ci = run_color(r);
        if (ci == c || r.symbol == c || (ci == LedColor::Unknown && r.symbol != LedColor::Off))
            return false;
        double d = run_duration(runs_.size() - 1 - i, t);
        double hold = options_.hold_for(ci == LedColor::Unknown ? LedColor::White : ci);
        if (d >= std::max(hold, 2 * std::max(d1, d2) + 2 * dt_) || r.start <= first_frame_t_)
            return true;
    }
    return true;
}

bool LedTracker::faster_blink_fits(const Periodic& p) const {
    // Could a faster blink (up to a little past fps/2: above, even sampling cannot tell
    // it from a slower one anyway) have given exactly the frames seen since the blink
    // began? Each frame is taken at its timestamp; a square wave of period P,
    // any duty and any phase puts every frame at t mod P, and fits when the frames of one
    // colour form one arc of that circle and the others the rest. Exposure and the lit
    // threshold only widen or narrow the lit arc, which the free duty absorbs. Which frames
    // share an arc changes only where two frames of different colours meet on the circle
    // (t_j - t_i = m P), so one period between each pair of such points tells for all.
    // Jitter and drops are no special case: they are just where the frames fall.
    const bool blink = p.a == LedColor::Off || p.b == LedColor::Off;
    const LedColor lit = p.a == LedColor::Off ? p.b : p.a;
    std::vector<double> at_a, at_b;  // frames showing the first symbol, and the other
    for (const auto& f : frames_) {
        if (f.t < p.first_frame_t) continue;
        if (blink) {
            bool is_lit = f.symbol != LedColor::Off;
            (is_lit == (p.a == lit) ? at_a : at_b).push_back(f.t);
        } else if (f.symbol == p.a || f.symbol == p.b) {
            (f.symbol == p.a ? at_a : at_b).push_back(f.t);
        }
    }
    if (at_a.empty() || at_b.empty()) return true;
    // Faster than fps/4, or a third faster than the blink measured (a phase lost to a
    // dropped frame makes a blink look half as fast; the frequency tolerance cannot
    // absorb that).
    const double frame = span_frames_ > 0 ? span_s_ / span_frames_ : dt_;
    const double lo = 1.8 * frame, hi = std::max(4 * frame, 0.75 * p.period) * (1 - 1e-9);
    std::vector<double> cuts{lo, hi};
    for (double ta : at_a) {
        for (double tb : at_b) {
            double gap = std::abs(ta - tb);
            for (double m = std::max(1.0, std::ceil(gap / hi)); m * lo <= gap; m += 1) {
                double period = gap / m;
                if (period > lo && period < hi) cuts.push_back(period);
            }
        }
    }
    std::sort(cuts.begin(), cuts.end());
    const double ref = at_a.front();
    auto fits = [&](double period) {
        auto position = [&](double t) {
            double d = std::fmod(t - ref, period);
            return d < 0 ? d + period : d;
        };
        // The arc of the first symbol holds `ref`; the others lie between `ahead` and
        // `behind`, so every frame of the first symbol must lie outside that stretch.
        double ahead = period, behind = 0;
        for (double tb : at_b) {
            double d = position(tb);
            ahead = std::min(ahead, d);
            behind = std::max(behind, d);
        }
        return std::none_of(at_a.begin(), at_a.end(), [&](double ta) {
            double d = position(ta);
            return d >= ahead && d <= behind;
        });
    };
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
        if (cuts[k + 1] - cuts[k] < 1e-12) continue;
        if (fits(0.5 * (cuts[k] + cuts[k + 1]))) return true;
    }
    return false;
}

std::optional<LedObservation> LedTracker::decide(double t) {
    const Run& cur = runs_.back();
    double d = run_duration(0, t);
    auto periodic = fit_periodic(t);
    bool in_periodic =
        kind_ == Kind::Blink || kind_ == Kind::Alternate || (kind_ == Kind::Unsure && period_ > 0);
    if (periodic) {
        auto lit_a = periodic->a != LedColor::Off ? periodic->a : periodic->b;
        auto other = periodic->a != LedColor::Off ? periodic->b : periodic->a;
        bool blink = other == LedColor::Off;
        LedColor ca = blink ? lit_a : std::min(periodic->a, periodic->b);
        LedColor cb = blink ? LedColor::Off : std::max(periodic->a, periodic->b);
        Kind kind = periodic->too_fast || ca == LedColor::Unknown || cb == LedColor::Unknown
                        ? Kind::Unsure
                        : (blink ? Kind::Blink : Kind::Alternate);
        // A too-fast blink has no trustworthy period: the same colours are the same reading.
        bool same =
            in_periodic && color_a_ == ca && color_b_ == cb && kind == kind_ &&
            (kind == Kind::Unsure || std::abs(periodic->period - period_) <= 0.25 * period_);
        double dur_lit =
            blink ? (periodic->a == lit_a ? periodic->dur_a : periodic->dur_b) : periodic->dur_a;
        double dur_dark = periodic->period - dur_lit;
        if (same) {
            if (cur.frames == 1) {
                period_ = 0.7 * period_ + 0.3 * periodic->period;
                dur_a_ = 0.7 * dur_a_ + 0.3 * dur_lit;
                dur_b_ = 0.7 * dur_b_ + 0.3 * dur_dark;
            }
            return std::nullopt;
        }
        if (kind != Kind::Unsure && periodic->period < kAliasCheckFrames * dt_) {
            // A frequency only when no faster blink fits the frames: until then wait,
            // and after three periods of it say unsure. While unsure of the same colours,
            // look again once per phase.
            bool unsure_now =
                kind_ == Kind::Unsure && period_ > 0 && color_a_ == ca && color_b_ == cb;
            if (unsure_now && cur.start == faster_fit_run_) return std::nullopt;
            if (faster_blink_fits(*periodic)) {
                faster_fit_run_ = cur.start;
                if (unsure_now || periodic->phases < 7) return std::nullopt;
                periodic->too_fast = true;
                kind = Kind::Unsure;
            }
        }
        kind_ = kind;
        color_a_ = ca;
        color_b_ = cb;
        period_ = periodic->too_fast ? 0 : periodic->period;
        dur_a_ = dur_lit;
        dur_b_ = dur_dark;
        since_ = periodic->onset;
        if (periodic->too_fast) period_ = periodic->period;
        return emit(t);
    }
    // Steady or off: the phase must outlast every blink phase the context allows, and
    // the phase of a blink already decided.
    LedColor c = run_color(cur);
    if (cur.frames < 2) return std::nullopt;
    // A lone odd frame (a noise spike, a flicker peak) does not restart a steady or dark
    // phase: the phase reaches back over isolated one-frame runs.
    double phase_start = cur.start;
    for (std::size_t k = runs_.size() - 1; k >= 2; k -= 2) {
        const Run& glitch = runs_[k - 1];
        const Run& before = runs_[k - 2];
        if (glitch.frames != 1 || run_color(before) != c || runs_[k].frames < 10) break;
        phase_start = before.start;
    }
    d = t - phase_start;
    double need = options_.hold_for(c == LedColor::Unknown ? LedColor::White : c);
    if (in_periodic) {
        double expected = c == color_a_ ? dur_a_ : (c == color_b_ ? dur_b_ : 0);
        need = std::max(need, expected * (1 + options_.phase_tolerance) + 2 * dt_);
    }
    if (d < need) return std::nullopt;
    Kind kind = c == LedColor::Off       ? Kind::Off
                : c == LedColor::Unknown ? Kind::Unsure
                                         : Kind::Steady;
    if (kind == kind_ && color_a_ == c && !(kind == Kind::Unsure && period_ > 0)) {
        return std::nullopt;
    }
    kind_ = kind;
    color_a_ = c;
    color_b_ = LedColor::Off;
    period_ = 0;
    dur_a_ = dur_b_ = 0;
    since_ = phase_start;
    return emit(t);
}

std::optional<LedObservation> LedTracker::emit(double t) {
    LedObservation o;
    o.slot = slot_;
    o.t = t;
    o.since = since_;
    o.camera_lost = false;
    switch (kind_) {
        case Kind::None:
            return std::nullopt;
        case Kind::Off:
            o.color = "off";
            o.pattern = "off";
            break;
        case Kind::Steady:
            o.color = std::string(color_name(color_a_));
            o.pattern = "steady";
            break;
        case Kind::Blink:
            o.color = std::string(color_name(color_a_));
            o.pattern = "blink";
            o.freq_hz = 1.0 / period_;
            o.duty = dur_a_ / period_;
            break;
        case Kind::Alternate:
            o.color = std::string(color_name(color_a_)) + "/" + std::string(color_name(color_b_));
            o.pattern = "alternate";
            o.freq_hz = 1.0 / period_;
            break;
        case Kind::Unsure:
            o.unsure = true;
            o.color =
                color_b_ == LedColor::Off || color_b_ == LedColor::Unknown
                    ? std::string(color_name(color_a_))
                    : std::string(color_name(color_a_)) + "/" + std::string(color_name(color_b_));
            o.pattern =
                period_ > 0 ? (color_b_ == LedColor::Off ? "blink" : "alternate") : "steady";
            break;
    }
    if (recipe_ && !o.unsure) o.state = recipe_->state_for(o.color, o.pattern, o.freq_hz);
    current_ = o;
    return o;
}

std::optional<LedObservation> LedTracker::update(double t, const RoiSample& sample) {
    if (last_t_ >= 0 && t <= last_t_) return std::nullopt;  // a repeated or late frame
    if (last_t_ >= 0) {
        double interval = t - last_t_;
        if (dt_ <= 0) {
            dt_ = interval;
        } else if (interval < 1.6 * dt_) {
            dt_ += 0.1 * (interval - dt_);  // dropped frames do not stretch the frame time
        }
        span_s_ += interval;
        span_frames_ += std::max(1.0, std::round(interval / dt_));
    }
    if (last_t_ < 0) first_frame_t_ = t;
    last_t_ = t;
    lost_ = false;
    last_symbol_ = classify_frame(sample);
    push_symbol(t, last_symbol_);
    frames_.push_back({t, last_symbol_});
    while (frames_.size() > kMaxFrames) frames_.pop_front();
    return decide(t);
}

std::optional<LedObservation> LedTracker::camera_lost(double t) {
    runs_.clear();
    frames_.clear();
    faster_fit_run_ = -1;
    span_s_ = span_frames_ = 0;
    kind_ = Kind::None;
    period_ = 0;
    last_t_ = -1;
    last_symbol_ = LedColor::Off;
    if (lost_) return std::nullopt;
    lost_ = true;
    LedObservation o;
    o.slot = slot_;
    o.t = t;
    o.since = t;
    o.color.clear();
    o.pattern.clear();
    o.camera_lost = true;
    current_ = o;
    return o;
}

}  // namespace linestation::vision
