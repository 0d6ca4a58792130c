#pragma once
// A real PostgreSQL for one test: Debian's server binaries, a cluster made by initdb in a
// temporary folder, a postmaster on a free loopback port; stopped and removed afterwards.
// initdb refuses to run as root, so as root the cluster belongs to the `postgres` user
// (runuser). Only the postmaster this fixture started is ever stopped (pg_ctl -D on its
// own data folder).

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace linestation::testing {

class PgServer {
  public:
    PgServer();  // initdb and start; throws with initdb's or pg_ctl's output on failure
    ~PgServer();
    PgServer(const PgServer&) = delete;
    PgServer& operator=(const PgServer&) = delete;

    int port() const { return port_; }
    // postgresql://postgres@127.0.0.1:PORT/DB
    std::string url(const std::string& db = "postgres") const;
    std::string url_on_port(int port, const std::string& db = "postgres") const;
    // A crash as the network sees it: pg_ctl stop -m immediate (no shutdown checkpoint,
    // clients' connections cut).
    void stop_immediate();
    void start();
    bool running() const { return running_; }

  private:
    std::string run_as_owner(const std::vector<std::string>& argv) const;

    std::filesystem::path dir_;
    std::filesystem::path bin_;
    int port_ = 0;
    bool as_postgres_ = false;
    bool running_ = false;
};

// One server for the tests of a binary that never stop it, started at first use; each
// test takes its own fresh database on it (url of that database).
PgServer& shared_pg_server();
std::string fresh_database(PgServer& server);

// A TCP relay in front of the server. freeze() stops moving bytes both ways while the
// sockets stay open: to the client, a half-open link (a dead switch, a NAT that forgot
// the flow), where no error ever comes. thaw() closes the frozen connections (their
// path is gone) and relays new ones again.
class FreezableProxy {
  public:
    explicit FreezableProxy(int target_port);
    ~FreezableProxy();
    FreezableProxy(const FreezableProxy&) = delete;
    FreezableProxy& operator=(const FreezableProxy&) = delete;
    int port() const { return port_; }
    // replies_only: the client's bytes still reach the server, its answers never come
    // back (a COMMIT that happened, whose answer was lost).
    void freeze(bool replies_only = false);
    void thaw();

  private:
    struct State;
    int port_ = 0;
    std::unique_ptr<State> state_;  // a pimpl keeps the thread and sockets out of the header
};

}  // namespace linestation::testing
