// Colour decisions per ROI and frame: saturated cores, neutral diffusers, amber vs red.

#include <gtest/gtest.h>

#include "fixtures/virtual/camera/led_clip.hpp"
#include "station/config/recipe.hpp"
#include "station/vision/led_color.hpp"
#include "station/vision/led_scanner.hpp"
#include "tests/vision/clip_scoring.hpp"
#include "tests/vision/vision_clips.hpp"

namespace linestation::vision {
namespace {

using testing::phase;
using testing::script;

std::array<float, 3> hue(double degrees, double saturation = 0.95) {
    auto rgb = virtual_line::hue_to_rgb(degrees, saturation);
    return {static_cast<float>(rgb[0]), static_cast<float>(rgb[1]), static_cast<float>(rgb[2])};
}

TEST(VisionColor, RedWrapsAroundHueZero) {
    ColorTable table;
    EXPECT_EQ(table.classify(hue(355)), LedColor::Red);
    EXPECT_EQ(table.classify(hue(5)), LedColor::Red);
    EXPECT_EQ(table.classify(hue(35)), LedColor::Amber);
    EXPECT_EQ(table.classify(hue(125)), LedColor::Green);
    EXPECT_EQ(table.classify(hue(230)), LedColor::Blue);
    EXPECT_EQ(table.classify(hue(40, 0.1)), LedColor::White);
    // Purple is no colour the recipe knows: not white, not red.
    EXPECT_EQ(table.classify(hue(290)), LedColor::Unknown);
}

TEST(VisionColor, RecipeColoursOnly) {
    // The smart plug's recipe knows only blue: a green LED is not one of its readings.
    auto recipe = config::load_recipe(LS_SOURCE_DIR "/recipes/tuya-smart-plug.json");
    ColorTable table(recipe.colors);
    EXPECT_EQ(table.classify(hue(230)), LedColor::Blue);
    EXPECT_EQ(table.classify(hue(125)), LedColor::Unknown);
}

// The colour every lit frame of a steady LED shows, through the whole pipeline.
std::vector<LedColor> frame_colors(const char* color, double brightness, std::uint64_t seed) {
    testing::CleanCamera cam;
    cam.seed = seed;
    auto spec =
        testing::clip_of({script({phase(0, "off", "off"), phase(0.5, color, "steady")})}, 1.5, cam);
    spec.camera.led_brightness = brightness;
    LedScanner scanner({{"A1", roi_of(spec.rois[0])}});
    virtual_line::ClipPlayer player(spec);
    std::vector<LedColor> colors;
    while (auto f = player.next()) {
        scanner.process(f->image, f->t);
        if (f->t > 0.6) colors.push_back(scanner.frame_color(0));
    }
    return colors;
}

TEST(VisionColor, SaturatedCoreColourComesFromTheHalo) {
    // A core far above saturation reads white on the sensor; the halo keeps the colour.
    testing::CleanCamera cam;
    auto spec = testing::clip_of({script({phase(0, "red", "steady")})}, 0.1, cam);
    spec.camera.led_brightness = 12;
    virtual_line::ClipPlayer player(spec);
    auto frame = player.next();
    ASSERT_TRUE(frame);
    auto sample = measure_roi(frame->image, roi_of(spec.rois[0]));
    EXPECT_GT(sample.clipped_fraction, 0.02);
    EXPECT_EQ(ColorTable().classify(sample.halo_rgb), LedColor::Red);
    for (auto c : frame_colors("red", 12, 3)) EXPECT_EQ(c, LedColor::Red);
}

TEST(VisionColor, AmberIsNotRedAcrossUnits) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        for (auto c : frame_colors("amber", 5, seed)) EXPECT_EQ(c, LedColor::Amber) << seed;
        for (auto c : frame_colors("red", 5, seed)) EXPECT_EQ(c, LedColor::Red) << seed;
        for (auto c : frame_colors("green", 5, seed)) EXPECT_EQ(c, LedColor::Green) << seed;
        for (auto c : frame_colors("white", 5, seed)) EXPECT_EQ(c, LedColor::White) << seed;
    }
}

TEST(VisionColor, HueJustPastARangesEdgeIsThatColour) {
    ColorTable table;
    EXPECT_EQ(table.classify(hue(55)), LedColor::Amber);  // amber ends at 50, green starts at 75
    EXPECT_EQ(table.classify(hue(68)), LedColor::Green);
    EXPECT_EQ(table.classify(hue(62)), LedColor::Unknown);  // far from both
    EXPECT_EQ(table.classify(hue(16)), LedColor::Red);      // red ends at 15, amber starts at 20
    EXPECT_EQ(table.classify(hue(19)), LedColor::Amber);
    EXPECT_EQ(table.classify(hue(290)), LedColor::Unknown);  // purple: no colour near it
    EXPECT_EQ(table.classify(hue(55, 0.2)), LedColor::White);
}

// An amber unit at the yellow end (emission hue 46) seen by a camera whose white balance is
// 12% off (red gain low, blue high, as `random_clip` picks them): its halo reads about 55
// degrees, past amber's range (20-50). It was read as a steady LED of colour "unknown".
TEST(VisionColor, YellowishAmberUnderAWhiteBalanceErrorIsAmberSteady) {
    for (std::uint64_t seed : {1, 2, 3}) {
        testing::CleanCamera cam;
        cam.seed = seed;
        auto spec = testing::clip_of(
            {script({phase(0, "off", "off"), phase(0.5, "amber", "steady")})}, 4.0, cam);
        spec.camera.white_balance = {0.88, 1.0, 1.12};
        spec.units[0].emission[static_cast<std::size_t>(virtual_line::LedLight::Amber)] =
            virtual_line::hue_to_rgb(46, 0.97);
        auto seen = testing::observe(spec);
        ASSERT_FALSE(seen.empty()) << seed;
        EXPECT_EQ(seen.back().color, "amber") << seed << " " << observation_json(seen.back());
        EXPECT_EQ(seen.back().pattern, "steady") << seed;
        EXPECT_FALSE(seen.back().unsure) << seed;
    }
}

TEST(VisionColor, NeutralUnlitDiffuserUnderBrightRoomLightIsOff) {
    testing::CleanCamera cam;
    cam.ambient = 0.5;  // a bright, flickering room; the light pipe is nearly white
    cam.flicker_depth = 0.35;
    cam.exposure_s = 0.0008;
    auto spec = testing::clip_of({script({phase(0, "off", "off")})}, 4.0, cam);
    auto seen = testing::observe(spec);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].pattern, "off");
    EXPECT_EQ(seen[0].color, "off");
}

}  // namespace
}  // namespace linestation::vision
