#include "web/server.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include "web/api.hpp"
#include "web/http.hpp"
#include "web/static_files.hpp"

namespace linestation::web {

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

class HealthHandler : public Poco::Net::HTTPRequestHandler {
  public:
    HealthHandler(StationService& station, std::string ui_language)
        : station_(station), ui_language_(std::move(ui_language)) {}
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        auto h = station_.health();
        Poco::JSON::Object body;
        body.set("status", h.store_ok ? "ok" : "degraded");
        body.set("version", h.version);
        body.set("station_id", h.station_id);
        body.set("station_name", h.station_name);
        body.set("uptime_s", h.uptime_s);
        body.set("store_ok", h.store_ok);
        if (!h.store_problem.empty()) body.set("store_problem", h.store_problem);
        body.set("schema_version", h.schema_version);
        body.set("virtual_line", h.virtual_line);
        body.set("camera_ok", h.camera_ok);
        body.set("boards_faulted", h.boards_faulted);
        Poco::JSON::Array boards;
        for (const auto& b : h.boards) {
            Poco::JSON::Object board;
            board.set("id", b.id);
            board.set("ok", b.ok);
            if (!b.ok) board.set("cause", b.cause);
            boards.add(board);
        }
        body.set("boards", boards);
        if (h.outbox_backlog) {
            Poco::JSON::Object outbox;
            outbox.set("backlog", *h.outbox_backlog);
            if (h.outbox_oldest_ms) outbox.set("oldest_ms", *h.outbox_oldest_ms);
            Poco::JSON::Array sinks;
            for (const auto& sink : h.sinks) {
                Poco::JSON::Object o;
                o.set("name", sink.name);
                o.set("backlog", sink.backlog);
                if (sink.oldest_ms) o.set("oldest_ms", *sink.oldest_ms);
                if (!sink.last_error.empty()) o.set("last_error", sink.last_error);
                o.set("parked", sink.parked);
                sinks.add(o);
            }
            outbox.set("sinks", sinks);
            body.set("outbox", outbox);
        }
        if (!ui_language_.empty()) body.set("language", ui_language_);
        send_json(response,
                  h.store_ok ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                  body);
    }

  private:
    StationService& station_;
    std::string ui_language_;
};

class ApiHandler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit ApiHandler(Api& api) : api_(api) {}
    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        api_.handle(request, response);
    }

  private:
    Api& api_;
};

class ErrorHandler : public Poco::Net::HTTPRequestHandler {
  public:
    ErrorHandler(HTTPResponse::HTTPStatus status, std::string message)
        : status_(status), message_(std::move(message)) {}
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        send_error(response, status_, message_);
    }

  private:
    HTTPResponse::HTTPStatus status_;
    std::string message_;
};

class Router : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    Router(StationService& station, const ServerOptions& options, Api* api)
        : station_(station), options_(options), api_(api) {}

    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest& request) override {
        // Poco's factory interface hands ownership of a raw pointer to the server.
        if (request.getContentLength() != HTTPServerRequest::UNKNOWN_CONTENT_LENGTH &&
            request.getContentLength() > static_cast<std::streamsize>(options_.max_body_bytes)) {
            return new ErrorHandler(HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "body too large");
        }
        std::string path;
        try {
            path = Poco::URI(request.getURI()).getPath();
        } catch (const Poco::Exception&) {
            return new ErrorHandler(HTTPResponse::HTTP_BAD_REQUEST, "malformed URI");
        }
        // Before any handler: no static file and no path parameter ({slot}, {serial},
        // {login}, {id}, {table}) ever sees "..", a NUL or a backslash.
        if (!safe_request_path(path)) {
            return new ErrorHandler(HTTPResponse::HTTP_BAD_REQUEST, "malformed path");
        }
        const auto& method = request.getMethod();
        if (path == "/api/health") {
            if (method != "GET") {
                return new ErrorHandler(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "use GET");
            }
            return new HealthHandler(station_, options_.ui_language);
        }
        if (api_ && (path.rfind("/api/", 0) == 0 || path == "/metrics")) {
            return new ApiHandler(*api_);
        }
        if (path.rfind("/api/", 0) == 0) {
            return new ErrorHandler(HTTPResponse::HTTP_NOT_FOUND, "no such endpoint");
        }
        if (method != "GET" && method != "HEAD") {
            return new ErrorHandler(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "use GET");
        }
        return new StaticHandler(options_.ui_dir);
    }

  private:
    StationService& station_;
    ServerOptions options_;
    Api* api_;
};

}  // namespace

Server::Server(StationService& station, ServerOptions options)
    : station_(station), options_(std::move(options)) {}

Server::~Server() {
    stop();
    api_.reset();
    if (ssl_initialized_) Poco::Net::uninitializeSSL();
}

void Server::start() {
    const bool https = !options_.https_certificate.empty() && !options_.https_private_key.empty();
    if (!options_.store_path.empty() && !api_) {
        ApiOptions api_options;
        api_options.store_path = options_.store_path;
        api_options.openapi_file = options_.openapi_file;
        api_options.first_admin_command = options_.first_admin_command;
        api_options.max_body_bytes = options_.max_body_bytes;
        api_options.secure_cookies = https;
        api_options.quota = options_.quota;
        api_options.summary_max_age_s = options_.summary_max_age_s;
        api_options.recipes_dir = options_.recipes_dir;
        api_options.fixture_file = options_.fixture_file;
        api_options.max_live_clients = options_.max_live_clients;
        api_options.password_iterations = options_.password_iterations;
        api_ = std::make_unique<Api>(station_, options_.clock ? *options_.clock : system_clock_,
                                     api_options);
    }
    Poco::Net::SocketAddress address(options_.bind, static_cast<Poco::UInt16>(options_.port));
    Poco::Net::Context::Ptr tls;
    if (https) {
        if (!ssl_initialized_) {
            Poco::Net::initializeSSL();
            ssl_initialized_ = true;
        }
        tls = new Poco::Net::Context(  // reference-counted by Poco
            Poco::Net::Context::TLS_SERVER_USE, options_.https_private_key.string(),
            options_.https_certificate.string(), "", Poco::Net::Context::VERIFY_NONE);
        tls->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                              Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
    }
    // A burst of connections waits in the kernel until the gate accepts it. Under HTTPS the
    // listener is plain TCP too: the gate runs each connection's TLS (web/header_gate.hpp).
    Poco::Net::ServerSocket socket(address, 1024);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;  // Poco-counted
    params->setMaxThreads(options_.max_threads);
    params->setMaxQueued(256);
    params->setKeepAlive(true);
    // Per receive: a client that stops sending mid-body frees its thread after this.
    params->setTimeout(Poco::Timespan(static_cast<long>(options_.header_timeout_s * 1e6)));
    params->setKeepAliveTimeout(Poco::Timespan(static_cast<long>(options_.idle_timeout_s * 1e6)));
    Poco::Net::HTTPRequestHandlerFactory::Ptr router =
        new Router(station_, options_, api_.get());  // Poco::SharedPtr owns it
    GateLimits limits;
    limits.header_timeout_s = options_.header_timeout_s;
    limits.idle_timeout_s = options_.idle_timeout_s;
    limits.max_header_bytes = options_.max_header_bytes;
    limits.max_waiting = options_.max_waiting_connections;
    limits.max_threads = options_.max_threads;
    gate_ = std::make_unique<HeaderGate>(socket, params, router, limits, tls);
    gate_->start();
}

void Server::stop() {
    if (gate_) {
        gate_->stop();
        gate_.reset();
    }
}

int Server::port() const {
    return gate_ ? gate_->port() : 0;
}

std::size_t Server::waiting_connections() const {
    return gate_ ? gate_->waiting() : 0;
}

std::size_t Server::live_clients() const {
    return api_ ? api_->live().clients() : 0;
}

}  // namespace linestation::web
