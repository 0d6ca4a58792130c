// station fleet status|serve: the fleet's PostgreSQL at a glance (scripts, checks) and the
// supervisor's views over it.
#include <csignal>
#include <iostream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "station/config/shipped_files.hpp"
#include "station/fleet/fleet_schema.hpp"
#include "station/fleet/fleet_status.hpp"
#include "web/fleet_server.hpp"

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

int serve(const Args& args) {
    CommandLine cli("fleet serve",
                    "--pg URL [--users FILE] [--port N] [--bind ADDR] [--day-zone ZONE]",
                    "Serves the supervisor's views over the whole fleet from its PostgreSQL: "
                    "the page /fleet.html (en, zh-CN), and /api/fleet/status and "
                    "/api/fleet/reports/{throughput,yield,pareto,"
                    "cycle_time,quota,unit_history} with ?period=shift|day|week, "
                    "?station=ID and ?format=csv. With --users, supervisors and admins sign in "
                    "(POST /api/session) as on a station, and it may bind beyond loopback; "
                    "without, it has no sign-in and serves loopback only.");
    cli.option("pg", "URL", "the fleet's PostgreSQL (postgresql://...)", true)
        .option("port", "N", "HTTP port (default 8090; 0 picks a free one)")
        .option("users", "FILE",
                "the dashboard's users: a store file made by `station user add --db FILE`")
        .option("bind", "ADDR", "address to serve (default 127.0.0.1; others need --users)")
        .option("day-zone", "ZONE",
                "the quota day's time zone, as the stations' fleet.day_zone (UTC, +08:00, "
                "Asia/Shanghai; default UTC): which day the quota view shows");
    if (!cli.parse(args, std::cout)) return 0;
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    web::FleetServerOptions o;
    o.pg_url = cli.value("pg");
    o.port = cli.int_value("port", o.port, 0, 65535);
    o.bind = cli.value_or("bind", o.bind);
    if (cli.has("users")) o.users = cli.value("users");
    if (cli.has("day-zone")) {
        auto zone = fleet::QuotaDayZone::parse(cli.value("day-zone"));
        if (!zone) {
            throw UsageError("fleet serve: --day-zone \"" + cli.value("day-zone") +
                             "\": expected UTC, an offset such as +08:00, or a zone the system "
                             "knows such as Asia/Shanghai");
        }
        o.quota_zone = *zone;
    }
    o.ui_dir = config::shipped_files().web_ui;
    web::FleetServer server(o);
    server.start();
    // Scripts and tests read the port from this line.
    std::cout << "listening on http://" << o.bind << ":" << server.port() << "/" << std::endl;
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();
    return 0;
}

}  // namespace

int run_fleet(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << "usage: station fleet status|serve [options]\n"
                     "  status  the fleet's results, quotas and backlogs from its PostgreSQL\n"
                     "  serve   the supervisor's views over the fleet (JSON and CSV)\n";
        return args.empty() ? 2 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "status") return status(rest);
    if (args[0] == "serve") return serve(rest);
    throw UsageError("fleet: unknown action \"" + args[0] + "\"; expected status or serve");
}

}  // namespace linestation::app
