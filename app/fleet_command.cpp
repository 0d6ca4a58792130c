// station fleet status: the fleet's PostgreSQL at a glance, for scripts and checks.
#include <iostream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "station/fleet/fleet_schema.hpp"
#include "station/fleet/fleet_status.hpp"

namespace linestation::app {

namespace {

int status(const Args& args) {
    CommandLine cli("fleet status", "--pg URL [--json] [--day YYYY-MM-DD]",
                    "Prints the fleet's results per station, the quota rows of a day (by "
                    "default the latest one on record) and each station's outbox backlog.");
    cli.option("pg", "URL", "the fleet's PostgreSQL (postgresql://...)", true)
        .option("day", "YYYY-MM-DD", "the quota day to show (default: the latest)")
        .flag("json", "one JSON line: {\"units\",\"by_station\",\"quota\",\"backlog\"}");
    if (!cli.parse(args, std::cout)) return 0;
    fleet::PgConnection c(cli.value("pg"), {}, "linestation fleet status");
    fleet::ensure_fleet_schema(c);
    std::optional<std::string> day;
    if (cli.has("day")) day = cli.value("day");
    const auto s = fleet::read_fleet_status(c, day);
    std::cout << (cli.has("json") ? s.json() + "\n" : s.text());
    return 0;
}

}  // namespace

int run_fleet(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << "usage: station fleet status [options]\n"
                     "  status  the fleet's results, quotas and backlogs from its PostgreSQL\n";
        return args.empty() ? 2 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "status") return status(rest);
    throw UsageError("fleet: unknown action \"" + args[0] + "\"; expected status");
}

}  // namespace linestation::app
