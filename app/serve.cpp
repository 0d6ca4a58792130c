#include <Poco/Logger.h>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "app/demo_line.hpp"
#include "app/line_assembly.hpp"
#include "station/config/shipped_files.hpp"
#include "station/config/station_config.hpp"
#include "station/fleet/station_fleet.hpp"
#include "station/logging.hpp"
#include "station/mes/station_mes.hpp"
#include "station/runtime.hpp"
#include "web/server.hpp"

namespace linestation::app {

namespace {

// The command a newcomer copies to make the first admin: this binary, this store.
std::string first_admin_command(const std::filesystem::path& store_path) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto program = ec ? std::string("station") : self.string();
    return "echo 'a-long-password' | " + program +
           " user add --login boss --role admin --password-stdin --db " +
           std::filesystem::absolute(store_path).string();
}

}  // namespace

int run_serve(const Args& args) {
    CommandLine cli("serve",
                    "[--config FILE] [--port N] [--bind ADDR] [--db FILE] [--batch KIND:RECIPE]",
                    "Runs the station: HTTP dashboard and API. Without --config it runs the "
                    "virtual line with its store in var/station.db.");
    cli.option("config", "FILE", "station configuration (JSON)")
        .option("port", "N", "HTTP port (overrides the config; 0 picks a free one)")
        .option("bind", "ADDR", "HTTP bind address (overrides the config)")
        .option("db", "FILE", "store file (overrides the config)")
        .option("batch", "KIND:RECIPE",
                "start a batch at once (e.g. unbind:tuya-ipc-camera), for the demo");
    if (!cli.parse(args, std::cout)) return 0;

    auto config = cli.has("config") ? config::load_station_config(cli.value("config"))
                                    : config::default_station_config();
    config.http_port = cli.int_value("port", config.http_port, 0, 65535);
    config.http_bind = cli.value_or("bind", config.http_bind);
    if (cli.has("db")) config.store_path = cli.value("db");

    // Block the stop signals before any thread starts, so only sigwait sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    configure_logging(config.log_file, config.log_level);
    auto& log = Poco::Logger::get("station");
    Runtime runtime(config);
    log.information("store %s (schema %d)", config.store_path.string(),
                    runtime.store().schema_version());
    SystemClock clock;
    const auto shipped = config::shipped_files();
    // Before the line: its scheduler asks the fleet's quota; the forwarder drains the
    // outbox on its own thread whichever line runs.
    std::vector<std::string> sinks =
        config.mes ? mes::sink_names(*config.mes) : std::vector<std::string>{};
    if (config.fleet) sinks.emplace_back("fleet");  // FleetResultSink::name()
    outbox::register_sinks(runtime.store(), sinks);
    std::unique_ptr<mes::StationMes> mes_link;
    if (config.mes) {
        const auto fixture = config::load_fixture(
            config.fixture_file ? *config.fixture_file : shipped.fixtures_dir / "virtual-8.json");
        mes_link = std::make_unique<mes::StationMes>(*config.mes, config.store_path,
                                                     mes::slot_positions(fixture));
        if (config.mes->cfx) {
            log.information("mes: CFX UnitsTested to %s, address %s, handle %s",
                            config.mes->cfx->url, config.mes->cfx->address,
                            config.mes->cfx->handle);
        }
        if (const auto& sp = config.mes->sparkplug) {
            log.information(
                "mes: Sparkplug B edge node %s/%s on %s%s", sp->group_id, sp->edge_node_id, sp->url,
                sp->primary_host.empty() ? std::string() : ", primary host " + sp->primary_host);
        }
    }
    std::unique_ptr<fleet::StationFleet> fleet_link;
    if (config.fleet) {
        // A real-time line: the quota is asked off the line's thread.
        fleet_link = std::make_unique<fleet::StationFleet>(*config.fleet, config.store_path,
                                                           /*off_line_thread=*/true);
        log.information("fleet: station %s, results forwarded, quota shared (offline: %s)",
                        config.fleet->station_id, config.fleet->when_offline);
    }
    std::unique_ptr<DemoLine> demo;
    std::unique_ptr<StationLine> fixture_line;
    if (!config.fixture_file) {
        demo = std::make_unique<DemoLine>(
            runtime, config::load_fixture(shipped.fixtures_dir / "virtual-8.json"),
            config::load_recipes(config.recipes_dir), 5.0, fleet_link.get());
    } else {
        auto setup = line_setup(config, runtime.store());
        if (fleet_link) {
            setup.scheduler.shared_quota = &fleet_link->quota();
            setup.scheduler.quota_day = fleet_link->day_function();
        }
        fixture_line = std::make_unique<StationLine>(runtime, std::move(setup), clock);
    }
    if (cli.has("batch")) {
        const auto spec = cli.value("batch");
        const auto colon = spec.find(':');
        if (colon == std::string::npos) throw UsageError("serve: --batch wants KIND:RECIPE");
        StartBatchRequest request;
        request.kind = spec.substr(0, colon);
        request.recipe = spec.substr(colon + 1);
        request.operator_login = "serve";
        const auto id = runtime.start_batch(request);
        log.information("batch " + std::to_string(id) + " started (" + spec + ")");
    }

    web::ServerOptions options;
    options.bind = config.http_bind;
    options.port = config.http_port;
    options.store_path = config.store_path;
    options.ui_dir = shipped.web_ui;
    options.openapi_file = shipped.openapi_file;
    options.recipes_dir = config.recipes_dir;
    options.ui_language = config.ui_language;
    const auto first_admin = first_admin_command(config.store_path);
    options.first_admin_command = first_admin;
    if (config.fixture_file) options.fixture_file = *config.fixture_file;
    if (config.https) {
        options.https_certificate = config.https->certificate;
        options.https_private_key = config.https->private_key;
    }
    if (config.cloud) {
        options.quota.per_account = config.cloud->unbind_quota_per_account;
        options.quota.per_product = config.cloud->unbind_quota_per_product;
    }
    web::Server server(runtime, options);
    server.start();
    log.information("station %s serving on http://%s:%d/ (%s)", config.station_id, config.http_bind,
                    server.port(),
                    std::string(config.fixture_file ? "fixture " + config.fixture_file->string()
                                                    : "virtual line"));
    // Scripts and tests read the port from this line.
    std::cout << "listening on " << (config.https ? "https" : "http") << "://" << config.http_bind
              << ":" << server.port() << "/" << std::endl;
    if (runtime.store().operators().empty()) {
        std::cout << "no user yet: make the first admin (into this station's store) with\n  "
                  << first_admin << std::endl;
    }

    int signal = 0;
    sigwait(&stop_signals, &signal);
    log.information("signal %d: stopping", signal);
    server.stop();
    demo.reset();
    fixture_line.reset();
    log.information("stopped cleanly");
    return 0;
}

}  // namespace linestation::app
