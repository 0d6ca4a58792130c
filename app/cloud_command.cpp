#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/StringTokenizer.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <set>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "fixtures/virtual/cloud/tuya_cloud_twin.hpp"
#include "station/clock/clock.hpp"
#include "station/cloud/tuya_client.hpp"

namespace linestation::app {

namespace {

int pairing_token(const Args& args) {
    CommandLine cli("cloud pairing-token",
                    "--endpoint URL --client-id ID (--secret SECRET | --secret-env VAR) "
                    "(--uid UID | --api device-registration --asset-id ID) [--timeout S] "
                    "[--verbose]",
                    "Asks the cloud for a pairing token, the whole client path (signature, access "
                    "token, pairing token), and prints one JSON line "
                    "{\"token\":\"<region+token+secret>\",\"expire_time\":<s>}.");
    cli.option("endpoint", "URL", "https://openapi.tuyaeu.com (or http://127.0.0.1:PORT)", true)
        .option("client-id", "ID", "the cloud project's Access ID", true)
        .option("secret", "SECRET", "the cloud project's Access Secret (never printed)")
        .option("secret-env", "VAR",
                "environment variable holding the secret (keeps it out of the process list)")
        .option("uid", "UID", "the account user id the token is for (the pairing API)")
        .option("api", "FAMILY",
                "pairing (default: /v1.0 device pairing) or device-registration (industry)")
        .option("asset-id", "ID", "the asset the industry API registers devices to")
        .option("timeout", "S", "seconds per HTTP request (default 10)")
        .flag("verbose", "log the requests (never secrets) to standard error");
    if (!cli.parse(args, std::cout)) return 0;
    Poco::Logger::get("cloud").setLevel(cli.has("verbose") ? Poco::Message::PRIO_DEBUG
                                                           : Poco::Message::PRIO_WARNING);
    cloud::TuyaClientOptions options;
    options.endpoint = cli.value("endpoint");
    options.client_id = cli.value("client-id");
    if (cli.has("secret") == cli.has("secret-env")) {
        throw UsageError("cloud pairing-token: give exactly one of --secret and --secret-env");
    }
    if (cli.has("secret-env")) {
        const char* value = std::getenv(cli.value("secret-env").c_str());
        if (!value || !*value) {
            throw UsageError("cloud pairing-token: --secret-env: environment variable \"" +
                             cli.value("secret-env") + "\" is not set");
        }
        options.secret = value;
    } else {
        options.secret = cli.value("secret");
    }
    options.timeout_s = cli.number_value("timeout", 10);
    const auto api = cli.value_or("api", "pairing");
    if (api == "device-registration") {
        options.api = config::CloudApi::DeviceRegistration;
        if (!cli.has("asset-id")) {
            throw UsageError("cloud pairing-token: --api device-registration needs --asset-id");
        }
        options.asset_id = cli.value("asset-id");
    } else if (api != "pairing") {
        throw UsageError("cloud pairing-token: --api \"" + api +
                         "\": expected pairing or device-registration");
    } else if (!cli.has("uid")) {
        throw UsageError("cloud pairing-token: the pairing API needs --uid");
    }
    SystemClock clock;
    std::unique_ptr<cloud::TuyaClient> client;
    try {
        client = std::make_unique<cloud::TuyaClient>(options, clock);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("cloud pairing-token: ") + e.what());
    }
    try {
        auto token = client->pairing_token(cli.value_or("uid", ""));
        Poco::JSON::Object line(Poco::JSON_PRESERVE_KEY_ORDER);
        line.set("token", token.combined());
        line.set("expire_time", token.expire_time_s);
        line.stringify(std::cout);
        std::cout << std::endl;
        return 0;
    } catch (const cloud::CloudError& e) {
        std::cerr << "station cloud pairing-token: " << cloud::to_string(e.failure()) << ": "
                  << e.what() << "\n";
        return 1;
    }
}

int emulator(const Args& args) {
    CommandLine cli("cloud emulator",
                    "--client-id ID --secret SECRET --uid UID "
                    "[--products PID,PID] [--port N] [--bind ADDR] [--token-lifetime S] "
                    "[--devices-per-token N] [--daily-account N] [--daily-product N]",
                    "Serves the Tuya cloud twin (the OpenAPI endpoints the station uses, as Tuya "
                    "documents them, both pairing-token families) with one account, for the demo "
                    "and for tests. Prints \"listening on "
                    "http://ADDR:PORT/\" and runs until SIGINT or SIGTERM.");
    cli.option("client-id", "ID", "the account's Access ID", true)
        .option("secret", "SECRET", "the account's Access Secret", true)
        .option("uid", "UID", "the account's user id", true)
        .option("products", "PIDS", "product ids the account may unbind (comma-separated)")
        .option("port", "N", "port (default 0: a free one)")
        .option("bind", "ADDR", "loopback address (default 127.0.0.1)")
        .option("token-lifetime", "S", "pairing token lifetime in seconds (default 300)")
        .option("devices-per-token", "N", "devices one token serves (default 30)")
        .option("daily-account", "N", "unbinds per account per day (default 100)")
        .option("daily-product", "N", "unbinds per product per day (default 100)")
        .option("faults", "KIND",
                "none (default) or world: 50-3000 ms latency, 503 bursts, "
                "stalls, early token expiry");
    if (!cli.parse(args, std::cout)) return 0;
    virtual_line::TuyaCloudTwinOptions options;
    options.port = cli.int_value("port", 0, 0, 65535);
    options.bind = cli.value_or("bind", options.bind);
    options.pairing_token_lifetime_s = cli.int_value("token-lifetime", 300, 1, 86400);
    options.devices_per_token = cli.int_value("devices-per-token", 30, 1, 1000);
    options.daily_unbinds_per_account = cli.int_value("daily-account", 100, 0, 1000000);
    options.daily_unbinds_per_product = cli.int_value("daily-product", 100, 0, 1000000);
    const auto faults = cli.value_or("faults", "none");
    if (faults == "world") {
        options.faults = virtual_line::TwinFaults::world();
    } else if (faults != "none") {
        throw UsageError("cloud emulator: --faults: expected none or world, got \"" + faults +
                         "\"");
    }

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const Poco::StringTokenizer list(
        cli.value_or("products", ""), ",",
        Poco::StringTokenizer::TOK_IGNORE_EMPTY | Poco::StringTokenizer::TOK_TRIM);
    const std::set<std::string> products(list.begin(), list.end());
    SystemClock clock;
    virtual_line::TuyaCloudTwin cloud(clock, options);
    cloud.add_account({cli.value("uid"), cli.value("client-id"), cli.value("secret"), products});
    cloud.start();
    std::cout << "listening on " << cloud.endpoint() << "/" << std::endl;
    int signal = 0;
    sigwait(&stop_signals, &signal);
    cloud.stop();
    return 0;
}

}  // namespace

int run_cloud(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << "usage: station cloud pairing-token|emulator [options]\n"
                     "  pairing-token  ask the cloud for a pairing token and print it as JSON\n"
                     "  emulator       serve the Tuya cloud twin on loopback\n";
        return args.empty() ? 2 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "pairing-token") return pairing_token(rest);
    if (args[0] == "emulator") return emulator(rest);
    throw UsageError("cloud: unknown action \"" + args[0] +
                     "\"; expected pairing-token or emulator");
}

}  // namespace linestation::app
