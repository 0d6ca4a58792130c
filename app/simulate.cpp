#include <iostream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "app/simulation.hpp"
#include "station/config/station_config.hpp"

namespace linestation::app {

int run_simulate(const Args& args) {
    CommandLine cli("simulate",
                    "--slots N --units M [--recipe FILE] [--flow FLOW] [--mix FILE] [--seed S] "
                    "[--db FILE] [--world] [--json] [--progress] [--config FILE] "
                    "[--fleet URL --station-id ID]",
                    "Runs a shift on the virtual line on virtual time, as fast as the machine "
                    "allows, and prints the verdicts by reason and how many disagree with the "
                    "devices' hidden truth. With --json the last line is one JSON object.");
    cli.option("slots", "N", "slots on the virtual fixture (default 16)")
        .option("units", "M", "units to test (default 1000)")
        .option("mix", "FILE", "JSON mix of hidden truths and shift settings")
        .option("seed", "S", "random seed (default 1)")
        .option("db", "FILE", "store file to record into (default: a temporary one)")
        .option("fps", "F", "camera frame rate, the simulation's step (default 10)")
        .option("recipe", "FILE", "recipe (default recipes/tuya-ipc-camera.json)")
        .option("flow", "FLOW",
                "the recipe's flow: unbind, pre_activation, repair or wired (default: the one "
                "its binding and pairing call for)")
        .option("config", "FILE",
                "a station config whose result sinks are used (its \"fleet\" and \"mes\")")
        .option("fleet", "URL",
                "forward results to and reserve quota in this fleet PostgreSQL (postgresql://)")
        .option("station-id", "ID", "this station's id in the fleet (default virtual-station)")
        .option("when-offline", "stop|lease", "with --fleet: while it is away (default stop)")
        .option("lease", "N", "with --fleet and lease: units per leased block (default 5)")
        .flag("no-vision", "report LED states directly instead of rendering camera frames")
        .flag("world",
              "the world's faults: cloud latency 50-3000 ms, 503 bursts and stalls; camera "
              "frames lost and brightness drifting")
        .flag("json", "print the summary as one JSON object on the last line")
        .flag("progress", "print one line per committed verdict");
    if (!cli.parse(args, std::cout)) return 0;

    SimulationOptions o;
    o.slots = cli.int_value("slots", 16, 1, 256);
    o.units = cli.int_value("units", 1000, 0, 10'000'000);
    o.seed = static_cast<std::uint64_t>(cli.int_value("seed", 1, 0, 2'000'000'000));
    o.fps = cli.number_value("fps", 10);
    if (!(o.fps >= 1 && o.fps <= 120)) throw UsageError("simulate: --fps must be 1..120");
    o.vision = !cli.has("no-vision");
    o.world = cli.has("world");
    if (cli.has("mix")) o.mix = virtual_line::load_mix(cli.value("mix"));
    if (cli.has("db")) o.db = cli.value("db");
    if (cli.has("recipe")) o.recipe = cli.value("recipe");
    if (cli.has("flow")) o.flow = cli.value("flow");
    if (cli.has("config")) {
        const auto station = config::load_station_config(cli.value("config"));
        o.fleet = station.fleet;
        o.mes = station.mes;
    }
    if (cli.has("fleet")) {
        config::FleetSettings f = o.fleet.value_or(config::FleetSettings{});
        f.url = cli.value("fleet");
        if (f.url.rfind("postgresql://", 0) != 0 && f.url.rfind("postgres://", 0) != 0) {
            throw UsageError("simulate: --fleet must be a postgresql:// URL");
        }
        if (f.station_id.empty()) f.station_id = "virtual-station";
        o.fleet = f;
    }
    if (o.fleet) {
        if (cli.has("station-id")) o.fleet->station_id = cli.value("station-id");
        if (cli.has("when-offline")) {
            o.fleet->when_offline = cli.value("when-offline");
            if (o.fleet->when_offline != "stop" && o.fleet->when_offline != "lease") {
                throw UsageError("simulate: --when-offline must be stop or lease, got \"" +
                                 o.fleet->when_offline + "\"");
            }
        }
        if (cli.has("lease")) o.fleet->lease = cli.int_value("lease", 5, 1, 100);
    } else if (cli.has("station-id") || cli.has("when-offline") || cli.has("lease")) {
        throw UsageError("simulate: --station-id, --when-offline and --lease go with --fleet");
    }
    if (cli.has("progress")) {
        o.on_unit = [](const flow::UnitResult& r, const virtual_line::DeviceTruth& truth) {
            // Printed only after the verdict is committed: a test may kill us at any line.
            std::cout << "unit " << r.unit_id << " " << r.slot << " " << r.serial.value_or("-")
                      << " " << r.verdict << " " << r.reason << " truth=" << truth.kind
                      << std::endl;
        };
    }
    auto summary = run_simulation(o);
    std::cout << summary.text();
    if (cli.has("json")) std::cout << summary.json() << "\n";
    return summary.false_pass == 0 ? 0 : 4;
}

}  // namespace linestation::app
