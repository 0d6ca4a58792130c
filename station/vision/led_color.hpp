#pragma once
// Per-frame measurement of one slot's LED region and the colour decision, in linear light.
// A bright LED core clips to white on the sensor, so its colour is read from the halo
// below saturation; an unlit diffuser under room light is bright but neutral, so a colour
// needs chroma relative to the slot's own "off" reference.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "station/config/recipe.hpp"

namespace linestation::vision {

enum class LedColor : std::uint8_t { Off, Red, Green, Blue, Amber, White, Unknown };
constexpr int kLedColorCount = 7;

std::string_view color_name(LedColor color);
std::optional<LedColor> parse_color(std::string_view name);
bool is_lit(LedColor color);

struct RoiRect {
    int x = 0, y = 0, w = 0, h = 0;
};

// What one frame shows inside one ROI. All values are linear light, 0..1.
struct RoiSample {
    float level = 0;                       // mean luminance over the ROI (clipped pixels included)
    std::array<float, 3> mean_rgb{};       // mean over every pixel
    std::array<float, 3> unclipped_rgb{};  // mean over pixels with no channel near saturation
    std::array<float, 3> halo_rgb{};       // unclipped pixels weighted by luminance squared
    float halo_level = 0;                  // the weighted mean luminance of that halo
    float clipped_fraction = 0;            // share of pixels with a channel at saturation
};

// Measures a BGR8 frame inside `roi` (clamped to the frame; an empty overlap gives zeros).
RoiSample measure_roi(const cv::Mat& bgr, const RoiRect& roi);

// sRGB 8-bit code to linear light.
float srgb_to_linear(std::uint8_t code);

// Hue (degrees, 0..360) and saturation (0..1, HSV-style) of a linear RGB vector.
struct Chroma {
    double hue = 0;
    double saturation = 0;
    double value = 0;
};
Chroma chroma_of(const std::array<float, 3>& rgb);

// The recipe's colour definitions, as a classifier of emitted light.
class ColorTable {
  public:
    explicit ColorTable(
        std::vector<config::ColorDefinition> definitions = config::default_colors());
    // The colour of light `rgb` (linear, already relative to the off reference):
    // a chromatic colour whose hue range and saturation match (or whose range ends at most
    // 8 degrees away, nearer than any other: white balance and clipping turn hues a
    // little), White when nearly neutral, Unknown when chromatic and far from every range.
    LedColor classify(const std::array<float, 3>& rgb) const;
    // Below this saturation light counts as white (neutral).
    double white_max_saturation() const { return white_max_saturation_; }
    double min_saturation() const { return min_saturation_; }

  private:
    struct Range {
        LedColor color;
        double from, to, min_saturation;
    };
    std::vector<Range> ranges_;
    bool has_white_ = false;
    double white_max_saturation_ = 0.2;
    double min_saturation_ = 0.35;
};

}  // namespace linestation::vision
