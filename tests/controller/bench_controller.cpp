// The station on the virtual line at full speed: units per wall second with the LED
// vision in the loop (640x480 camera at 10 fps) and without it, and the share of the
// devices' cycle spent waiting on the station. Counters: units_per_s (wall),
// overhead_pct, disagree, false_pass (must stay 0).

#include <benchmark/benchmark.h>

#include "app/simulation.hpp"

namespace {

void run_shift(benchmark::State& state, bool vision) {
    linestation::app::SimulationOptions o;
    o.slots = 16;
    o.units = static_cast<int>(state.range(0));
    o.vision = vision;
    linestation::app::SimulationSummary sum;
    for (auto _ : state) {
        sum = linestation::app::run_simulation(o);
        benchmark::DoNotOptimize(sum.units);
    }
    state.counters["units_per_s"] =
        benchmark::Counter(static_cast<double>(sum.units) * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate);
    state.counters["overhead_pct"] = sum.overhead_pct();
    state.counters["disagree"] = sum.disagree;
    state.counters["false_pass"] = sum.false_pass;
    state.counters["frames"] = sum.frames;
}

void BM_ShiftWithVision(benchmark::State& state) {
    run_shift(state, true);
}
void BM_ShiftWithoutVision(benchmark::State& state) {
    run_shift(state, false);
}

}  // namespace

BENCHMARK(BM_ShiftWithVision)->Arg(64)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_ShiftWithoutVision)->Arg(256)->Unit(benchmark::kSecond)->Iterations(1);

BENCHMARK_MAIN();
