// `station batch start|load|stop|status`: run a station's batches from a script or a terminal,
// through the same HTTP API (and the same login, roles, CSRF and audit) as the dashboard,
// so a batch started here is the operator's and shows on every screen.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <iostream>
#include <memory>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "app/station_session.hpp"
#include "web/http.hpp"

namespace linestation::app {

namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

void add_connection_options(CommandLine& cli) {
    cli.option("url", "URL", std::string("the station's address (default ") + kDefaultUrl + ")")
        .option("login", "NAME", "the user to act as (an operator with the product, or admin)",
                true)
        .flag("password-stdin", "read the password from standard input (required)")
        .option("ca", "FILE", "with https: the CA certificate that signed the station's");
}

std::unique_ptr<StationSession> connect(const CommandLine& cli, const std::string& action) {
    if (!cli.has("password-stdin")) {
        throw UsageError("batch " + action +
                         ": --password-stdin is required (passwords never go on the command "
                         "line)");
    }
    auto session =
        std::make_unique<StationSession>(cli.value_or("url", kDefaultUrl), cli.value_or("ca", ""));
    session->login(cli.value("login"), read_password_line());
    return session;
}

// Comma-separated and repeated values, in order (--slots A1,A2 --slots A3).
std::vector<std::string> list_values(const CommandLine& cli, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& v : cli.values(name)) {
        // "S1," is two values, the second empty (a slot whose unit has no serial).
        std::size_t from = 0;
        for (auto comma = v.find(','); comma != std::string::npos; comma = v.find(',', from)) {
            out.push_back(v.substr(from, comma - from));
            from = comma + 1;
        }
        out.push_back(v.substr(from));
    }
    return out;
}

// "A1=RMA-0001" -> {A1, RMA-0001}; "A2" or "A2=" -> {A2, no serial}.
Poco::JSON::Object unit_pair(const std::string& text) {
    const auto eq = text.find('=');
    const auto slot = text.substr(0, eq);
    if (slot.empty()) {
        throw UsageError("batch: --units: expected SLOT=SERIAL (or SLOT), got \"" + text + "\"");
    }
    Poco::JSON::Object o;
    o.set("slot", slot);
    if (eq != std::string::npos && eq + 1 < text.size()) o.set("serial", text.substr(eq + 1));
    return o;
}

int batch_start(const Args& args) {
    CommandLine cli("batch start",
                    "--recipe ID [--kind unbind|pre_activation|wired] [--units A1=SN1,A2=SN2] "
                    "[--slots A1,A2] --login NAME --password-stdin [--url URL]",
                    "Starts a batch on a running station (`station serve`), as the dashboard "
                    "does. Prints the station's answer, {\"batch_id\":N}.");
    cli.option("recipe", "ID", "product id of one of the station's recipes", true)
        .option("kind", "KIND", "unbind (default), pre_activation or wired")
        .option("units", "PAIRS",
                "each slot with the unit scanned into it, SLOT=SERIAL, comma-separated (a slot "
                "alone: its unit has no label)",
                false, true)
        .option("slots", "IDS",
                "slots to run without serials, comma-separated (default: every "
                "slot)",
                false, true)
        .option("serials", "SERIALS", "refused: serials are paired with slots by --units", false,
                true);
    add_connection_options(cli);
    if (!cli.parse(args, std::cout)) return 0;
    const auto kind = cli.value_or("kind", "unbind");
    if (kind != "unbind" && kind != "pre_activation" && kind != "wired") {
        throw UsageError("batch start: --kind: expected unbind, pre_activation or wired, got \"" +
                         kind + "\"");
    }
    if (cli.has("serials")) {
        throw UsageError(
            "batch start: --serials: serials are never given to slots by position; pair each "
            "with its slot, --units A1=SN1,A2=SN2");
    }
    Poco::JSON::Object request;
    request.set("recipe", cli.value("recipe"));
    request.set("kind", kind);
    Poco::JSON::Array units;
    for (const auto& pair : list_values(cli, "units")) units.add(unit_pair(pair));
    if (units.size() > 0) request.set("units", units);
    const auto slots = list_values(cli, "slots");
    if (!slots.empty()) {
        Poco::JSON::Array s;
        for (const auto& x : slots) s.add(x);
        request.set("slots", s);
    }
    auto session = connect(cli, "start");
    auto a = session->call("POST", "/api/batch", web::to_json(request));
    if (a.status != 201 && a.status != 200) {
        throw StationRefused("batch start: " + StationSession::why(a));
    }
    std::cout << a.body << "\n";
    return 0;
}

int batch_load(const Args& args) {
    CommandLine cli("batch load",
                    "--slot ID [--serial SERIAL] --login NAME --password-stdin [--url URL]",
                    "Loads the next unit into a slot of the running batch that has its verdict, "
                    "as the operator's scan does.");
    cli.option("slot", "ID", "the slot the unit was put into", true)
        .option("serial", "SERIAL", "the unit's label (its barcode)");
    add_connection_options(cli);
    if (!cli.parse(args, std::cout)) return 0;
    Poco::JSON::Object request;
    if (cli.has("serial")) request.set("serial", cli.value("serial"));
    auto session = connect(cli, "load");
    auto a =
        session->call("POST", "/api/slots/" + cli.value("slot") + "/load", web::to_json(request));
    if (a.status != 200) throw StationRefused("batch load: " + StationSession::why(a));
    std::cout << a.body << "\n";
    return 0;
}

int batch_stop(const Args& args) {
    CommandLine cli("batch stop", "--login NAME --password-stdin [--url URL]",
                    "Stops the running batch: units in flight finish, no new ones start.");
    add_connection_options(cli);
    if (!cli.parse(args, std::cout)) return 0;
    auto session = connect(cli, "stop");
    auto a = session->call("POST", "/api/batch/stop");
    if (a.status != 200) throw StationRefused("batch stop: " + StationSession::why(a));
    std::cout << (a.body.empty() ? "{}" : a.body) << "\n";
    return 0;
}

int batch_status(const Args& args) {
    CommandLine cli("batch status", "--login NAME --password-stdin [--url URL] [--slots]",
                    "Prints the current batch as one JSON object; with --slots, then one JSON "
                    "object per slot.");
    cli.flag("slots", "also print every slot (step, unit, LED, verdict)");
    add_connection_options(cli);
    if (!cli.parse(args, std::cout)) return 0;
    auto session = connect(cli, "status");
    auto a = session->call("GET", "/api/batch");
    if (a.status != 200) throw StationRefused("batch status: " + StationSession::why(a));
    std::cout << a.body << "\n";
    if (cli.has("slots")) {
        auto s = session->call("GET", "/api/slots");
        if (s.status != 200) throw StationRefused("batch status: " + StationSession::why(s));
        try {
            auto slots = Poco::JSON::Parser().parse(s.body).extract<Poco::JSON::Array::Ptr>();
            for (std::size_t i = 0; i < slots->size(); ++i) {
                slots->getObject(static_cast<unsigned>(i))->stringify(std::cout);
                std::cout << "\n";
            }
        } catch (const Poco::Exception&) {
            throw StationRefused("batch status: the slots answer is not a JSON array");
        }
    }
    return 0;
}

}  // namespace

int run_batch(const Args& args) {
    static constexpr const char* kUsage =
        "usage: station batch start|load|stop|status [options]  (each takes --help)\n";
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    try {
        if (args[0] == "start") return batch_start(rest);
        if (args[0] == "load") return batch_load(rest);
        if (args[0] == "stop") return batch_stop(rest);
        if (args[0] == "status") return batch_status(rest);
    } catch (const StationRefused& e) {
        std::cerr << "station batch " << args[0] << ": " << e.what() << "\n";
        return 1;
    }
    throw UsageError("batch: unknown action \"" + args[0] +
                     "\"; expected start, load, stop or status");
}

}  // namespace linestation::app
