#pragma once
// `station fleet serve`: the supervisor's views over the whole fleet, read from its
// PostgreSQL, as JSON Tables (the station dashboard's shape) or CSV, filtered to one
// station on request. With a users file (a station store whose users `station user add
// --db FILE` made) it signs users in as the station does (web/sign_in.hpp): supervisors and
// admins read the views, and it may bind beyond loopback. Without one it has no sign-in
// and serves the loopback interface only. Its supervisor page, /fleet.html (also "/"),
// and the login page come from the same UI folder as the station's pages, served alike
// (web/static_files.hpp).

#include <Poco/Net/HTTPServer.h>

#include <filesystem>
#include <memory>
#include <string>

#include "station/fleet/pg.hpp"
#include "station/fleet/quota_day.hpp"

namespace linestation::web {

struct FleetServerOptions {
    std::string pg_url;  // never logged or answered (redact_url in messages)
    std::string bind = "127.0.0.1";
    int port = 8090;  // 0 picks a free port
    int max_threads = 8;
    std::filesystem::path users;  // the users' store file; empty: no sign-in, loopback only
    std::filesystem::path ui_dir = LS_SOURCE_WEB_UI_DIR;  // web/ui (the station's pages too)
    bool secure_cookies = false;
    fleet::PgDeadlines deadlines{std::chrono::milliseconds(3000), std::chrono::seconds(30)};
    // The quota day's zone, as the stations' "fleet": {"day_zone"}: which day "today" is
    // in the quota view.
    fleet::QuotaDayZone quota_zone;
};

class SignIn;

class FleetServer {
  public:
    // Refuses a non-loopback bind without a users file.
    explicit FleetServer(FleetServerOptions options);
    ~FleetServer();
    FleetServer(const FleetServer&) = delete;
    FleetServer& operator=(const FleetServer&) = delete;
    void start();
    void stop();
    int port() const;

  private:
    struct Users;
    FleetServerOptions options_;
    std::unique_ptr<Users> users_;  // with options_.users: its store and sign-in
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace linestation::web
