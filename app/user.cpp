#include <Poco/JSON/Object.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "station/auth/password.hpp"
#include "station/config/station_config.hpp"
#include "station/store/store.hpp"

namespace linestation::app {

namespace {

int user_add(const Args& args) {
    CommandLine cli("user add",
                    "--login NAME --role operator|supervisor|admin "
                    "[--products ID,ID] --password-stdin [--config FILE | --db FILE]",
                    "Makes a dashboard user. The password is read from standard input (one line); "
                    "there is no default password.");
    cli.option("login", "NAME", "login name", true)
        .option("role", "ROLE", "operator, supervisor or admin", true)
        .option("products", "IDS", "comma-separated product ids the user may run")
        .flag("password-stdin", "read the password from standard input")
        .option("config", "FILE", "station configuration (for the store path)")
        .option("db", "FILE", "store file");
    if (!cli.parse(args, std::cout)) return 0;
    auto role = cli.value("role");
    if (role != "operator" && role != "supervisor" && role != "admin") {
        throw UsageError("user add: --role: expected operator, supervisor or admin, got \"" + role +
                         "\"");
    }
    auto login = cli.value("login");
    if (login.empty() || login.size() > 64) {
        throw UsageError("user add: --login: expected 1 to 64 characters");
    }
    if (!cli.has("password-stdin")) {
        throw UsageError(
            "user add: --password-stdin is required (passwords never go on the "
            "command line)");
    }
    const auto password = read_password_line();
    if (password.size() < 8) {
        std::cerr << "station user add: the password must have at least 8 characters\n";
        return 2;
    }
    auto config = cli.has("config") ? config::load_station_config(cli.value("config"))
                                    : config::default_station_config();
    if (cli.has("db")) config.store_path = cli.value("db");
    if (config.store_path.has_parent_path()) {
        std::filesystem::create_directories(config.store_path.parent_path());
    }
    store::Store store(config.store_path);
    if (store.find_operator(login)) {
        std::cerr << "station user add: a user \"" << login << "\" already exists\n";
        return 1;
    }
    store::OperatorRecord op;
    op.login = login;
    op.role = role;
    op.products = store::split_product_list(cli.value_or("products", ""));
    op.password_hash = auth::hash_password(password);
    store.add_operator(op);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    Poco::JSON::Object detail;
    detail.set("login", login);
    detail.set("role", role);
    std::ostringstream detail_text;
    detail.stringify(detail_text);
    store.audit(now, "cli", "user.add", detail_text.str());
    // Which store: `serve --config` reads the config's store, not var/station.db here.
    std::cout << "user " << login << " (" << role << ") added to the store "
              << std::filesystem::absolute(config.store_path).string() << "\n";
    if (!cli.has("config") && !cli.has("db")) {
        std::cout << "that is the store of `station serve` without --config, run from this "
                     "folder; for a station config, run user add with the same --config\n";
    }
    return 0;
}

}  // namespace

int run_user(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << "usage: station user add --login NAME --role operator|supervisor|admin "
                     "[--products ID,ID] --password-stdin\n";
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "add") return user_add(Args(args.begin() + 1, args.end()));
    throw UsageError("user: unknown action \"" + args[0] + "\"; expected add");
}

}  // namespace linestation::app
