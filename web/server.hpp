#pragma once
// The station's HTTP server: JSON API under /api and the browser UI from web/ui.

#include <Poco/Net/HTTPServer.h>

#include <filesystem>
#include <memory>
#include <string>

#include "station/service.hpp"

namespace linestation::web {

struct ServerOptions {
    std::string bind = "127.0.0.1";
    int port = 8080;  // 0 picks a free port (tests)
    std::filesystem::path ui_dir = LS_SOURCE_WEB_UI_DIR;
    int max_threads = 16;
    std::size_t max_body_bytes = 1 << 20;
};

class Server {
public:
    Server(StationService& station, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    void stop();
    int port() const;

private:
    StationService& station_;
    ServerOptions options_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace linestation::web
