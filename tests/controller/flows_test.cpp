// Every shipped recipe with every flow it declares, as a shift on the virtual line on
// virtual time, graded from the world (the cloud twin's record and the devices' hidden
// truths): at least 99.5 % of the verdicts agree, no false PASS, nothing left bound to the
// station's accounts, every unit loaded gets its verdict. One ctest case per recipe and
// flow (gtest_discover_tests), so they run in parallel.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/simulation.hpp"
#include "fixtures/virtual/line/virtual_line.hpp"
#include "station/clock/clock.hpp"
#include "station/config/recipe.hpp"
#include "station/qr/pairing_qr.hpp"
#include "tests/common/process.hpp"

namespace {

using linestation::virtual_line::Binding;
using linestation::virtual_line::DeviceFamily;

struct RecipeFlow {
    std::filesystem::path recipe;
    std::string product;
    std::string flow;
};

std::vector<RecipeFlow> shipped_flows() {
    std::vector<RecipeFlow> out;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(LS_SOURCE_DIR "/recipes")) {
        if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const auto recipe = linestation::config::load_recipe(f);
        for (const auto& [flow, spec] : recipe.flows) out.push_back({f, recipe.product_id, flow});
    }
    return out;
}

// What a failing case prints for its parameter.
void PrintTo(const RecipeFlow& p, std::ostream* out) {
    *out << p.recipe.filename().string() << " --flow " << p.flow;
}

std::string case_name(const ::testing::TestParamInfo<RecipeFlow>& info) {
    std::string name = info.param.product + "_" + info.param.flow;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

// Enough units that one disagreement in two hundred is a measured figure; 8 slots, as the
// virtual fixture has. A few seconds each without the camera in the loop.
constexpr int kUnits = 400;

// One shift of `p`, graded from the world; `vision`: the camera twin's frames through the
// station's LED vision instead of the devices' LED programs.
void expect_agreement(const RecipeFlow& p, bool vision) {
    linestation::app::SimulationOptions o;
    o.slots = 8;
    o.units = kUnits;
    o.seed = 11;
    o.vision = vision;
    o.recipe = p.recipe;
    o.flow = p.flow;
    const auto sum = linestation::app::run_simulation(o);
    std::ostringstream why;
    for (const auto& [k, n] : sum.disagree_by_kind) why << "\n  " << k << " " << n;
    for (const auto& id : sum.left_bound_ids) why << "\n  left bound: " << id;
    EXPECT_EQ(sum.recipe, p.product);
    EXPECT_EQ(sum.flow, p.flow);
    ASSERT_EQ(sum.units, kUnits) << why.str();
    EXPECT_EQ(sum.no_verdict, 0);
    EXPECT_EQ(sum.false_pass, 0) << why.str();
    EXPECT_EQ(sum.left_bound, 0) << why.str();
    const double agree = 100.0 * (sum.units - sum.disagree) / sum.units;
    EXPECT_GE(agree, 99.5) << sum.disagree << " of " << sum.units << " disagree:" << why.str();
    // The mix has bad units: a flow that passed everything (or nothing) proves nothing.
    int failed = 0;
    for (const auto& [reason, n] : sum.fail) failed += n;
    EXPECT_GT(sum.pass, kUnits / 2);
    EXPECT_GT(failed, kUnits / 50) << "the mix's bad units were not failed";
    if (vision) {
        EXPECT_GT(sum.frames, 0) << "no frame went through the vision";
    }
    std::cout << "[ figures  ] " << p.product << " " << p.flow << (vision ? " (vision)" : "")
              << ": " << sum.units << " units, " << agree << " % agree, " << sum.wall_s
              << " s wall\n";
}

class Flows : public ::testing::TestWithParam<RecipeFlow> {};

TEST_P(Flows, AgreeWithTheWorld) {
    expect_agreement(GetParam(), false);
}

// The plug with the station's vision in the loop: its one blue LED is dark while it reboots
// and joins, blinks fast for 0.3-3 s before it reads the code still on the screen, and is
// steady for 2-4 s before a refusal sends it back to pairing (issue 11, item 5).
TEST(Flows, SmartPlugRepairWithVisionInTheLoopAgreesWithTheWorld) {
    expect_agreement({LS_SOURCE_DIR "/recipes/tuya-smart-plug.json", "tuya-smart-plug", "repair"},
                     true);
}

INSTANTIATE_TEST_SUITE_P(ShippedRecipes, Flows, ::testing::ValuesIn(shipped_flows()), case_name);

TEST(Flows, EveryShippedRecipeDeclaresAFlowTheVirtualLineRuns) {
    const auto flows = shipped_flows();
    ASSERT_GE(flows.size(), 4u);
    for (const auto& f : flows) {
        EXPECT_NO_THROW(linestation::virtual_line::virtual_product(f.product))
            << f.product << ": the twins have no devices of this product";
    }
}

TEST(Flows, AFlowTheRecipeDoesNotDeclareIsRefusedWithTheDeclaredOnes) {
    auto r = linestation::testing::run_process(
        {LS_STATION_BINARY, "simulate", "--units", "1", "--recipe",
         LS_SOURCE_DIR "/recipes/tuya-smart-plug.json", "--flow", "unbind"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("declares no such flow"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("repair"), std::string::npos) << r.err;
    auto bad = linestation::testing::run_process(
        {LS_STATION_BINARY, "simulate", "--units", "1", "--flow", "unbond"});
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE(bad.err.find("expected unbind, pre_activation, repair or wired, got \"unbond\""),
              std::string::npos)
        << bad.err;
}

// The mix file says which product the devices are; a truth the product's kind cannot have
// (a gateway has no camera) is refused where it stands.
TEST(Flows, AMixNamesItsProductAndOnlyTruthsItsKindCanHave) {
    using linestation::virtual_line::load_mix;
    const std::string mixes = LS_SOURCE_DIR "/fixtures/virtual/mixes/";
    const auto plug = load_mix(mixes + "smart-plug-returns.json");
    ASSERT_TRUE(plug.product);
    EXPECT_EQ(plug.product->family, DeviceFamily::Plug);
    EXPECT_EQ(plug.product->binding, Binding::Weak);
    const auto gateway = load_mix(mixes + "wired-gateway-returns.json");
    ASSERT_TRUE(gateway.product);
    EXPECT_EQ(gateway.product->family, DeviceFamily::Gateway);
    EXPECT_GT(gateway.kinds.at("silent"), 0);
    EXPECT_FALSE(load_mix(mixes + "return-line.json").product) << "the line's product decides";
    auto r = linestation::testing::run_process({LS_STATION_BINARY, "simulate", "--units", "1",
                                                "--recipe",
                                                LS_SOURCE_DIR "/recipes/tuya-ipc-camera.json",
                                                "--mix", mixes + "smart-plug-returns.json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("its devices are tuya-smart-plug but the recipe is for tuya-ipc-camera"),
              std::string::npos)
        << r.err;
    const auto camera_kinds = linestation::virtual_line::default_mix(
                                  linestation::virtual_line::virtual_product("tuya-wired-gateway"))
                                  .kinds;
    EXPECT_FALSE(camera_kinds.count("blind")) << "a gateway has no camera";
    EXPECT_FALSE(camera_kinds.count("broken_wifi")) << "nor Wi-Fi";
}

TEST(Flows, AMixOfAnotherProductIsRefused) {
    linestation::app::SimulationOptions o;
    o.units = 1;
    o.recipe = LS_SOURCE_DIR "/recipes/tuya-ipc-camera.json";
    o.mix = linestation::virtual_line::default_mix(
        linestation::virtual_line::virtual_product("tuya-smart-plug"));
    try {
        linestation::app::run_simulation(o);
        FAIL() << "a plug mix ran with the camera recipe";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("its devices are tuya-smart-plug"), std::string::npos)
            << e.what();
    }
}

using linestation::virtual_line::DeviceTraits;
using linestation::virtual_line::LedProgram;
using linestation::virtual_line::TuyaCloudTwin;
using linestation::virtual_line::VirtualDevice;

// A device of one product on its own, stepped at 10 Hz on virtual time.
struct Bench {
    explicit Bench(DeviceFamily family, bool silent = false) : cloud(clock) {
        const auto& spec = family == DeviceFamily::Plug      ? "tuya-smart-plug"
                           : family == DeviceFamily::Gateway ? "tuya-wired-gateway"
                                                             : "tuya-ipc-camera";
        const auto& p = linestation::virtual_line::virtual_product(spec);
        cloud.add_device({"d1", "uuid1", "sn1", "mac1", p.id, p.category, "d1", p.binding},
                         "customer");
        DeviceTraits t;
        t.family = p.family;
        t.led_color = p.led_color;
        t.boot_s = 3;
        t.scan_s = 0.5;
        t.join_s = 4;
        t.activate_s = 2;
        t.silent = silent;
        device = std::make_unique<VirtualDevice>(
            "d1", p.id, linestation::virtual_line::DeviceTruth{}, t, cloud,
            linestation::virtual_line::Router{"ssid", "pw"}, 0);
    }
    void run(double seconds, bool button = false, const cv::Mat& screen = {}) {
        const double end = clock.now_s() + seconds;
        while (clock.now_s() < end - 1e-9) {
            clock.advance(0.1);
            device->step(clock.now_s(), true, button, screen);
        }
    }
    // A long press of its reset button, then its boot.
    void reset() {
        run(3, true);
        run(0.1);
    }
    linestation::ManualClock clock;
    TuyaCloudTwin cloud;
    std::unique_ptr<VirtualDevice> device;
};

const LedProgram kDark{};

}  // namespace

namespace linestation::virtual_line {
void PrintTo(const LedProgram& p, std::ostream* out) {
    *out << p.color << " " << p.pattern << " " << p.freq_hz << " Hz";
}
}  // namespace linestation::virtual_line

namespace {

// Tuya's "Wi-Fi EZ Mode": ready for EZ pairing is a fast blink; "Wi-Fi 快连模式": dark while
// it connects to the router, steady once connected; a refused pairing is EZ mode again.
TEST(Twins, APlugsOneLedBlinksFastWhenReadyIsDarkWhileJoiningAndSteadyOnceConnected) {
    Bench b(DeviceFamily::Plug);
    EXPECT_EQ(b.device->led(), (LedProgram{"blue", "steady", 0})) << "bound and online";
    b.reset();
    EXPECT_EQ(b.device->led(), kDark) << "booting";
    b.run(3.3);
    const LedProgram ready{"blue", "blink", 2.0};
    ASSERT_EQ(b.device->led(), ready);
    EXPECT_TRUE(b.device->ready());
    // A code whose token the cloud never issued: it joins the router, then is refused.
    const auto screen =
        linestation::qr::QrMatrix::encode(R"({"s":"ssid","p":"pw","t":"AY12345678abcd"})")
            .render(240);
    b.run(1, false, screen);
    EXPECT_EQ(b.device->led(), kDark) << "connecting to the router";
    b.run(4, false, screen);
    EXPECT_EQ(b.device->led(), (LedProgram{"blue", "steady", 0})) << "connected, activating";
    b.run(2.5, false, screen);
    EXPECT_EQ(b.device->led(), ready) << "refused: back in EZ mode";
    b.run(5, false, screen);
    EXPECT_EQ(b.device->led(), ready) << "the same code again is no news";
}

TEST(Twins, TheVirtualLinesDevicesAreTheirProductsKindAndBinding) {
    linestation::ManualClock clock;
    for (const auto* product : {"tuya-smart-plug", "tuya-ipc-camera", "tuya-wired-gateway"}) {
        linestation::virtual_line::VirtualLineOptions o;
        o.fixture = linestation::virtual_line::virtual_fixture(1);
        o.product = product;
        linestation::virtual_line::VirtualLine line(clock, o);
        line.load("A1");
        const auto twin = line.cloud().device(line.device("A1")->id());
        ASSERT_TRUE(twin);
        const auto& spec = linestation::virtual_line::virtual_product(product);
        EXPECT_EQ(twin->binding, spec.binding) << product;
        EXPECT_EQ(twin->category, spec.category) << product;
        EXPECT_EQ(line.product().family, spec.family) << product;
    }
    EXPECT_EQ(linestation::virtual_line::virtual_product("tuya-smart-plug").binding, Binding::Weak);
    EXPECT_THROW(linestation::virtual_line::virtual_product("tuya-toaster"), std::invalid_argument);
}

// "Pairing and Activation" (TuyaOS gateway): a wired device announces itself over UDP while
// it waits for its token; one whose Ethernet is dead never does.
TEST(Twins, AGatewayAnnouncesItselfOnlyWhileReadyAndNotWhenSilent) {
    Bench b(DeviceFamily::Gateway);
    EXPECT_FALSE(b.device->announcing()) << "bound, working";
    b.reset();
    b.run(3.5);
    ASSERT_TRUE(b.device->ready());
    EXPECT_TRUE(b.device->announcing());
    Bench silent(DeviceFamily::Gateway, true);
    silent.reset();
    silent.run(3.5);
    ASSERT_TRUE(silent.device->ready());
    EXPECT_FALSE(silent.device->announcing());
}

}  // namespace
