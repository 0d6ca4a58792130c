// The dashboard against the attacks OWASP ASVS level 2 names where they apply to a station:
// response headers, session renewal and logout, login throttling, CSRF on every state
// change, path traversal, bounded requests, slow clients and many WebSocket clients.
// A real server on a free loopback port, real sockets.
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/SHA2Engine.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"
#include "tests/web/slow_clients.hpp"
#include "tests/web/test_line.hpp"
#include "tests/web/test_users.hpp"
#include "web/server.hpp"

using linestation::testing::Answer;
using linestation::testing::ApiClient;
using linestation::testing::TempDir;
using linestation::testing::TestLine;

namespace {

class WebSecurity : public ::testing::Test {
  protected:
    void SetUp() override {}

    void start(linestation::web::ServerOptions options = {}) {
        store = std::make_unique<linestation::store::Store>(dir / "st.db");
        for (auto [login, role] : {std::pair{"op", "operator"}, std::pair{"sup", "supervisor"},
                                   std::pair{"adm", "admin"}}) {
            linestation::testing::add_test_user(*store, login, role, {"cam-a"},
                                                std::string(login) + "-pw");
        }
        line = std::make_unique<TestLine>(store.get(), std::vector<std::string>{"cam-a"});
        options.port = 0;
        options.store_path = dir / "st.db";
        options.max_body_bytes = 4096;
        server = std::make_unique<linestation::web::Server>(*line, options);
        server->start();
    }

    ApiClient as(const std::string& login) {
        ApiClient c(server->port());
        auto a = c.login(login, login + "-pw");
        EXPECT_EQ(a.status, 200) << a.body;
        return c;
    }

    std::size_t audit_rows(const std::string& action) {
        std::size_t n = 0;
        for (const auto& a : store->audit_log(0)) n += a.action == action;
        return n;
    }

    TempDir dir;
    std::unique_ptr<linestation::store::Store> store;
    std::unique_ptr<TestLine> line;
    std::unique_ptr<linestation::web::Server> server;
};

// What a raw socket gets back for `request` (everything until the server closes or 3 s).
std::string raw_exchange(int port, const std::string& request) {
    Poco::Net::StreamSocket s(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    s.setReceiveTimeout(Poco::Timespan(3, 0));
    s.sendBytes(request.data(), static_cast<int>(request.size()));
    std::string answer;
    char buffer[4096];
    try {
        while (true) {
            int n = s.receiveBytes(buffer, sizeof buffer);
            if (n <= 0) break;
            answer.append(buffer, static_cast<std::size_t>(n));
            if (answer.find("\r\n\r\n") != std::string::npos &&
                answer.find("Connection: close") == std::string::npos &&
                answer.find("}") != std::string::npos)
                break;
        }
    } catch (const Poco::Exception&) {
        // A reset after the answer: what arrived is the answer.
    }
    return answer;
}

int status_of(const std::string& raw) {
    if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
    return std::stoi(raw.substr(9, 3));
}

std::string sha256_base64(const std::string& text) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(text);
    const auto& digest = sha.digest();
    std::ostringstream out;
    Poco::Base64Encoder b64(out);
    b64.write(reinterpret_cast<const char*>(digest.data()),
              static_cast<std::streamsize>(digest.size()));
    b64.close();
    return out.str();
}

void expect_security_headers(const Answer& a, const std::string& what) {
    EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff") << what;
    EXPECT_EQ(a.header("X-Frame-Options"), "DENY") << what;
    EXPECT_EQ(a.header("Referrer-Policy"), "no-referrer") << what;
    EXPECT_NE(a.header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos)
        << what;
}

TEST_F(WebSecurity, EveryAnswerCarriesTheSecurityHeaders) {
    start();
    ApiClient anyone(server->port());
    auto op = as("op");
    const std::vector<std::pair<std::string, int>> answers{
        {"/index.html", 200},  {"/app.js", 200},          {"/style.css", 200},
        {"/api/health", 200},  {"/no-such.html", 404},    {"/api/no-such", 404},
        {"/api/session", 401}, {"/api/openapi.json", 200}};
    for (const auto& [path, status] : answers) {
        auto a = anyone.get(path);
        EXPECT_EQ(a.status, status) << path;
        expect_security_headers(a, path);
    }
    for (const char* path : {"/api/slots", "/api/batch", "/api/qr"}) {
        auto a = op.get(path);
        EXPECT_EQ(a.status, 200) << path;
        expect_security_headers(a, path);
        EXPECT_EQ(a.header("Content-Security-Policy"),
                  "default-src 'none'; frame-ancestors 'none'");
    }
    expect_security_headers(op.post("/api/batch", "{bad"), "a refused POST");
}

TEST_F(WebSecurity, PagesRunOnlyTheirOwnScripts) {
    start();
    ApiClient c(server->port());
    std::size_t pages = 0;
    for (const auto& entry : std::filesystem::directory_iterator(LS_SOURCE_WEB_UI_DIR)) {
        if (entry.path().extension() != ".html") continue;
        ++pages;
        std::ifstream in(entry.path());
        std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto name = entry.path().filename().string();
        // An inline handler would need 'unsafe-inline' (or 'unsafe-hashes'): none may exist.
        EXPECT_FALSE(std::regex_search(html, std::regex(R"(<[^>]*\son[a-z]+\s*=)")))
            << name << " has an inline event handler";
        auto a = c.get("/" + name);
        ASSERT_EQ(a.status, 200) << name;
        auto csp = a.header("Content-Security-Policy");
        auto script_src = csp.substr(csp.find("script-src"));
        script_src = script_src.substr(0, script_src.find(';'));
        EXPECT_EQ(script_src.find("unsafe"), std::string::npos) << name << ": " << script_src;
        EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << name;
        EXPECT_NE(csp.find("object-src 'none'"), std::string::npos) << name;
        // Each inline script is allowed by its own hash, and nothing else inline is.
        // Found by hand: libstdc++'s std::regex recurses once per character of a lazy
        // [\s\S]*? and overflows the stack on a long script (under ASan, make test-sanitize).
        std::size_t inline_count = 0;
        for (std::size_t at = 0; (at = html.find("<script>", at)) != std::string::npos;) {
            const auto begin = at + 8;
            const auto end = html.find("</script>", begin);
            ASSERT_NE(end, std::string::npos) << name << ": a <script> without </script>";
            ++inline_count;
            EXPECT_NE(
                script_src.find("'sha256-" + sha256_base64(html.substr(begin, end - begin)) + "'"),
                std::string::npos)
                << name << " inline script #" << inline_count;
            at = end + 9;
        }
        std::size_t hashes = 0;
        for (std::size_t at = 0; (at = script_src.find("'sha256-", at)) != std::string::npos; ++at)
            ++hashes;
        EXPECT_EQ(hashes, inline_count) << name;
    }
    EXPECT_GE(pages, 4u);
}

TEST_F(WebSecurity, LoginRenewsTheSessionIdAndTheOldOneIsDead) {
    start();
    ApiClient c(server->port());
    ASSERT_EQ(c.login("op", "op-pw").status, 200);
    auto first = c.cookie();
    // The browser still presents its old cookie when it logs in again (or as someone else).
    ASSERT_EQ(c.login("sup", "sup-pw").status, 200);
    EXPECT_NE(c.cookie(), first);
    EXPECT_EQ(c.get("/api/session").json()->getValue<std::string>("login"), "sup");
    ApiClient replay(server->port());
    auto a = replay.call("GET", "/api/session", "", {{"Cookie", "ls_session=" + first}});
    EXPECT_EQ(a.status, 401);
}

TEST_F(WebSecurity, ACookieReusedAfterLogoutIsRefused) {
    start();
    auto op = as("op");
    auto cookie = op.cookie();
    auto csrf = op.csrf();
    // The operator's page had its live socket open.
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server->port()));
    Poco::Net::HTTPRequest upgrade("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
    upgrade.set("Cookie", "ls_session=" + cookie);
    Poco::Net::HTTPResponse upgraded;
    Poco::Net::WebSocket live(session, upgrade, upgraded);
    live.setReceiveTimeout(Poco::Timespan(3, 0));
    char buffer[65536];
    int flags = 0;
    ASSERT_GT(live.receiveFrame(buffer, sizeof buffer, flags), 0);  // the hello
    ASSERT_EQ(op.call("DELETE", "/api/session").status, 200);
    // The server closes the socket: the next read ends (0 bytes or a reset), not a timeout.
    bool ended = false;
    try {
        ended = live.receiveFrame(buffer, sizeof buffer, flags) <= 0 ||
                (flags & Poco::Net::WebSocket::FRAME_OP_BITMASK) ==
                    Poco::Net::WebSocket::FRAME_OP_CLOSE;
    } catch (const Poco::TimeoutException&) {
        ended = false;
    } catch (const Poco::Exception&) {
        ended = true;
    }
    EXPECT_TRUE(ended) << "the live socket outlived its session";
    EXPECT_EQ(server->live_clients(), 0u);
    ApiClient replay(server->port());
    std::map<std::string, std::string> stolen{{"Cookie", "ls_session=" + cookie},
                                              {"X-CSRF-Token", csrf}};
    EXPECT_EQ(replay.call("GET", "/api/session", "", stolen).status, 401);
    EXPECT_EQ(replay.call("GET", "/api/slots", "", stolen).status, 401);
    EXPECT_EQ(replay.call("POST", "/api/batch", R"({"recipe":"cam-a"})", stolen).status, 401);
    EXPECT_TRUE(line->calls().empty());
}

TEST_F(WebSecurity, OneLoginGuessedFromManyAddressesIsThrottledWithoutTellingIfItExists) {
    start();
    // 20 addresses, one failure each: no address and no login+address pair reaches its
    // limit, but the login does.
    for (int i = 0; i < 20; ++i) {
        for (const char* login : {"op", "ghost"}) {
            ApiClient c(server->port());
            c.source = "127.0.0." + std::to_string(10 + i);
            EXPECT_EQ(c.login(login, "wrong-password").status, 401);
        }
    }
    ApiClient fresh(server->port());
    fresh.source = "127.0.0.99";
    auto real = fresh.login("op", "op-pw");
    auto ghost = fresh.login("ghost", "op-pw");
    EXPECT_EQ(real.status, 429);
    EXPECT_EQ(ghost.status, 429);
    EXPECT_EQ(real.body, ghost.body);  // an existing login answers like an unknown one
    EXPECT_GE(std::stoi(real.header("Retry-After")), 1);
    EXPECT_FALSE(ghost.header("Retry-After").empty());
    EXPECT_EQ(audit_rows("session.login_throttled"), 2u);
    // Hammering on goes on being refused, and the audit says so once a minute, not per try.
    for (int i = 0; i < 10; ++i) EXPECT_EQ(fresh.login("op", "op-pw").status, 429);
    EXPECT_EQ(audit_rows("session.login_throttled"), 2u);
    EXPECT_EQ(audit_rows("session.login_failed"), 40u);
    // Other logins from that address are not locked out by it.
    EXPECT_EQ(fresh.login("sup", "sup-pw").status, 200);
}

// Every POST/PUT/DELETE the API documents, with the session but without (or with a wrong)
// CSRF token: refused, and nothing reached the line or the store.
TEST_F(WebSecurity, EveryStateChangeRefusesWithoutTheCsrfToken) {
    linestation::web::ServerOptions options;
    std::filesystem::create_directories(dir / "recipes");
    options.recipes_dir = dir / "recipes";
    start(options);
    auto adm = as("adm");
    auto op = as("op");
    auto doc = adm.get("/api/openapi.json").json();
    auto audit_before = store->audit_log(0).size();
    std::size_t routes = 0;
    for (const auto& [path, ops] : *doc->getObject("paths")) {
        auto concrete = std::regex_replace(path, std::regex("\\{slot\\}"), "A1");
        concrete = std::regex_replace(concrete, std::regex("\\{login\\}"), "op");
        concrete = std::regex_replace(concrete, std::regex("\\{id\\}"), "cam-a");
        concrete = std::regex_replace(concrete, std::regex("\\{table\\}"), "yield");
        concrete = std::regex_replace(concrete, std::regex("\\{serial\\}"), "SN-1");
        concrete = std::regex_replace(concrete, std::regex("\\{unit_id\\}"), "1");
        concrete = std::regex_replace(concrete, std::regex("\\{moment\\}"), "final");
        ASSERT_EQ(concrete.find('{'), std::string::npos) << path << ": a parameter to fill in";
        for (const auto& [method, op_doc] : *ops.extract<Poco::JSON::Object::Ptr>()) {
            auto upper = method;
            for (auto& ch : upper) ch = static_cast<char>(std::toupper(ch));
            if (upper == "GET") continue;
            // Logging in has no session to carry a token yet; it takes JSON only, which no
            // cross-site form can send (WebApi.LoginNeedsJsonContentType).
            if (upper == "POST" && concrete == "/api/session") continue;
            ++routes;
            const std::string body = upper == "PUT" ? R"({"product":{"id":"cam-a"}})" : "{}";
            for (auto* who : {&adm, &op}) {
                auto token = who->csrf();
                who->send_csrf = false;
                auto none = who->call(upper, concrete, body);
                who->send_csrf = true;
                who->set_csrf(std::string(64, '0'));
                auto wrong = who->call(upper, concrete, body);
                who->set_csrf(token);
                EXPECT_EQ(none.status, 403) << upper << " " << concrete << ": " << none.body;
                EXPECT_EQ(wrong.status, 403) << upper << " " << concrete << ": " << wrong.body;
            }
        }
    }
    EXPECT_GE(routes, 9u);
    EXPECT_TRUE(line->calls().empty());
    EXPECT_EQ(store->audit_log(0).size(), audit_before);
    EXPECT_TRUE(std::filesystem::is_empty(dir / "recipes"));
    EXPECT_EQ(adm.get("/api/session").status, 200);  // the sessions still stand
}

TEST_F(WebSecurity, TraversalIsRefusedOnStaticFilesAndEveryPathParameter) {
    // The UI folder of this test holds a link to a file outside it: never served.
    std::filesystem::create_directories(dir / "ui");
    std::ofstream(dir / "ui" / "index.html") << "<!doctype html><p>ui</p>";
    std::ofstream(dir / "outside.txt") << "OUTSIDE-SECRET";
    std::filesystem::create_symlink(dir / "outside.txt", dir / "ui" / "link.txt");
    std::filesystem::create_directories(dir / "recipes");
    linestation::web::ServerOptions options;
    options.ui_dir = dir / "ui";
    options.recipes_dir = dir / "recipes";
    start(options);
    auto adm = as("adm");
    const std::vector<std::string> evil{"..",
                                        "%2e%2e",
                                        "%2E%2E",
                                        "..%2f..%2f..%2fetc%2fpasswd",
                                        "%2e%2e%2f%2e%2e%2fst.db",
                                        "x%00",
                                        "%00",
                                        "..%5c..%5cst.db",
                                        "a%5cb",
                                        "%252e%252e",
                                        "....//....//etc/passwd"};
    auto refused = [&](const Answer& a, const std::string& what) {
        EXPECT_TRUE(a.status == 400 || a.status == 404) << what << " -> " << a.status;
        EXPECT_EQ(a.body.find("root:"), std::string::npos) << what;
        EXPECT_EQ(a.body.find("OUTSIDE-SECRET"), std::string::npos) << what;
        EXPECT_EQ(a.body.find("SQLite"), std::string::npos) << what;
    };
    for (const auto& e : evil) {
        refused(adm.get("/" + e), "static /" + e);
        refused(adm.get("/" + e + "/" + e + "/etc/passwd"), "static deep " + e);
        refused(adm.get("/api/units/" + e), "units " + e);
        refused(adm.get("/api/reports/" + e), "reports " + e);
        refused(adm.get("/api/reports/" + e + ".csv"), "reports csv " + e);
        refused(adm.get("/api/admin/recipes/" + e), "recipe " + e);
        refused(adm.call("PUT", "/api/admin/recipes/" + e, R"({"product":{"id":"x"}})"),
                "recipe save " + e);
        refused(adm.post("/api/users/" + e + "/disable"), "disable " + e);
        refused(adm.post("/api/slots/" + e + "/abort"), "abort " + e);
    }
    refused(adm.get("/link.txt"), "a symlink out of the UI folder");
    EXPECT_EQ(adm.get("/index.html").status, 200);
    EXPECT_TRUE(std::filesystem::is_empty(dir / "recipes"));
    EXPECT_TRUE(line->calls().empty());
    // A raw request line the client library would not send: a backslash and a NUL as-is.
    for (const char* target : {"/..\\..\\st.db", "/index.html%00.png"}) {
        auto raw =
            raw_exchange(server->port(), std::string("GET ") + target +
                                             " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto status = status_of(raw);
        EXPECT_TRUE(status == 400 || status == 404) << target << ": " << raw.substr(0, 40);
    }
}

TEST_F(WebSecurity, OversizedHeadersAreRefusedWith431) {
    start();
    const std::string head = "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    // One header of 40 KiB: larger than the gate takes.
    auto big =
        raw_exchange(server->port(), head + "X-Big: " + std::string(40 * 1024, 'a') + "\r\n\r\n");
    EXPECT_EQ(status_of(big), 431) << big.substr(0, 60);
    // One field over Poco's 8 KiB value limit, the header as a whole under the gate's.
    auto field =
        raw_exchange(server->port(), head + "X-Big: " + std::string(9000, 'a') + "\r\n\r\n");
    EXPECT_EQ(status_of(field), 431) << field.substr(0, 60);
    std::string many = head;
    for (int i = 0; i < 150; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
    auto fields = raw_exchange(server->port(), many + "\r\n");
    EXPECT_EQ(status_of(fields), 431) << fields.substr(0, 60);
    // And the server is fine afterwards.
    EXPECT_EQ(ApiClient(server->port()).get("/api/health").status, 200);
}

// A client that stops sending halfway through its header (it shuts down its side) is told so
// at once, also when it stops while the gate lets its partial header rest between looks:
// not 408 at the header timeout (5 s), and without a worker thread.
TEST_F(WebSecurity, AHeaderLeftUnfinishedByAClientThatStopsSendingIsRefusedAtOnce) {
    start();
    Poco::Net::StreamSocket s(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server->port())));
    s.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string part = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    s.sendBytes(part.data(), static_cast<int>(part.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the gate has seen it
    const auto stopped = std::chrono::steady_clock::now();
    s.shutdownSend();
    std::string answer;
    char buffer[4096];
    try {
        for (int n; (n = s.receiveBytes(buffer, sizeof buffer)) > 0;)
            answer.append(buffer, static_cast<std::size_t>(n));
    } catch (const Poco::Exception&) {
        // A reset after the answer: what arrived is the answer.
    }
    const std::chrono::duration<double> waited = std::chrono::steady_clock::now() - stopped;
    EXPECT_EQ(status_of(answer), 400) << answer.substr(0, 80);
    EXPECT_NE(answer.find("the client stopped sending"), std::string::npos) << answer;
    EXPECT_LT(waited.count(), 2.0);
}

TEST_F(WebSecurity, KeptAliveConnectionsServeRequestAfterRequest) {
    start();
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server->port()));
    session.setKeepAlive(true);
    for (int i = 0; i < 20; ++i) {
        Poco::Net::HTTPRequest request("GET", "/api/health", Poco::Net::HTTPMessage::HTTP_1_1);
        request.setKeepAlive(true);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        ASSERT_EQ(response.getStatus(), 200) << i;
        EXPECT_TRUE(response.getKeepAlive()) << i;
        EXPECT_NE(body.find("\"status\""), std::string::npos);
    }
}

// The issue's measurement: 200 connections that send a header line now and then took every
// server thread, and /api/health timed out 4 times out of 4 (with Poco's HTTPServer: 5 of 5
// probes timed out at 1 s).
TEST_F(WebSecurity, HealthAnswersWithin1sWhile200SlowClientsAreConnected) {
    linestation::web::ServerOptions options;
    options.header_timeout_s = 3.0;
    start(options);
    const auto address =
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server->port()));
    std::vector<Poco::Net::StreamSocket> slow;
    // Half trickle their header, half send a whole header and trickle a small body (a
    // login nobody finishes).
    const std::string header_first = "GET /api/health HTTP/1.1\r\nHost: x\r\n";
    const std::string body_first =
        "POST /api/session HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 300\r\n\r\n{";
    for (int i = 0; i < 200; ++i) {
        slow.emplace_back(address);
        const auto& first = i % 2 ? body_first : header_first;
        slow.back().sendBytes(first.data(), static_cast<int>(first.size()));
    }
    auto trickle = [&] {
        for (std::size_t i = 0; i < slow.size(); ++i) {
            try {
                if (i % 2)
                    slow[i].sendBytes(" ", 1);
                else
                    slow[i].sendBytes("X-Slow: 1\r\n", 11);
            } catch (const Poco::Exception&) {
                // Dropped by the server already.
            }
        }
    };
    std::vector<double> took;
    for (int round = 0; round < 5; ++round) {
        trickle();
        auto t0 = std::chrono::steady_clock::now();
        Poco::Net::HTTPClientSession session(address);
        session.setTimeout(Poco::Timespan(1, 0));
        Poco::Net::HTTPRequest request("GET", "/api/health", Poco::Net::HTTPMessage::HTTP_1_1);
        Poco::Net::HTTPResponse response;
        int status = 0;
        try {
            session.sendRequest(request);
            std::string body;
            Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
            status = response.getStatus();
        } catch (const Poco::Exception& e) {
            ADD_FAILURE() << "round " << round << ": " << e.displayText();
        }
        took.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        EXPECT_EQ(status, 200) << "round " << round;
        EXPECT_LT(took.back(), 1.0) << "round " << round;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    EXPECT_GE(server->waiting_connections(), 150u);  // they really were held open
    // Still trickling, but none finished its header within 3 s: each was answered 408 and
    // closed, so a slow client holds nothing for long.
    for (int i = 0; i < 8; ++i) {
        trickle();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    EXPECT_EQ(linestation::testing::answered_with(slow, "HTTP/1.1 408"), slow.size());
    EXPECT_EQ(server->waiting_connections(), 0u);
    std::ostringstream figures;
    for (double t : took) figures << " " << static_cast<int>(t * 1000) << " ms";
    std::cout << "/api/health with 200 slow clients:" << figures.str() << "\n";
}

TEST_F(WebSecurity, LiveClientsAreBoundedAndHoldNoServerThread) {
    linestation::web::ServerOptions options;
    options.max_live_clients = 40;
    options.max_threads = 4;
    start(options);
    auto op = as("op");
    auto open_live = [&](int& status) -> std::unique_ptr<Poco::Net::WebSocket> {
        Poco::Net::HTTPClientSession session("127.0.0.1",
                                             static_cast<Poco::UInt16>(server->port()));
        Poco::Net::HTTPRequest request("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Cookie", "ls_session=" + op.cookie());
        Poco::Net::HTTPResponse response;
        try {
            auto ws = std::make_unique<Poco::Net::WebSocket>(session, request, response);
            status = response.getStatus();
            return ws;
        } catch (const Poco::Exception&) {
            status = response.getStatus();
            return nullptr;
        }
    };
    std::vector<std::unique_ptr<Poco::Net::WebSocket>> clients;
    for (int i = 0; i < 40; ++i) {
        int status = 0;
        clients.push_back(open_live(status));
        ASSERT_EQ(status, 101) << "client " << i;
    }
    for (int i = 0; i < 200 && server->live_clients() < 40; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(server->live_clients(), 40u);
    int status = 0;
    EXPECT_EQ(open_live(status), nullptr);
    EXPECT_EQ(status, 503);
    // Ten times the server's 4 threads are connected, and it still answers at once.
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(op.get("/api/slots").status, 200);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
    // One leaves: there is room for one more.
    clients.front()->shutdown();
    clients.front()->close();
    clients.erase(clients.begin());
    for (int i = 0; i < 300 && server->live_clients() >= 40; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    clients.push_back(open_live(status));
    EXPECT_EQ(status, 101);
}

}  // namespace
