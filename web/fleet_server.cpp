#include "web/fleet_server.hpp"

#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include <chrono>

#include "drivers/core/clock.hpp"
#include "station/fleet/fleet_reports.hpp"
#include "station/fleet/fleet_schema.hpp"
#include "station/fleet/fleet_status.hpp"
#include "station/store/store.hpp"
#include "web/http.hpp"
#include "web/sign_in.hpp"
#include "web/static_files.hpp"
#include "web/table_json.hpp"

namespace linestation::web {

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class FleetHandler : public Poco::Net::HTTPRequestHandler {
  public:
    FleetHandler(const FleetServerOptions& options, SignIn* sign_in)
        : options_(options), sign_in_(sign_in) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        try {
            answer(request, response);
        } catch (const HttpError& e) {
            send_error(response, e.status(), e.what());
        } catch (const fleet::PgError& e) {
            // The message names the server by its redacted URL only.
            send_error(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, e.what());
        } catch (const std::invalid_argument& e) {
            send_error(response, HTTPResponse::HTTP_BAD_REQUEST, e.what());
        }
    }

  private:
    // /api/session as on a station: POST logs in, DELETE logs out, GET says who.
    void session_page(HTTPServerRequest& request, HTTPServerResponse& response) {
        const auto& method = request.getMethod();
        if (method == "POST") {
            const auto [login, password] = SignIn::read_credentials(request, 64 * 1024);
            const auto attempt =
                sign_in_->check(login, password, request.clientAddress().host().toString());
            SignIn::refuse(response, attempt);
            const auto session = sign_in_->begin(request, response, *attempt.user);
            send_json(response, HTTPResponse::HTTP_OK, session_json(session));
        } else if (method == "DELETE") {
            const auto session = sign_in_->require_session(request);
            SignIn::require_csrf(request, session);
            sign_in_->end(response, session);
            send_json(response, HTTPResponse::HTTP_OK, R"({"ok":true})");
        } else if (method == "GET") {
            send_json(response, HTTPResponse::HTTP_OK,
                      session_json(sign_in_->require_session(request)));
        } else {
            throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "GET, POST or DELETE");
        }
    }

    void answer(HTTPServerRequest& request, HTTPServerResponse& response) {
        const Poco::URI uri(request.getURI());
        const auto path = uri.getPath();
        if (sign_in_ && path == "/api/session") return session_page(request, response);
        if (path.rfind("/api/", 0) != 0) {
            // The pages: anyone may load them; what they show comes from the API below.
            if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
                throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "use GET");
            }
            return send_static_file(options_.ui_dir, request, response, "/fleet.html");
        }
        if (request.getMethod() != "GET") {
            throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "only GET is served here");
        }
        if (path == "/api/health") {
            // The pages ask it first: a fleet (its login leads to /fleet.html) and whether
            // anyone signs in at all.
            send_json(response, HTTPResponse::HTTP_OK,
                      sign_in_ ? R"({"status":"ok","fleet":true,"sign_in":true})"
                               : R"({"status":"ok","fleet":true,"sign_in":false})");
            return;
        }
        // The fleet's views are a supervisor's (the station's reports need the same roles).
        if (sign_in_) sign_in_->require_role(request, {"supervisor", "admin"});
        Poco::Net::HTMLForm query(request);
        fleet::PgConnection c(options_.pg_url, options_.deadlines, "linestation fleet serve");
        fleet::ensure_fleet_schema(c);
        if (path == "/api/fleet/status") {
            std::optional<std::string> day;
            if (query.has("day")) day = query.get("day");
            send_json(response, HTTPResponse::HTTP_OK, fleet::read_fleet_status(c, day).json());
            return;
        }
        const std::string prefix = "/api/fleet/reports/";
        if (path.rfind(prefix, 0) != 0)
            throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no such page");
        const auto name = path.substr(prefix.size());
        fleet::FleetFilter f;
        f.period = reports::period_named(query.get("period", "day"), now_ms());
        if (query.has("station") && !query.get("station").empty()) f.station = query.get("station");
        reports::Table table;
        if (name == "throughput") {
            table = fleet::fleet_throughput(c, f, query.get("by", "station"));
        } else if (name == "yield") {
            table = fleet::fleet_yield(c, f);
        } else if (name == "pareto") {
            table = fleet::fleet_pareto(c, f);
        } else if (name == "cycle_time") {
            table = fleet::fleet_cycle_times(c, f);
        } else if (name == "quota") {
            table = fleet::fleet_quota(c, query.get("day", options_.quota_zone.day_of(now_ms())));
        } else if (name == "unit_history") {
            if (!query.has("serial")) {
                throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "serial: required");
            }
            table = fleet::fleet_unit_history(c, query.get("serial"), f.station);
        } else {
            throw HttpError(HTTPResponse::HTTP_NOT_FOUND,
                            "no report \"" + name +
                                "\"; expected throughput, yield, pareto, cycle_time, quota or "
                                "unit_history");
        }
        if (query.get("format", "json") == "csv") {
            response.set("Content-Disposition",
                         "attachment; filename=\"fleet-" + table.name + ".csv\"");
            send_text(response, HTTPResponse::HTTP_OK, "text/csv; charset=utf-8",
                      reports::to_csv(table));
            return;
        }
        send_json(response, HTTPResponse::HTTP_OK, *table_object(table));
    }

    const FleetServerOptions& options_;
    SignIn* sign_in_;  // none: no sign-in (loopback only)
};

class FleetRouter : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    FleetRouter(const FleetServerOptions& options, SignIn* sign_in)
        : options_(options), sign_in_(sign_in) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
        return new FleetHandler(options_, sign_in_);  // Poco's server owns and deletes it
    }

  private:
    const FleetServerOptions& options_;
    SignIn* sign_in_;
};

}  // namespace

struct FleetServer::Users {
    explicit Users(const FleetServerOptions& o)
        : store(o.users), sign_in(clock, store, sign_in_options(o)) {}
    static SignInOptions sign_in_options(const FleetServerOptions& o) {
        SignInOptions s;
        s.secure_cookies = o.secure_cookies;
        return s;
    }
    SystemClock clock;
    store::Store store;
    SignIn sign_in;
};

FleetServer::FleetServer(FleetServerOptions options) : options_(std::move(options)) {
    const bool loopback =
        options_.bind == "127.0.0.1" || options_.bind == "::1" || options_.bind == "localhost";
    if (!loopback && options_.users.empty()) {
        throw std::invalid_argument(
            "fleet serve: --bind " + options_.bind +
            ": without --users the fleet dashboard has no sign-in, so it serves loopback only "
            "(127.0.0.1)");
    }
    if (!options_.users.empty()) {
        if (!std::filesystem::exists(options_.users)) {
            throw std::invalid_argument("fleet serve: --users " + options_.users.string() +
                                        ": no such file; make its users with `station user add "
                                        "--db FILE`");
        }
        users_ = std::make_unique<Users>(options_);
    }
}

FleetServer::~FleetServer() {
    stop();
}

void FleetServer::start() {
    Poco::Net::ServerSocket socket(
        Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)), 64);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;  // Poco-counted
    params->setMaxThreads(options_.max_threads);
    server_ = std::make_unique<Poco::Net::HTTPServer>(
        new FleetRouter(options_, users_ ? &users_->sign_in : nullptr), socket,
        params);  // the server owns the router
    server_->start();
}

void FleetServer::stop() {
    if (server_) {
        server_->stop();
        server_.reset();
    }
}

int FleetServer::port() const {
    return server_ ? server_->port() : 0;
}

}  // namespace linestation::web
