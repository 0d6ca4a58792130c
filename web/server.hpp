#pragma once
// The station's HTTP server: JSON API under /api and the browser UI from web/ui.

#include <Poco/Net/HTTPServer.h>

#include <filesystem>
#include <memory>
#include <string>

#include "station/auth/password.hpp"
#include "station/clock/clock.hpp"
#include "station/reports/supervisor.hpp"
#include "station/service.hpp"
#include "web/header_gate.hpp"

namespace linestation::web {

struct ServerOptions {
    std::string bind = "127.0.0.1";
    int port = 8080;  // 0 picks a free port (tests)
    std::filesystem::path ui_dir = LS_SOURCE_WEB_UI_DIR;
    int max_threads = 16;
    std::size_t max_body_bytes = 1 << 20;
    // The store the dashboard reads reports from and keeps users and the audit log in.
    // Empty: only /api/health and the static files are served.
    std::filesystem::path store_path;
    std::filesystem::path openapi_file = LS_SOURCE_WEB_DIR "/openapi.json";
    // Time for sessions, throttling and report periods; nullptr: the system clock.
    const Clock* clock = nullptr;
    // HTTPS when both are set (cookies are then marked Secure).
    std::filesystem::path https_certificate;
    std::filesystem::path https_private_key;
    reports::QuotaLimits quota;
    double summary_max_age_s = 5.0;
    // From the station config: the recipes folder admins edit (empty: not offered) and the
    // live fixture file (empty: the virtual line).
    std::filesystem::path recipes_dir;
    std::filesystem::path fixture_file;
    // Slow and idle clients (HTTP and HTTPS; see web/header_gate.hpp): a header must arrive
    // within header_timeout_s, an idle kept-alive connection closes after idle_timeout_s.
    double header_timeout_s = 5.0;
    double idle_timeout_s = 10.0;
    std::size_t max_header_bytes = 32 * 1024;
    std::size_t max_waiting_connections = 2000;
    // /api/live WebSocket clients at once; more get 503.
    std::size_t max_live_clients = 200;
    // PBKDF2 iterations of the password hashes the dashboard makes (users it adds) and of the
    // stand-in hash a login that does not exist is checked against (same time as a real one).
    // Hashes in the store keep their own count; fewer only where every user has fewer
    // (tests, the fuzzer).
    int password_iterations = auth::kDefaultPbkdf2Iterations;
    // The station config's dashboard language ("en", "zh-CN"); empty: each browser's own.
    std::string ui_language;
    // The exact command that makes the first admin in this station's store, shown on the
    // login page while the store has no user (GET /api/first-run).
    std::string first_admin_command;
};

class Api;

class Server {
  public:
    Server(StationService& station, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    void stop();
    int port() const;
    // Connected /api/live clients (for tests and benchmarks).
    std::size_t live_clients() const;
    // Connections waiting for their request header (tests).
    std::size_t waiting_connections() const;

  private:
    StationService& station_;
    ServerOptions options_;
    SystemClock system_clock_;
    std::unique_ptr<Api> api_;
    bool ssl_initialized_ = false;
    std::unique_ptr<HeaderGate> gate_;  // HTTP and HTTPS
};

}  // namespace linestation::web
