#pragma once
// `station fleet serve`: the supervisor's views over the whole fleet, read from its
// PostgreSQL, as JSON Tables (the station dashboard's shape) or CSV, filtered to one
// station on request. Until the fleet has its own users and roles it serves the loopback
// interface only.

#include <Poco/Net/HTTPServer.h>

#include <memory>
#include <string>

#include "station/fleet/pg.hpp"

namespace linestation::web {

struct FleetServerOptions {
    std::string pg_url;  // never logged or answered (redact_url in messages)
    std::string bind = "127.0.0.1";
    int port = 8090;  // 0 picks a free port
    int max_threads = 8;
    fleet::PgDeadlines deadlines{std::chrono::milliseconds(3000), std::chrono::seconds(30)};
};

class FleetServer {
  public:
    explicit FleetServer(FleetServerOptions options);  // refuses a non-loopback bind
    ~FleetServer();
    FleetServer(const FleetServer&) = delete;
    FleetServer& operator=(const FleetServer&) = delete;
    void start();
    void stop();
    int port() const;

  private:
    FleetServerOptions options_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace linestation::web
