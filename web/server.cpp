#include "web/server.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include <fstream>
#include <sstream>

namespace linestation::web {

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

void send_json(HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
               const Poco::JSON::Object& body) {
    std::ostringstream out;
    body.stringify(out);
    auto text = out.str();
    response.setStatus(status);
    response.setContentType("application/json; charset=utf-8");
    response.set("Cache-Control", "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.setContentLength(static_cast<std::streamsize>(text.size()));
    response.send() << text;
}

void send_error(HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
                const std::string& message) {
    Poco::JSON::Object body;
    body.set("error", message);
    send_json(response, status, body);
}

std::string content_type_for(const std::filesystem::path& file) {
    auto ext = file.extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".wav") return "audio/wav";
    return "application/octet-stream";
}

class HealthHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit HealthHandler(StationService& station) : station_(station) {}
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        auto h = station_.health();
        Poco::JSON::Object body;
        body.set("status", h.store_ok ? "ok" : "degraded");
        body.set("version", h.version);
        body.set("station_id", h.station_id);
        body.set("station_name", h.station_name);
        body.set("uptime_s", h.uptime_s);
        body.set("store_ok", h.store_ok);
        body.set("schema_version", h.schema_version);
        body.set("virtual_line", h.virtual_line);
        send_json(response, h.store_ok ? HTTPResponse::HTTP_OK
                                       : HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                  body);
    }

private:
    StationService& station_;
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

// Serves files below ui_dir only: the decoded path is normalised and must stay inside.
class StaticHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit StaticHandler(std::filesystem::path ui_dir) : ui_dir_(std::move(ui_dir)) {}
    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        std::string path;
        try {
            path = Poco::URI(request.getURI()).getPath();
        } catch (const Poco::Exception&) {
            send_error(response, HTTPResponse::HTTP_BAD_REQUEST, "malformed URI");
            return;
        }
        if (path.empty() || path == "/") path = "/index.html";
        if (path.find('\0') != std::string::npos) {
            send_error(response, HTTPResponse::HTTP_BAD_REQUEST, "malformed path");
            return;
        }
        auto root = std::filesystem::weakly_canonical(ui_dir_);
        auto file = std::filesystem::weakly_canonical(root / std::filesystem::path(path).relative_path());
        auto [root_end, _] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
        if (root_end != root.end() || !std::filesystem::is_regular_file(file)) {
            send_error(response, HTTPResponse::HTTP_NOT_FOUND, "not found");
            return;
        }
        std::ifstream in(file, std::ios::binary);
        std::ostringstream data;
        data << in.rdbuf();
        auto text = data.str();
        response.setStatus(HTTPResponse::HTTP_OK);
        response.setContentType(content_type_for(file));
        response.set("X-Content-Type-Options", "nosniff");
        response.set("Cache-Control", "no-cache");
        response.setContentLength(static_cast<std::streamsize>(text.size()));
        response.send() << text;
    }

private:
    std::filesystem::path ui_dir_;
};

class Router : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Router(StationService& station, const ServerOptions& options)
        : station_(station), options_(options) {}

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
        const auto& method = request.getMethod();
        if (path == "/api/health") {
            if (method != "GET") {
                return new ErrorHandler(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "use GET");
            }
            return new HealthHandler(station_);
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
};

}  // namespace

Server::Server(StationService& station, ServerOptions options)
    : station_(station), options_(std::move(options)) {}

Server::~Server() { stop(); }

void Server::start() {
    Poco::Net::ServerSocket socket(
        Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)));
    auto* params = new Poco::Net::HTTPServerParams;  // reference-counted by Poco
    params->setMaxThreads(options_.max_threads);
    params->setMaxQueued(256);
    params->setKeepAlive(true);
    params->setTimeout(Poco::Timespan(30, 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Router(station_, options_), socket, params);
    server_->start();
}

void Server::stop() {
    if (server_) {
        server_->stopAll(true);
        server_.reset();
    }
}

int Server::port() const { return server_ ? server_->port() : 0; }

}  // namespace linestation::web
