#include "station/vision/led_color.hpp"

#include <algorithm>
#include <cmath>

namespace linestation::vision {

namespace {

// A channel code at or above this counts as saturated: near full scale, sensor response
// and JPEG ringing bend the colour of the pixels around a clipped core.
constexpr int kClipCode = 235;

struct LinearTable {
    std::array<float, 256> value{};
    LinearTable() {
        for (int i = 0; i < 256; ++i) {
            double c = i / 255.0;
            value[static_cast<std::size_t>(i)] =
                static_cast<float>(c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4));
        }
    }
};

const LinearTable& linear_table() {
    static const LinearTable table;
    return table;
}

// How far past the edge of a colour's hue range light may fall and still be that colour,
// and how saturated it must be for that: an LED's own light is deep (0.8-1 in linear
// light); pale light between two ranges (a PWM-dimmed white partly exposed, over a
// reference tinted by the colour before) is no evidence for either.
constexpr double kEdgeSlack = 8.0;
constexpr double kEdgeSlackSaturation = 0.6;

double hue_distance(double a, double b) {
    double d = std::fmod(std::abs(a - b), 360.0);
    return std::min(d, 360.0 - d);
}

bool hue_in(double hue, double from, double to) {
    if (from <= to) return hue >= from && hue <= to;
    return hue >= from || hue <= to;  // wraps past 360 (red)
}

}  // namespace

std::string_view color_name(LedColor color) {
    switch (color) {
        case LedColor::Off:
            return "off";
        case LedColor::Red:
            return "red";
        case LedColor::Green:
            return "green";
        case LedColor::Blue:
            return "blue";
        case LedColor::Amber:
            return "amber";
        case LedColor::White:
            return "white";
        case LedColor::Unknown:
            return "unknown";
    }
    return "unknown";
}

std::optional<LedColor> parse_color(std::string_view name) {
    for (int i = 0; i < kLedColorCount; ++i) {
        auto c = static_cast<LedColor>(i);
        if (color_name(c) == name) return c;
    }
    return std::nullopt;
}

bool is_lit(LedColor color) {
    return color != LedColor::Off;
}

float srgb_to_linear(std::uint8_t code) {
    return linear_table().value[code];
}

RoiSample measure_roi(const cv::Mat& bgr, const RoiRect& roi) {
    RoiSample s;
    int x0 = std::max(0, roi.x), y0 = std::max(0, roi.y);
    int x1 = std::min(bgr.cols, roi.x + roi.w), y1 = std::min(bgr.rows, roi.y + roi.h);
    if (x1 <= x0 || y1 <= y0 || bgr.type() != CV_8UC3) return s;
    const auto& lin = linear_table().value;
    float sum[3] = {0, 0, 0}, usum[3] = {0, 0, 0}, hsum[3] = {0, 0, 0};
    float lum_sum = 0, hw_sum = 0, hl_sum = 0;
    int unclipped = 0, total = 0;
    for (int y = y0; y < y1; ++y) {
        const std::uint8_t* p = bgr.ptr<std::uint8_t>(y) + 3 * x0;
        for (int x = x0; x < x1; ++x, p += 3) {
            float b = lin[p[0]], g = lin[p[1]], r = lin[p[2]];
            float lum = 0.2126f * r + 0.7152f * g + 0.0722f * b;
            sum[0] += r;
            sum[1] += g;
            sum[2] += b;
            lum_sum += lum;
            ++total;
            if (p[0] < kClipCode && p[1] < kClipCode && p[2] < kClipCode) {
                usum[0] += r;
                usum[1] += g;
                usum[2] += b;
                ++unclipped;
                float w = lum * lum;
                hsum[0] += w * r;
                hsum[1] += w * g;
                hsum[2] += w * b;
                hw_sum += w;
                hl_sum += w * lum;
            }
        }
    }
    float inv = 1.0f / static_cast<float>(total);
    s.level = lum_sum * inv;
    for (int c = 0; c < 3; ++c) s.mean_rgb[static_cast<std::size_t>(c)] = sum[c] * inv;
    if (unclipped > 0) {
        float uinv = 1.0f / static_cast<float>(unclipped);
        for (int c = 0; c < 3; ++c) s.unclipped_rgb[static_cast<std::size_t>(c)] = usum[c] * uinv;
    }
    if (hw_sum > 0) {
        for (int c = 0; c < 3; ++c) s.halo_rgb[static_cast<std::size_t>(c)] = hsum[c] / hw_sum;
        s.halo_level = hl_sum / hw_sum;
    }
    s.clipped_fraction = static_cast<float>(total - unclipped) * inv;
    return s;
}

Chroma chroma_of(const std::array<float, 3>& rgb) {
    double r = rgb[0], g = rgb[1], b = rgb[2];
    double mx = std::max({r, g, b}), mn = std::min({r, g, b});
    Chroma c;
    c.value = mx;
    if (mx <= 1e-9) return c;
    double d = mx - mn;
    c.saturation = d / mx;
    if (d <= 1e-12) return c;
    double h;
    if (mx == r) {
        h = 60.0 * (g - b) / d;
    } else if (mx == g) {
        h = 60.0 * (b - r) / d + 120.0;
    } else {
        h = 60.0 * (r - g) / d + 240.0;
    }
    if (h < 0) h += 360.0;
    c.hue = h;
    return c;
}

ColorTable::ColorTable(std::vector<config::ColorDefinition> definitions) {
    bool first = true;
    for (const auto& d : definitions) {
        auto color = parse_color(d.name);
        if (!color || *color == LedColor::Off || *color == LedColor::Unknown) continue;
        if (*color == LedColor::White) {
            has_white_ = true;
            continue;
        }
        ranges_.push_back({*color, d.hue_from, d.hue_to, d.min_saturation});
        min_saturation_ = first ? d.min_saturation : std::min(min_saturation_, d.min_saturation);
        first = false;
    }
    // Neutral: less saturated than every colour definition asks for. A white LED seen
    // through a camera's white-balance error still stays well below an LED colour's
    // saturation (0.8-1 in linear light).
    white_max_saturation_ = 0;
    for (const auto& r : ranges_)
        white_max_saturation_ = std::max(white_max_saturation_, r.min_saturation);
    if (ranges_.empty()) white_max_saturation_ = 0.35;
}

LedColor ColorTable::classify(const std::array<float, 3>& rgb) const {
    auto c = chroma_of(rgb);
    if (c.value <= 0) return LedColor::Unknown;
    for (const auto& r : ranges_) {
        if (c.saturation >= r.min_saturation && hue_in(c.hue, r.from, r.to)) return r.color;
    }
    if (c.saturation < white_max_saturation_) {
        return has_white_ ? LedColor::White : LedColor::Unknown;
    }
    // Between two ranges: a camera's white-balance error (a 12% gain error turns an amber
    // halo by about 5 degrees) and the halo of a core clipped in two channels (amber clips
    // to yellow, whose colour bleeds into the pixels around it: another 4) move an LED's
    // hue past the edge of its range. Such light is the colour whose edge is nearest, when
    // that edge is within kEdgeSlack and nearer than every other range's; a hue farther
    // from every range (purple between blue and red) stays unknown.
    LedColor nearest = LedColor::Unknown;
    double best = 360, second = 360;
    for (const auto& r : ranges_) {
        double d = std::min(hue_distance(c.hue, r.from), hue_distance(c.hue, r.to));
        if (d < best) {
            second = best;
            best = d;
            nearest = r.color;
        } else {
            second = std::min(second, d);
        }
    }
    bool saturated = c.saturation >= kEdgeSlackSaturation;
    for (const auto& r : ranges_) {
        if (r.color == nearest && c.saturation < r.min_saturation) saturated = false;
    }
    return saturated && best <= kEdgeSlack && best < second ? nearest : LedColor::Unknown;
}

}  // namespace linestation::vision
