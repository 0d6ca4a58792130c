// The screens that must outlive a restart: login sessions kept in the store, and the QR
// screen's display token, which reads the QR and nothing else. A real server on a free
// loopback port over a real store file, restarted on the same file.
#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "station/auth/session.hpp"
#include "station/store/dashboard_access.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"
#include "tests/web/test_line.hpp"
#include "tests/web/test_users.hpp"
#include "web/server.hpp"

using linestation::testing::ApiClient;
using linestation::testing::TempDir;
using linestation::testing::TestLine;
namespace store = linestation::store;

namespace {

class Restarts : public ::testing::Test {
  protected:
    void SetUp() override {
        db = std::make_unique<store::Store>(dir / "st.db");
        linestation::testing::add_test_user(*db, "op", "operator", {"cam-a"}, "op-password");
        linestation::testing::add_test_user(*db, "adm", "admin", {}, "adm-password");
        line = std::make_unique<TestLine>(db.get(), std::vector<std::string>{"cam-a"});
        start();
    }

    void start() {
        linestation::web::ServerOptions options;
        options.port = port;  // the same port again after a restart, as a real station
        options.store_path = dir / "st.db";
        server = std::make_unique<linestation::web::Server>(*line, options);
        server->start();
        port = server->port();
    }
    void restart() {
        server->stop();
        server.reset();
        start();
    }

    ApiClient as(const std::string& login) {
        ApiClient c(port);
        EXPECT_EQ(c.login(login, login + "-password").status, 200);
        return c;
    }
    // A client that holds only a display token, no cookie.
    linestation::testing::Answer as_display(const std::string& token, const std::string& method,
                                            const std::string& path) {
        ApiClient c(port);
        return c.call(method, path, "", {{"Authorization", "Bearer " + token}});
    }
    std::string make_token(ApiClient& admin, const std::string& label) {
        auto made = admin.post("/api/display-tokens", "{\"label\":\"" + label + "\"}");
        EXPECT_EQ(made.status, 201) << made.body;
        return made.json()->getValue<std::string>("token");
    }

    TempDir dir;
    std::unique_ptr<store::Store> db;
    std::unique_ptr<TestLine> line;
    std::unique_ptr<linestation::web::Server> server;
    int port = 0;
};

TEST_F(Restarts, ASessionSurvivesARestartAndTheStoreKeepsOnlyItsHash) {
    auto op = as("op");
    auto before = op.get("/api/session");
    ASSERT_EQ(before.status, 200);
    restart();
    auto after = op.get("/api/session");
    ASSERT_EQ(after.status, 200) << after.body;
    EXPECT_EQ(after.json()->getValue<std::string>("csrf_token"), op.csrf());
    // A state change with the old CSRF token still goes through after the restart.
    EXPECT_EQ(op.post("/api/batch", "{\"recipe\":\"cam-a\"}").status, 201);
    auto kept = store::sessions(*db);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].id_sha256, linestation::auth::sha256_hex(op.cookie()));
    EXPECT_NE(kept[0].id_sha256, op.cookie());
    EXPECT_EQ(kept[0].login, "op");
    EXPECT_EQ(kept[0].products, std::vector<std::string>{"cam-a"});
    // A logout ends it in the store too: the next start does not bring it back.
    EXPECT_EQ(op.call("DELETE", "/api/session").status, 200);
    restart();
    EXPECT_EQ(op.get("/api/session").status, 401);
    EXPECT_TRUE(store::sessions(*db).empty());
}

TEST_F(Restarts, AnExpiredSessionStaysEndedAcrossARestart) {
    linestation::ManualClock clock;
    {
        linestation::auth::SessionTable table(clock, 60, 600, db.get());
        auto s = table.create("op", "operator", {"cam-a"});
        clock.advance(30);
        linestation::auth::SessionTable reopened(clock, 60, 600, db.get());
        ASSERT_TRUE(reopened.find(s.id));
        EXPECT_EQ(reopened.find(s.id)->csrf_token, s.csrf_token);
        clock.advance(120);
        linestation::auth::SessionTable later(clock, 60, 600, db.get());
        EXPECT_FALSE(later.find(s.id));
    }
    EXPECT_TRUE(store::sessions(*db).empty());
}

TEST_F(Restarts, ADisplayTokenReadsTheQrAcrossRestartsAndNothingElse) {
    auto admin = as("adm");
    auto made = admin.post("/api/display-tokens", "{\"label\":\"QR screen 1\"}");
    ASSERT_EQ(made.status, 201) << made.body;
    const auto token = made.json()->getValue<std::string>("token");
    EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{64}")));
    EXPECT_EQ(made.json()->getValue<std::string>("url"), "/qr.html#display=" + token);
    auto op = as("op");
    ASSERT_EQ(op.post("/api/batch", "{\"recipe\":\"cam-a\"}").status, 201);

    EXPECT_EQ(as_display(token, "GET", "/api/qr").status, 200);
    auto png = as_display(token, "GET", "/api/qr.png");
    EXPECT_EQ(png.status, 200);
    EXPECT_EQ(png.header("Content-Type"), "image/png");
    EXPECT_FALSE(png.header("X-QR-Generation").empty());
    // Nothing but the QR: not the slots, the session, the batch, the reports or the tokens.
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/api/slots"},
                                                          {"GET", "/api/session"},
                                                          {"GET", "/api/batch"},
                                                          {"POST", "/api/batch/stop"},
                                                          {"GET", "/api/reports/summary"},
                                                          {"GET", "/api/display-tokens"},
                                                          {"GET", "/api/camera.png"},
                                                          {"GET", "/api/evidence/1"},
                                                          {"GET", "/api/evidence/1/final.png"}}) {
        EXPECT_EQ(as_display(token, method, path).status, 401) << method << " " << path;
    }
    // The store has its hash, never the token; the admin's making of it is audited.
    auto tokens = store::display_tokens(*db);
    ASSERT_EQ(tokens.size(), 1u);
    EXPECT_EQ(tokens[0].token_sha256, linestation::auth::sha256_hex(token));
    EXPECT_EQ(tokens[0].station_id, "station-1");
    EXPECT_EQ(tokens[0].label, "QR screen 1");
    auto audit = db->audit_log(0);
    EXPECT_TRUE(std::any_of(audit.begin(), audit.end(), [&](const auto& a) {
        return a.actor == "adm" && a.action == "display_token.add" &&
               a.detail_json.find(token) == std::string::npos;
    }));

    restart();
    EXPECT_EQ(as_display(token, "GET", "/api/qr").status, 200);
    // Revoked: refused at once, with a reason, and never a fallback to a login.
    auto revoke = admin.post("/api/display-tokens/" + std::to_string(tokens[0].id) + "/revoke");
    EXPECT_EQ(revoke.status, 200) << revoke.body;
    auto refused = as_display(token, "GET", "/api/qr");
    EXPECT_EQ(refused.status, 401);
    EXPECT_NE(refused.body.find("display token refused"), std::string::npos);
    EXPECT_EQ(admin.post("/api/display-tokens/" + std::to_string(tokens[0].id) + "/revoke").status,
              404);
}

TEST_F(Restarts, OnlyAnAdminMakesDisplayTokensAndATokenIsBoundToItsStation) {
    auto op = as("op");
    EXPECT_EQ(op.post("/api/display-tokens", "{\"label\":\"mine\"}").status, 403);
    auto admin = as("adm");
    EXPECT_EQ(admin.post("/api/display-tokens", "{\"label\":\"\"}").status, 400);
    EXPECT_EQ(admin.post("/api/display-tokens", "{}").status, 400);
    EXPECT_EQ(admin.post("/api/display-tokens/x1/revoke").status, 400);
    // A token made for another station opens nothing here.
    const std::string other = linestation::auth::random_token();
    store::add_display_token(*db, {0, linestation::auth::sha256_hex(other), "station-2",
                                   "elsewhere", "adm", 0, std::nullopt});
    EXPECT_EQ(as_display(other, "GET", "/api/qr").status, 401);
    EXPECT_EQ(as_display("not-a-token", "GET", "/api/qr").status, 401);
    const auto mine = make_token(admin, "QR 2");
    ASSERT_EQ(op.post("/api/batch", "{\"recipe\":\"cam-a\"}").status, 201);
    EXPECT_EQ(as_display(mine, "GET", "/api/qr.svg").status, 200);
}

}  // namespace
