#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <cstdio>
#include <fstream>

#include "app/simulation.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::run_process;
using linestation::testing::TempDir;

namespace {
std::string last_line(const std::string& out) {
    auto end = out.find_last_not_of('\n');
    auto start = out.rfind('\n', end);
    return out.substr(start == std::string::npos ? 0 : start + 1, end - start);
}
}  // namespace

TEST(Simulate, ShiftSummaryEndsWithTheContractJsonLine) {
    auto r = run_process({LS_STATION_BINARY, "simulate", "--slots", "4", "--units", "24", "--seed",
                          "7", "--no-vision", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    const auto line = last_line(r.out);
    // Keys in the contract's order.
    std::size_t at = 0;
    for (const char* key :
         {"\"units\":", "\"pass\":", "\"fail\":{", "\"inconclusive\":", "\"disagree\":",
          "\"false_pass\":", "\"wall_s\":", "\"units_per_hour\":"}) {
        auto p = line.find(key, at);
        ASSERT_NE(p, std::string::npos) << key << " in " << line;
        at = p;
    }
    auto o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(o->getValue<int>("units"), 24);
    EXPECT_EQ(o->getValue<int>("false_pass"), 0);
    // Graded from the cloud twin's own record: nothing left on the station's account, every
    // unit loaded got its verdict, every verdict agrees with the unit's truth.
    EXPECT_EQ(o->getValue<int>("left_bound"), 0) << line;
    EXPECT_EQ(o->getValue<int>("no_verdict"), 0) << line;
    EXPECT_EQ(o->getValue<int>("disagree"), 0) << line;
    int total = o->getValue<int>("pass") + o->getValue<int>("inconclusive");
    auto fail = o->getObject("fail");
    for (const auto& k : fail->getNames()) total += fail->getValue<int>(k);
    EXPECT_EQ(total, 24);
    EXPECT_GT(o->getValue<double>("units_per_hour"), 0);
}

TEST(Simulate, SameSeedSameVerdicts) {
    auto a = run_process({LS_STATION_BINARY, "simulate", "--slots", "3", "--units", "12", "--seed",
                          "5", "--no-vision", "--progress"});
    auto b = run_process({LS_STATION_BINARY, "simulate", "--slots", "3", "--units", "12", "--seed",
                          "5", "--no-vision", "--progress"});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    auto verdicts = [](const std::string& out) {
        std::string v;
        std::istringstream in(out);
        for (std::string l; std::getline(in, l);) {
            if (l.rfind("unit ", 0) == 0) v += l + "\n";
        }
        return v;
    };
    EXPECT_EQ(verdicts(a.out), verdicts(b.out));
    EXPECT_FALSE(verdicts(a.out).empty());
}

TEST(Simulate, BadMixNamesTheFieldAndWhatWasExpected) {
    TempDir dir;
    std::ofstream(dir / "mix.json") << R"({"kinds": {"good": 0.9, "haunted": 0.1}})";
    auto r = run_process(
        {LS_STATION_BINARY, "simulate", "--units", "1", "--mix", (dir / "mix.json").string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("$.kinds.haunted"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("known truth kind"), std::string::npos) << r.err;
}

// The station's own share of a device's time: with the real LED vision in the loop, every
// PASS comes after the ready blink has shown a whole period (positive evidence), and soon
// after it; nothing else keeps a device waiting. Simulated time: the figure is exact and
// the same on any machine.
TEST(Simulate, VerdictFollowsTheReadyBlinkWithinFramesAndNeverBeforeIt) {
    linestation::app::SimulationOptions o;
    o.slots = 4;
    o.units = 16;
    o.seed = 3;
    const auto sum = linestation::app::run_simulation(o);
    ASSERT_EQ(sum.units, 16);
    ASSERT_GT(sum.pass, 8);
    EXPECT_EQ(sum.false_pass, 0);
    EXPECT_EQ(sum.verdicts_before_evidence, 0);
    // A 2 Hz blink at 10 fps: its third phase confirms the first one to three frames later.
    EXPECT_LT(sum.verdict_latency_s / sum.pass, 0.35);
    EXPECT_GT(sum.ready_signal_s / sum.pass, 0.3);  // the blink's own period, not ours
    EXPECT_EQ(sum.waited_on_station_s, 0);
    EXPECT_EQ(sum.waited_for_reset_s, 0);
    EXPECT_LT(sum.overhead_pct(), 1.0);
}

// Issue 11, item 4, on virtual time: the cloud twin answers 50-3000 ms late with 503 bursts,
// 10 s stalls and early token expiry (TwinFaults::world), and the camera loses frames and
// drifts in brightness (CameraFaults::world), with the LED vision in the loop. The contract
// holds: no false PASS, nothing left on the station's accounts, every unit a verdict, and at
// least 99.5 % of verdicts agree with the world (issue 11's target; seeds 11, 12 and 13 reach
// 100 %). Before, the one cloud worker took the sweep's device checks (most of the requests) in
// turn with the units' polls and ran 15-30 s behind: a flaky unit's "token is expired" came
// after its window and it FAILed cloud_refused (98-99.5 %).
TEST(Simulate, WorldFaultsKeepTheContract) {
    linestation::app::SimulationOptions o;
    o.slots = 8;
    o.units = 200;
    o.seed = 11;
    o.world = true;
    const auto sum = linestation::app::run_simulation(o);
    const auto text = sum.text();
    std::printf("%s\n", text.c_str());
    ASSERT_EQ(sum.units, 200) << text;
    EXPECT_EQ(sum.false_pass, 0) << text;
    EXPECT_EQ(sum.bound_at_pass, 0) << text;
    EXPECT_EQ(sum.left_bound, 0) << text;
    EXPECT_EQ(sum.no_verdict, 0) << text;
    EXPECT_GE(100.0 * (sum.units - sum.disagree) / sum.units, 99.5) << text;
    EXPECT_GT(sum.pass, 100) << text;
}

// Issue 12, "Station overhead": the evidence period any camera must wait for (a PASS unit's
// ready blink showing a whole period: the device's own time) is reported apart from the
// overhead, which is the station's own waiting beyond it (to reset a loaded unit, to show a
// ready one a code, from the evidence to the committed verdict) as a share of the cycle,
// with the station's vision in the loop: under 1 % (1.475 % with the evidence counted in).
TEST(Simulate, OverheadIsReportedApartFromTheEvidencePeriodAndIsUnderOnePercent) {
    auto r = run_process(
        {LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "80", "--seed", "3", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    const auto line = last_line(r.out);
    auto o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    ASSERT_TRUE(o->has("overhead_pct") && o->has("evidence_pct")) << line;
    const double overhead = o->getValue<double>("overhead_pct");
    const double evidence = o->getValue<double>("evidence_pct");
    std::printf("overhead %.3f %%, evidence period %.3f %% of the cycle\n", overhead, evidence);
    EXPECT_GT(evidence, 0) << "no evidence period measured: " << line;
    EXPECT_GT(overhead, 0) << line;
    EXPECT_LT(overhead, 1.0) << line;
    EXPECT_GT(o->getValue<int>("pass"), 40) << line;
    // The text says the same, in its words.
    EXPECT_NE(r.out.find("station overhead "), std::string::npos) << r.out;
}
