#include "tests/fleet/pg_server.hpp"

#include "station/fleet/pg.hpp"
#include "tests/common/loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

namespace linestation::testing {

namespace {

std::filesystem::path server_bin() {
    // Debian keeps the server's programs per major version, off the PATH.
    std::filesystem::path best;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
        if (std::filesystem::exists(entry.path() / "bin" / "initdb") &&
            entry.path().filename().string() > best.parent_path().filename().string()) {
            best = entry.path() / "bin";
        }
    }
    if (best.empty()) {
        throw std::runtime_error(
            "no PostgreSQL server in /usr/lib/postgresql/*/bin (package postgresql, "
            "scripts/packages.txt)");
    }
    return best;
}

}  // namespace

PgServer::PgServer() : bin_(server_bin()), as_postgres_(::geteuid() == 0) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("linestation-pg-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    if (as_postgres_) {
        const passwd* pw = ::getpwnam("postgres");
        if (!pw) throw std::runtime_error("running as root, but there is no postgres user");
        if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            throw std::runtime_error("cannot hand " + dir_.string() + " to postgres");
        }
    }
    // initdb costs seconds on a busy machine and every test (a ctest process each) needs
    // a cluster: one is made per server version and user, then copied for each server.
    const auto template_dir = std::filesystem::temp_directory_path() /
                              ("linestation-pg-template-" + bin_.parent_path().filename().string() +
                               "-" + std::to_string(::geteuid()));
    if (!std::filesystem::exists(template_dir / "PG_VERSION")) {
        const auto fresh = dir_ / "template";
        run_as_owner({(bin_ / "initdb").string(), "-D", fresh.string(), "-U", "postgres", "-A",
                      "trust", "-E", "UTF8", "--no-sync", "--no-instructions"});
        // Another test may have made it meanwhile: then ours is simply not used.
        std::error_code ec;
        std::filesystem::rename(fresh, template_dir, ec);
    }
    run_as_owner({"/bin/cp", "-a", template_dir.string(), (dir_ / "data").string()});
    port_ = free_loopback_port();
    start();
}

PgServer::~PgServer() {
    try {
        if (running_) {
            run_as_owner({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m",
                          "immediate", "-w", "stop"});
        }
    } catch (const std::exception&) {
        // Leave the folder rather than pull it from under a running server.
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::string PgServer::run_as_owner(const std::vector<std::string>& argv) const {
    std::vector<std::string> full;
    if (as_postgres_) full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    // Not through a pipe: pg_ctl start leaves the postmaster running, and any pipe it
    // inherited would never reach end-of-file. Output goes to a file; every other
    // descriptor is closed in the child.
    const auto output = dir_ / "command.out";
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int in = ::open("/dev/null", O_RDONLY);
        ::dup2(in, 0);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close_range(3, ~0U, 0);
        std::vector<char*> args;
        for (const auto& a : full) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::ifstream in(output);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(argv[0] + " failed (status " + std::to_string(status) +
                                 "): " + text);
    }
    return text;
}

void PgServer::start() {
    // fsync off: the tests crash the network and the station, not the server's machine.
    const std::string options = "-p " + std::to_string(port_) +
                                " -c listen_addresses=127.0.0.1 -k " + dir_.string() +
                                " -c fsync=off -c max_connections=200 -c shared_buffers=32MB";
    run_as_owner({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
                  (dir_ / "server.log").string(), "-w", "-t", "60", "-o", options, "start"});
    running_ = true;
}

void PgServer::stop_immediate() {
    run_as_owner({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m", "immediate",
                  "-w", "stop"});
    running_ = false;
}

std::string PgServer::url(const std::string& db) const {
    return url_on_port(port_, db);
}

std::string PgServer::url_on_port(int port, const std::string& db) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/" + db;
}

PgServer& shared_pg_server() {
    static PgServer server;
    return server;
}

std::string fresh_database(PgServer& server) {
    static std::atomic<int> counter{0};
    const auto name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    fleet::PgConnection c(server.url());
    c.exec_script("CREATE DATABASE " + name);
    return server.url(name);
}

struct FreezableProxy::State {
    int listen_fd = -1;
    int target_port = 0;
    std::atomic<bool> stop{false};
    std::atomic<bool> frozen{false};
    std::atomic<bool> replies_only{false};
    std::atomic<bool> drop_all{false};
    struct Pair {
        int client = -1;
        int server = -1;
    };
    std::vector<Pair> pairs;
    std::thread thread;

    void close_pair(Pair& p) {
        ::close(p.client);
        ::close(p.server);
        p.client = p.server = -1;
    }

    void accept_one() {
        const int c = ::accept(listen_fd, nullptr, nullptr);
        if (c < 0) return;
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(target_port));
        if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(c);
            ::close(s);
            return;
        }
        pairs.push_back({c, s});
    }

    // Moves what is there from one side to the other; false when a side closed.
    static bool relay(int from, int to) {
        char buf[65536];
        const auto n = ::read(from, buf, sizeof buf);
        if (n <= 0) return false;
        std::size_t sent = 0;
        while (sent < static_cast<std::size_t>(n)) {
            const auto w = ::write(to, buf + sent, static_cast<std::size_t>(n) - sent);
            if (w <= 0) return false;
            sent += static_cast<std::size_t>(w);
        }
        return true;
    }

    void run() {
        while (!stop) {
            if (drop_all.exchange(false)) {
                for (auto& p : pairs) close_pair(p);
                pairs.clear();
            }
            std::vector<pollfd> fds;
            fds.push_back({listen_fd, POLLIN, 0});
            // Frozen: nothing is read, so nothing moves and nothing is noticed.
            const bool all_frozen = frozen && !replies_only;
            if (!all_frozen) {
                for (const auto& p : pairs) {
                    fds.push_back({p.client, POLLIN, 0});
                    // Frozen replies: the server's side is never read.
                    fds.push_back({p.server, static_cast<short>(frozen ? 0 : POLLIN), 0});
                }
            }
            if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
            if (fds[0].revents & POLLIN) accept_one();
            // Read again: a freeze that came while poll() waited holds from now on, or
            // bytes a client sent just after freeze() would still reach the server.
            if (all_frozen || (frozen && !replies_only)) continue;
            for (std::size_t i = 0; i + 1 < fds.size(); i += 2) {
                auto& p = pairs[i / 2];
                bool ok = true;
                if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
                    ok = relay(p.client, p.server);
                if (ok && !frozen && (fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)))
                    ok = relay(p.server, p.client);
                if (!ok) close_pair(p);
            }
            pairs.erase(std::remove_if(pairs.begin(), pairs.end(),
                                       [](const Pair& p) { return p.client < 0; }),
                        pairs.end());
        }
        for (auto& p : pairs) close_pair(p);
    }
};

FreezableProxy::FreezableProxy(int target_port) : state_(std::make_unique<State>()) {
    state_->target_port = target_port;
    state_->listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(state_->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(state_->listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(state_->listen_fd, 64) != 0 ||
        ::getsockname(state_->listen_fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(state_->listen_fd);
        throw std::runtime_error("proxy: cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
    state_->thread = std::thread([s = state_.get()] { s->run(); });
}

FreezableProxy::~FreezableProxy() {
    state_->stop = true;
    state_->thread.join();
    ::close(state_->listen_fd);
}

void FreezableProxy::freeze(bool replies_only) {
    state_->replies_only = replies_only;
    state_->frozen = true;
}

void FreezableProxy::thaw() {
    state_->drop_all = true;
    state_->frozen = false;
}

}  // namespace linestation::testing
