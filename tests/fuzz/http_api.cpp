// The HTTP API as a client on the network meets it: each input is the bytes of one
// connection (one or more requests, pipelined) sent over loopback to the real server (the
// header gate, Poco's parser, the router and every handler) on a test line with a real
// store. "@SESSION@" and "@CSRF@" in an input become an admin's live session cookie and
// its CSRF token, so the handlers behind the login are reached too.
//
// What must hold: every answer starts with an HTTP/1.x status line, an error's reason phrase
// is not "OK"; no request makes a handler fail (500: an exception where a 4xx with its reason
// belongs); and the server keeps answering /api/health.
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "station/store/store.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "tests/web/test_line.hpp"
#include "tests/web/test_users.hpp"
#include "web/server.hpp"

namespace {

constexpr const char* kTarget = "http_api";
constexpr const char* kAdmin = "fuzz-admin";
constexpr const char* kAdminPassword = "fuzz-admin-password";

// Everything the connection got back until the server closed it (or 5 s passed).
std::string exchange(int port, std::string_view bytes, bool half_close = true) {
    Poco::Net::StreamSocket socket(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    socket.setNoDelay(true);
    std::size_t sent = 0;
    try {
        while (sent < bytes.size()) {
            auto n = socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        // Nothing more comes: the server need not wait out its header timeout.
        if (half_close) socket.shutdownSend();
    } catch (const Poco::Exception&) {
        // The server closed first (a refused request); read what it said.
    }
    std::string answer;
    char buffer[8192];
    try {
        while (true) {
            auto n = socket.receiveBytes(buffer, sizeof buffer);
            if (n <= 0) break;
            answer.append(buffer, static_cast<std::size_t>(n));
        }
    } catch (const Poco::Exception&) {
        // Reset or timed out: what came so far is the answer.
    }
    return answer;
}

std::string header_value(const std::string& answer, const std::string& name) {
    auto at = answer.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    at += name.size() + 4;
    return answer.substr(at, answer.find("\r\n", at) - at);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// The run's store and recipes, in memory when the machine has /dev/shm: the same SQLite
// with the same synchronous=FULL commits, without a disk flush per audited request (which
// made the target wait on the disk, not on the code).
struct RunFolder {
    RunFolder() {
        std::random_device rd;
        const std::filesystem::path shm = "/dev/shm";
        path = (std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path()) /
               ("linestation-fuzz-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~RunFolder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    RunFolder(const RunFolder&) = delete;
    RunFolder& operator=(const RunFolder&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return path / name; }
    std::filesystem::path path;
};

struct FuzzStation {
    FuzzStation() {
        std::filesystem::create_directories(dir / "recipes");
        std::filesystem::copy_file(
            std::filesystem::path(LS_SOURCE_DIR) / "recipes" / "tuya-smart-plug.json",
            dir / "recipes" / "tuya-smart-plug.json");
        store = std::make_unique<linestation::store::Store>(dir / "station.db");
        linestation::testing::add_test_user(*store, kAdmin, "admin", {"tuya-smart-plug"},
                                            kAdminPassword);
        linestation::testing::add_test_user(*store, "op", "operator", {"tuya-smart-plug"},
                                            "op-password");
        line = std::make_unique<linestation::testing::TestLine>(
            store.get(), std::vector<std::string>{"tuya-smart-plug"});
        linestation::web::ServerOptions options;
        options.port = 0;
        options.store_path = dir / "station.db";
        options.recipes_dir = dir / "recipes";
        options.max_body_bytes = 64 * 1024;
        // An input that leaves its header unfinished without closing costs this much.
        options.header_timeout_s = 0.5;
        options.idle_timeout_s = 0.5;
        // The users it adds are hashed like the test users above (1000 PBKDF2 rounds, the
        // least the store accepts): at the default count one added user cost 0.5-2.8 s.
        options.password_iterations = 1000;
        // The login throttle counts the fuzzer's wrong logins too; its window is passed on
        // this clock before the admin logs in again (keep_session), or after 20 of them every
        // input after a logout would stop at the login.
        options.clock = &clock;
        server = std::make_unique<linestation::web::Server>(*line, options);
        server->start();
        port = server->port();
        log_in();
    }

    void log_in() {
        const std::string body =
            std::string("{\"login\":\"") + kAdmin + "\",\"password\":\"" + kAdminPassword + "\"}";
        auto answer = exchange(port,
                               "POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body);
        auto cookie = header_value(answer, "Set-Cookie");
        if (cookie.rfind("ls_session=", 0) == 0) {
            session = cookie.substr(11, cookie.find(';') - 11);
        }
        auto at = answer.find("\"csrf_token\":\"");
        if (at != std::string::npos) {
            at += 14;
            csrf = answer.substr(at, answer.find('"', at) - at);
        }
    }

    // The fuzzer may have logged the admin out, disabled it or changed its password: log in
    // again when its session no longer works (a failed login just leaves the placeholders
    // without a live session).
    void keep_session() {
        auto answer = exchange(port,
                               "GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: "
                               "ls_session=" +
                                   session + "\r\n\r\n");
        if (answer.rfind("HTTP/1.1 200", 0) != 0) {
            clock.advance(kPastTheLoginWindowS);
            log_in();
        }
    }

    // Past ApiOptions::login_window_s (300 s).
    static constexpr double kPastTheLoginWindowS = 301;
    linestation::ManualClock clock;
    RunFolder dir;
    std::unique_ptr<linestation::store::Store> store;
    std::unique_ptr<linestation::testing::TestLine> line;
    std::unique_ptr<linestation::web::Server> server;
    int port = 0;
    std::string session = "none";
    std::string csrf = "none";
    int inputs = 0;
};

FuzzStation& station() {
    // One server for the whole run: starting one per input would measure start-up only.
    static FuzzStation s;
    return s;
}

void check_answers(const std::string& answer) {
    // Each status line the connection got (pipelined requests get one each).
    for (std::size_t at = 0; at < answer.size();) {
        if (answer.compare(at, 9, "HTTP/1.1 ") != 0 && answer.compare(at, 9, "HTTP/1.0 ") != 0) {
            // A body may hold anything; only the first answer's start is checked here.
            if (at == 0) linestation::fuzz::broken(kTarget, "an answer that is not HTTP/1.x");
            break;
        }
        if (answer.compare(at + 9, 3, "500") == 0) {
            linestation::fuzz::broken(kTarget, "a request made a handler fail (500)");
        }
        // "HTTP/1.1 404 Not Found", never "404 OK" (a status set without its reason phrase).
        const auto line_end = answer.find("\r\n", at);
        if (line_end == std::string::npos || line_end < at + 13) {
            linestation::fuzz::broken(kTarget, "a status line without its reason phrase");
        }
        if (answer.compare(at + 9, 3, "200") != 0 &&
            answer.compare(at + 13, line_end - at - 13, "OK") == 0) {
            linestation::fuzz::broken(kTarget, "an error answer whose reason phrase says OK");
        }
        auto header_end = answer.find("\r\n\r\n", at);
        if (header_end == std::string::npos) break;
        auto length = header_value(answer.substr(at, header_end - at + 2), "Content-Length");
        if (length.empty() || length.size() > 9) break;
        at = header_end + 4 + std::stoul(length);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& s = station();
    std::string input(reinterpret_cast<const char*>(data), size);
    input = replaced(std::move(input), "@SESSION@", s.session);
    input = replaced(std::move(input), "@CSRF@", s.csrf);
    check_answers(exchange(s.port, input));
    if (++s.inputs % 64 == 0) {
        auto health = exchange(s.port, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        if (health.rfind("HTTP/1.1 200", 0) != 0) {
            linestation::fuzz::broken(kTarget, "/api/health went unanswered");
        }
        s.keep_session();
    }
    return 0;
}
