// Every shipped recipe with every flow it declares, as a shift on the virtual line on
// virtual time, graded from the world (the cloud twin's record and the devices' hidden
// truths): at least 99.5 % of the verdicts agree, no false PASS, nothing left bound to the
// station's accounts, every unit loaded gets its verdict. One ctest case per recipe and
// flow (gtest_discover_tests), so they run in parallel.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/simulation.hpp"
#include "fixtures/virtual/line/virtual_line.hpp"
#include "station/config/recipe.hpp"
#include "tests/common/process.hpp"

namespace {

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

class Flows : public ::testing::TestWithParam<RecipeFlow> {};

TEST_P(Flows, AgreeWithTheWorld) {
    const auto& p = GetParam();
    linestation::app::SimulationOptions o;
    o.slots = 8;
    o.units = kUnits;
    o.seed = 11;
    o.vision = false;
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
    std::cout << "[ figures  ] " << p.product << " " << p.flow << ": " << sum.units << " units, "
              << agree << " % agree, " << sum.wall_s << " s wall\n";
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

}  // namespace
