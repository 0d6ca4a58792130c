// The dashboard API against a real server on a free loopback port, with the refusals.
// zxing-cpp 1.4: the UTF-8 text()/ecLevel() it announces for its next release.
#define ZX_USE_UTF8 1
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/WebSocket.h>
#include <ZXing/ReadBarcode.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <regex>
#include <thread>

#include "station/auth/password.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/web/api_client.hpp"
#include "tests/web/test_line.hpp"
#include "web/server.hpp"

using linestation::testing::Answer;
using linestation::testing::ApiClient;
using linestation::testing::TempDir;
using linestation::testing::TestLine;

namespace {

class WebApi : public ::testing::Test {
  protected:
    void SetUp() override { start(); }

    void start(linestation::web::ServerOptions options = {}) {
        store = std::make_unique<linestation::store::Store>(dir / "st.db");
        add_user("op", "operator", {"cam-a"});
        add_user("op-b", "operator", {"cam-b"});
        add_user("sup", "supervisor", {});
        add_user("adm", "admin", {});
        line = std::make_unique<TestLine>(store.get(), std::vector<std::string>{"cam-a", "cam-b"});
        options.port = 0;
        options.store_path = dir / "st.db";
        options.max_body_bytes = 4096;
        server = std::make_unique<linestation::web::Server>(*line, options);
        server->start();
    }

    void add_user(const std::string& login, const std::string& role,
                  std::vector<std::string> products) {
        linestation::store::OperatorRecord op;
        op.login = login;
        op.role = role;
        op.products = std::move(products);
        // Few iterations keep the tests fast; verification reads the count from the hash.
        op.password_hash = linestation::auth::hash_password(login + "-password", 1000);
        store->add_operator(op);
    }

    ApiClient as(const std::string& login) {
        ApiClient c(server->port());
        auto a = c.login(login, login + "-password");
        EXPECT_EQ(a.status, 200) << a.body;
        return c;
    }

    bool audited(const std::string& actor, const std::string& action) {
        return audit_rows(actor, action) > 0;
    }
    int audit_rows(const std::string& actor, const std::string& action) {
        int n = 0;
        for (const auto& a : store->audit_log(0)) n += a.actor == actor && a.action == action;
        return n;
    }

    TempDir dir;
    std::unique_ptr<linestation::store::Store> store;
    std::unique_ptr<TestLine> line;
    std::unique_ptr<linestation::web::Server> server;
};

TEST_F(WebApi, LoginSetsAnHttpOnlyStrictCookieAndMeAnswersTheRole) {
    ApiClient c(server->port());
    auto a = c.login("op", "op-password");
    ASSERT_EQ(a.status, 200) << a.body;
    auto cookie = a.header("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(c.cookie().size(), 64u);  // 256 random bits in hex
    EXPECT_EQ(a.body.find("pbkdf2"), std::string::npos);
    auto me = c.get("/api/session");
    ASSERT_EQ(me.status, 200);
    EXPECT_EQ(me.json()->getValue<std::string>("role"), "operator");
    EXPECT_EQ(me.json()->getValue<std::string>("csrf_token"), c.csrf());
    EXPECT_TRUE(audited("op", "session.login"));

    auto out = c.call("DELETE", "/api/session");
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(c.get("/api/session").status, 401);
    EXPECT_TRUE(audited("op", "session.logout"));
}

TEST_F(WebApi, WrongPasswordAndUnknownUserGetTheSameAnswer) {
    ApiClient c(server->port());
    auto wrong = c.login("op", "not-the-password");
    auto unknown = c.login("nobody", "whatever-password");
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(wrong.body, unknown.body);
    EXPECT_TRUE(audited("op", "session.login_failed"));
}

TEST_F(WebApi, LoginAttemptsAreRateLimitedPerLogin) {
    ApiClient c(server->port());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(c.login("op", "wrong-password").status, 401);
    // Even the right password waits now: guessing cannot continue at full speed.
    auto a = c.login("op", "op-password");
    EXPECT_EQ(a.status, 429);
    EXPECT_FALSE(a.header("Retry-After").empty());
    // Another login from the same place is not locked out by it.
    EXPECT_EQ(c.login("sup", "sup-password").status, 200);
}

TEST_F(WebApi, OneAddressCannotSprayManyLogins) {
    ApiClient c(server->port());
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(c.login("guess-" + std::to_string(i), "wrong-password").status, 401);
    }
    EXPECT_EQ(c.login("sup", "sup-password").status, 429);
}

TEST_F(WebApi, LoginNeedsJsonContentType) {
    ApiClient c(server->port());
    auto a = c.call("POST", "/api/session", "login=op&password=op-password",
                    {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(a.status, 415);
}

TEST_F(WebApi, EveryProtectedEndpointRefusesWithoutASession) {
    ApiClient c(server->port());
    const std::vector<std::pair<std::string, std::string>> endpoints{
        {"GET", "/api/session"},         {"DELETE", "/api/session"},
        {"GET", "/api/slots"},           {"GET", "/api/batch"},
        {"POST", "/api/batch"},          {"POST", "/api/batch/stop"},
        {"POST", "/api/slots/A1/abort"}, {"POST", "/api/slots/A1/reload"},
        {"GET", "/api/recipes"},         {"GET", "/api/qr"},
        {"GET", "/api/qr.svg"},          {"GET", "/api/camera.png"},
        {"GET", "/api/reports/summary"}, {"GET", "/api/reports/yield.csv"},
        {"GET", "/api/units/SN-1"},      {"GET", "/api/users"},
        {"POST", "/api/users"},          {"POST", "/api/users/op/disable"},
        {"GET", "/api/audit"},           {"GET", "/api/live"},
        {"GET", "/api/evidence/1"},      {"GET", "/api/evidence/1/final.png"}};
    for (const auto& [method, path] : endpoints) {
        auto a = c.call(method, path, method == "POST" ? "{}" : "");
        EXPECT_EQ(a.status, 401) << method << " " << path;
        EXPECT_NE(a.body.find("\"error\""), std::string::npos) << path;
    }
}

TEST_F(WebApi, RolesLimitWhatEachUserMayDo) {
    auto sup = as("sup");
    auto op = as("op");
    EXPECT_EQ(sup.post("/api/batch", R"({"recipe":"cam-a"})").status, 403);
    EXPECT_EQ(sup.post("/api/slots/A1/abort").status, 403);
    EXPECT_EQ(sup.get("/api/users").status, 403);
    EXPECT_EQ(op.get("/api/reports/summary").status, 403);
    EXPECT_EQ(op.get("/api/reports/pareto.csv").status, 403);
    EXPECT_EQ(op.get("/api/units/SN-1").status, 403);
    EXPECT_EQ(op.get("/api/audit").status, 403);
    EXPECT_EQ(op.post("/api/users", R"({"login":"x","role":"admin","password":"12345678"})").status,
              403);
    EXPECT_EQ(sup.get("/api/reports/summary").status, 200);
    EXPECT_EQ(as("adm").get("/api/users").status, 200);
    EXPECT_TRUE(line->calls().empty());
}

TEST_F(WebApi, OperatorStartsOnlyPermittedProducts) {
    auto op = as("op");
    auto refused = op.post("/api/batch", R"({"recipe":"cam-b"})");
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("no permission for product"), std::string::npos);
    EXPECT_TRUE(line->calls().empty());
    EXPECT_TRUE(audited("op", "batch.start_refused"));

    auto started = op.post("/api/batch", R"({"recipe":"cam-a","slots":["A1","A2"]})");
    ASSERT_EQ(started.status, 201) << started.body;
    ASSERT_EQ(line->calls().size(), 1u);
    // The operator is the session's, not whatever the body might claim.
    EXPECT_EQ(line->calls()[0], "start cam-a by op");
    // The station audits the start with the actor it was given (this test line as the
    // controller does); the API adds no second row. BatchCli.EveryLineActionIsAuditedOnce
    // counts them on a real station.
    EXPECT_EQ(audit_rows("op", "batch.start"), 1);
    // The station's own refusal comes back as a 409 with its reason.
    auto again = op.post("/api/batch", R"({"recipe":"cam-a"})");
    EXPECT_EQ(again.status, 409);
    EXPECT_NE(again.body.find("already running"), std::string::npos);
}

TEST_F(WebApi, StateChangesNeedTheSessionsCsrfToken) {
    auto op = as("op");
    op.send_csrf = false;
    EXPECT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 403);
    op.send_csrf = true;
    auto token = op.csrf();
    op.set_csrf(as("op").csrf());  // another session's token
    EXPECT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 403);
    EXPECT_EQ(op.post("/api/batch/stop").status, 403);
    EXPECT_EQ(op.call("DELETE", "/api/session").status, 403);
    EXPECT_TRUE(line->calls().empty());
    op.set_csrf(token);
    EXPECT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 201);
}

TEST_F(WebApi, MalformedAndOversizedBodiesAreRefusedAsJson) {
    auto op = as("op");
    for (const char* body :
         {"{bad json", "[1,2]", "\"text\"", R"({"recipe":42})",
          R"({"recipe":"cam-a","slots":"A1"})", R"({"recipe":"cam-a","kind":"teleport"})"}) {
        auto a = op.post("/api/batch", body);
        EXPECT_EQ(a.status, 400) << body;
        EXPECT_NE(a.header("Content-Type").find("application/json"), std::string::npos);
        EXPECT_FALSE(a.json()->getValue<std::string>("error").empty());
    }
    std::string big(5000, ' ');
    big = R"({"recipe":"cam-a","pad":")" + std::string(5000, 'x') + "\"}";
    EXPECT_EQ(op.post("/api/batch", big).status, 413);
    EXPECT_EQ(ApiClient(server->port()).post("/api/session", big).status, 413);
    EXPECT_TRUE(line->calls().empty());
}

TEST_F(WebApi, ChunkedOversizedBodyIsRefused) {
    auto op = as("op");
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server->port()));
    Poco::Net::HTTPRequest request("POST", "/api/batch", Poco::Net::HTTPMessage::HTTP_1_1);
    request.setChunkedTransferEncoding(true);
    request.setContentType("application/json");
    request.set("Cookie", "ls_session=" + op.cookie());
    request.set("X-CSRF-Token", op.csrf());
    try {
        session.sendRequest(request)
            << R"({"recipe":"cam-a","pad":")" << std::string(10000, 'x') << "\"}";
        Poco::Net::HTTPResponse response;
        session.receiveResponse(response);
        EXPECT_EQ(response.getStatus(), 413);
    } catch (const Poco::Exception&) {
        // The server may answer 413 and close before the client has sent everything;
        // the client then sees a reset. Either way nothing may have started.
    }
    EXPECT_TRUE(line->calls().empty());
    EXPECT_TRUE(audited("op", "session.login"));
}

TEST_F(WebApi, StaticFilesRefuseTraversal) {
    ApiClient c(server->port());
    for (const char* path : {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                             "/..%2f..%2f..%2fetc%2fpasswd", "/vendor/../../server.cpp"}) {
        auto a = c.get(path);
        // 400 when the decoded path has a ".." segment (refused before any handler).
        EXPECT_TRUE(a.status == 404 || a.status == 400) << path << " " << a.status;
        EXPECT_EQ(a.body.find("root:"), std::string::npos);
        EXPECT_EQ(a.body.find("#include"), std::string::npos);
    }
    EXPECT_EQ(c.get("/index.html").status, 200);
}

TEST_F(WebApi, SlotOperationsReachTheLineAndAreAuditedOnce) {
    auto op = as("op");
    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 201);
    EXPECT_EQ(op.post("/api/slots/Z9/abort").status, 404);
    EXPECT_EQ(op.post("/api/slots/A1/abort").status, 200);
    EXPECT_EQ(op.post("/api/slots/A1/reload", R"({"retest":"yes"})").status, 400);
    EXPECT_EQ(op.post("/api/slots/A1/reload", R"({"retest":true})").status, 200);
    EXPECT_EQ(op.post("/api/batch/stop").status, 200);
    auto calls = line->calls();
    ASSERT_EQ(calls.size(), 4u);
    EXPECT_EQ(calls[1], "abort A1 by op");
    EXPECT_EQ(calls[2], "retest A1 by op");
    EXPECT_EQ(calls[3], "stop by op");
    // The actor reaches the station, which audits; the API writes no row of its own.
    for (const char* action : {"slot.abort", "slot.retest", "batch.stop"}) {
        EXPECT_EQ(audit_rows("op", action), 1) << action;
    }

    auto slots = op.get("/api/slots");
    ASSERT_EQ(slots.status, 200);
    auto array = Poco::JSON::Parser().parse(slots.body).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(array->size(), 4u);
    EXPECT_EQ(array->getObject(0)->getValue<std::string>("slot"), "A1");
    auto batch = op.get("/api/batch").json();
    EXPECT_EQ(batch->getValue<std::string>("state"), "done");
    EXPECT_EQ(batch->getValue<std::string>("operator"), "op");
}

TEST_F(WebApi, RecipesSayWhichTheUserMayRun) {
    auto a = as("op").get("/api/recipes");
    ASSERT_EQ(a.status, 200);
    auto array = Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(array->size(), 2u);
    EXPECT_TRUE(array->getObject(0)->getValue<bool>("permitted"));   // cam-a
    EXPECT_FALSE(array->getObject(1)->getValue<bool>("permitted"));  // cam-b
}

// Reads the served PNG back with zxing-cpp, and checks the quiet zone is white.
std::string decode_qr_png(const std::string& png) {
    std::vector<unsigned char> bytes(png.begin(), png.end());
    cv::Mat image = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
    EXPECT_FALSE(image.empty());
    if (image.empty()) return "";
    // The code's modules start at least 4 modules in: the border rows are all white.
    cv::Mat dark;
    cv::threshold(image, dark, 128, 255, cv::THRESH_BINARY_INV);
    auto box = cv::boundingRect(dark);
    int module = 0;
    for (int x = box.x; x < box.x + box.width && dark.at<unsigned char>(box.y, x); ++x) ++module;
    module /= 7;  // the finder pattern is 7 modules wide
    EXPECT_GT(module, 0);
    EXPECT_GE(box.x, 4 * module);
    EXPECT_GE(box.y, 4 * module);
    EXPECT_GE(image.cols - (box.x + box.width), 4 * module);
    ZXing::ImageView view(image.data, image.cols, image.rows, ZXing::ImageFormat::Lum);
    auto result = ZXing::ReadBarcode(view);
    EXPECT_TRUE(result.isValid());
    EXPECT_EQ(result.ecLevel(), "M");
    return result.text();
}

TEST_F(WebApi, QrIsForLoggedInUsersNeverCachedAndDecodesToThePayload) {
    auto op = as("op");
    EXPECT_EQ(op.get("/api/qr.svg").status, 404);  // no batch, no code
    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 201);
    auto meta = op.get("/api/qr");
    ASSERT_EQ(meta.status, 200);
    EXPECT_EQ(meta.header("Cache-Control"), "no-store");
    EXPECT_TRUE(meta.json()->getValue<bool>("active"));
    EXPECT_EQ(meta.json()->getValue<int>("devices_max"), 30);
    // The JSON never carries the Wi-Fi password; only the image does.
    EXPECT_EQ(meta.body.find("line-station-pass"), std::string::npos);
    auto png = op.get("/api/qr.png");
    ASSERT_EQ(png.status, 200);
    EXPECT_EQ(png.header("Cache-Control"), "no-store");
    EXPECT_EQ(png.header("Content-Type"), "image/png");
    EXPECT_EQ(decode_qr_png(png.body), TestLine::kQrPayload);
    auto svg = op.get("/api/qr.svg");
    ASSERT_EQ(svg.status, 200);
    EXPECT_EQ(svg.header("Cache-Control"), "no-store");
    EXPECT_EQ(svg.header("Content-Type"), "image/svg+xml");
    EXPECT_NE(svg.body.find("<svg"), std::string::npos);
}

TEST_F(WebApi, CameraSnapshotPassesThePngThrough) {
    auto a = as("op").get("/api/camera.png");
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.header("Content-Type"), "image/png");
    EXPECT_EQ(a.body, line->camera_snapshot_png());
}

TEST_F(WebApi, AdminManagesUsersWithoutSeeingHashes) {
    auto adm = as("adm");
    EXPECT_EQ(
        adm.post("/api/users", R"({"login":"new","role":"operator","password":"short"})").status,
        400);
    EXPECT_EQ(
        adm.post("/api/users", R"({"login":"new","role":"boss","password":"longenough"})").status,
        400);
    auto added = adm.post(
        "/api/users",
        R"({"login":"new","role":"operator","products":["cam-b"],"password":"new-password"})");
    ASSERT_EQ(added.status, 201) << added.body;
    EXPECT_EQ(
        adm.post("/api/users", R"({"login":"new","role":"operator","password":"new-password"})")
            .status,
        409);
    auto list = adm.get("/api/users");
    EXPECT_EQ(list.body.find("pbkdf2"), std::string::npos);
    EXPECT_NE(list.body.find("\"new\""), std::string::npos);
    EXPECT_TRUE(audited("adm", "user.add"));
    auto csv = adm.get("/api/users.csv");
    EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
    EXPECT_NE(csv.body.find("new,operator,cam-b,0"), std::string::npos) << csv.body;
    EXPECT_EQ(csv.body.find("pbkdf2"), std::string::npos);
    EXPECT_EQ(as("sup").get("/api/users.csv").status, 403);

    auto user = as("new");
    EXPECT_EQ(user.get("/api/session").status, 200);
    EXPECT_EQ(adm.post("/api/users/new/disable").status, 200);
    EXPECT_EQ(user.get("/api/session").status, 401);  // the session ended with it
    EXPECT_EQ(ApiClient(server->port()).login("new", "new-password").status, 401);
    EXPECT_EQ(adm.post("/api/users/adm/disable").status, 409);
    EXPECT_EQ(adm.post("/api/users/nobody/disable").status, 404);
    EXPECT_TRUE(audited("adm", "user.disable"));
}

TEST_F(WebApi, AdminAddsCloudAccountsButNeverTheirSecrets) {
    auto adm = as("adm");
    const std::string account =
        R"("name":"rma","endpoint":"https://openapi.tuyaeu.com","client_id":"cid","uid":"u1")";
    auto with_secret = adm.post("/api/cloud-accounts", "{" + account + R"(,"secret":"s3cr3t"})");
    EXPECT_EQ(with_secret.status, 400);
    EXPECT_EQ(with_secret.body.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(
        adm.post(
               "/api/cloud-accounts",
               R"({"name":"x","endpoint":"http://evil.example","client_id":"c","uid":"u","secret_ref":"E"})")
            .status,
        400);
    EXPECT_EQ(as("sup")
                  .post("/api/cloud-accounts", "{" + account + R"(,"secret_ref":"TUYA_SECRET"})")
                  .status,
              403);
    auto added = adm.post("/api/cloud-accounts", "{" + account + R"(,"secret_ref":"TUYA_SECRET"})");
    ASSERT_EQ(added.status, 201) << added.body;
    EXPECT_EQ(
        adm.post("/api/cloud-accounts", "{" + account + R"(,"secret_ref":"TUYA_SECRET"})").status,
        409);
    auto list = adm.get("/api/cloud-accounts");
    ASSERT_EQ(list.status, 200);
    EXPECT_NE(list.body.find("TUYA_SECRET"), std::string::npos);
    EXPECT_TRUE(audited("adm", "cloud_account.add"));
    EXPECT_NE(adm.get("/api/cloud-accounts.csv")
                  .body.find("rma,https://openapi.tuyaeu.com,cid,u1,owner,TUYA_SECRET"),
              std::string::npos);
    EXPECT_EQ(as("sup").get("/api/cloud-accounts").status, 403);
}

TEST_F(WebApi, AuditLogListsStateChangesForSupervisorsAndExportsCsv) {
    auto op = as("op");
    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 201);
    auto sup = as("sup");
    auto a = sup.get("/api/audit");
    ASSERT_EQ(a.status, 200);
    EXPECT_NE(a.body.find("batch.start"), std::string::npos);
    auto csv = sup.get("/api/audit.csv");
    EXPECT_EQ(csv.status, 200);
    EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
    EXPECT_EQ(csv.body.rfind("id,at_ms,actor,action,detail\r\n", 0), 0u);
    EXPECT_NE(csv.body.find(",op,batch.start,"), std::string::npos);
}

// Scans are paired with slots by the operator, never by their order: the API takes
// explicit slot/serial pairs, refuses positional serials, and loads the next unit into a
// slot that has its verdict.
TEST_F(WebApi, UnitsArePairedWithTheirSlotsExplicitly) {
    auto op = as("op");
    auto positional =
        op.post("/api/batch", R"({"recipe":"cam-a","slots":["A1"],"serials":["SN-X"]})");
    EXPECT_EQ(positional.status, 400);
    EXPECT_NE(positional.body.find("units"), std::string::npos) << positional.body;
    auto shapeless = op.post("/api/batch", R"({"recipe":"cam-a","units":[{"serial":"SN-X"}]})");
    EXPECT_EQ(shapeless.status, 400);
    EXPECT_NE(shapeless.body.find("units[0]"), std::string::npos) << shapeless.body;

    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a","units":[{"slot":"A2","serial":"SN-2"}]})")
                  .status,
              201);
    auto slots = line->slots();
    EXPECT_EQ(slots[1].unit_serial, "SN-2");
    EXPECT_NE(slots[0].unit_serial, "SN-2");

    EXPECT_EQ(op.post("/api/slots/Z9/load", R"({"serial":"SN-9"})").status, 404);
    // A2 has no verdict yet: the station refuses, and says why.
    auto busy = op.post("/api/slots/A2/load", R"({"serial":"SN-9"})");
    EXPECT_EQ(busy.status, 409);
    EXPECT_NE(busy.body.find("busy"), std::string::npos) << busy.body;
    for (int i = 0; i < 4; ++i) line->step();
    ASSERT_TRUE(line->slots()[1].verdict.has_value());
    EXPECT_EQ(op.post("/api/slots/A2/load", R"({"serial":"SN-9"})").status, 200);
    EXPECT_EQ(line->slots()[1].unit_serial, "SN-9");
    EXPECT_FALSE(line->slots()[1].verdict.has_value());
    EXPECT_EQ(as("sup").post("/api/slots/A2/load", R"({"serial":"SN-8"})").status, 403);
}

TEST_F(WebApi, UnitHistoryShowsEveryAttemptWithItsEvents) {
    auto op = as("op");
    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a","units":[{"slot":"A1","serial":"SN-X"}]})")
                  .status,
              201);
    auto unit = line->slots()[0].unit_id.value();
    store->add_event({0, unit, 1000, "led", R"({"color":"red","pattern":"blink"})"});
    for (int i = 0; i < 4; ++i) line->step();
    auto sup = as("sup");
    auto a = sup.get("/api/units/SN-X");
    ASSERT_EQ(a.status, 200) << a.body;
    auto obj = a.json();
    EXPECT_EQ(obj->getObject("attempts")->getArray("rows")->size(), 1u);
    auto events = obj->getObject("events")->getObject(std::to_string(unit));
    ASSERT_TRUE(events);
    // The event added here and the LED changes the line recorded, all of them.
    EXPECT_EQ(events->getArray("rows")->size(), store->events(unit).size());
    EXPECT_GE(events->getArray("rows")->size(), 3u);
    // Its measurements, each with its limits and outcome, as the store holds them.
    auto measured = obj->getObject("measurements")->getObject(std::to_string(unit));
    ASSERT_TRUE(measured);
    auto columns = measured->getArray("columns");
    ASSERT_EQ(columns->size(), 6u);
    EXPECT_EQ(columns->getElement<std::string>(5), "outcome");
    auto rows = measured->getArray("rows");
    ASSERT_EQ(rows->size(), store->measurements(unit).size());
    ASSERT_EQ(rows->size(), 1u);
    auto row = rows->getArray(0);
    EXPECT_EQ(row->getElement<std::string>(0), "time_to_ready_s");
    EXPECT_DOUBLE_EQ(row->getElement<double>(1), 12.5);
    EXPECT_TRUE(row->isNull(3));  // no min
    EXPECT_DOUBLE_EQ(row->getElement<double>(4), 45.0);
    EXPECT_EQ(row->getElement<std::string>(5), "PASS");
    // Each attempt names the software and the recipe hash of its batch.
    auto attempt_columns = obj->getObject("attempts")->getArray("columns");
    EXPECT_EQ(attempt_columns->getElement<std::string>(13), "software_version");
    EXPECT_EQ(
        obj->getObject("attempts")->getArray("rows")->getArray(0)->getElement<std::string>(13),
        "test-line");
    EXPECT_EQ(sup.get("/api/units/NOPE").status, 404);
    auto csv = sup.get("/api/units/SN-X.csv");
    EXPECT_NE(csv.body.find("SN-X"), std::string::npos);
    EXPECT_NE(csv.body.find("PASS"), std::string::npos);
}

// A verdict's evidence: the crops of its slot (ready seen, green seen, final) with the LED
// reading of each, and the timeline with the final one; served to any signed-in user, the
// images byte for byte as the store keeps them; one dropped by retention says so.
TEST_F(WebApi, AVerdictsEvidenceIsServedToSignedInUsersOnly) {
    auto op = as("op");
    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a","units":[{"slot":"A1","serial":"SN-E"}]})")
                  .status,
              201);
    const auto unit = line->slots()[0].unit_id.value();
    const auto base = "/api/evidence/" + std::to_string(unit);
    for (int i = 0; i < 4; ++i) line->step();
    ASSERT_EQ(line->slots()[0].verdict, "PASS");
    ApiClient nobody(server->port());
    EXPECT_EQ(nobody.get(base).status, 401);
    EXPECT_EQ(nobody.get(base + "/final.png").status, 401);

    auto a = op.get(base);
    ASSERT_EQ(a.status, 200) << a.body;
    auto list = a.json()->getArray("evidence");
    ASSERT_EQ(list->size(), 3u) << a.body;
    const auto kept = store->evidence(unit, true);
    const char* moments[] = {"ready", "green", "final"};
    for (unsigned i = 0; i < 3; ++i) {
        auto e = list->getObject(i);
        EXPECT_EQ(e->getValue<std::string>("moment"), moments[i]);
        const auto image = e->getValue<std::string>("image");
        EXPECT_EQ(image, base + "/" + moments[i] + ".png");
        auto png = op.get(image);
        ASSERT_EQ(png.status, 200) << image;
        EXPECT_EQ(png.header("Content-Type"), "image/png");
        EXPECT_EQ(png.body, kept[i].png) << image;
        const std::vector<unsigned char> bytes(png.body.begin(), png.body.end());
        EXPECT_FALSE(cv::imdecode(bytes, cv::IMREAD_COLOR).empty()) << image;
    }
    EXPECT_EQ(list->getObject(1)->getObject("led")->getValue<std::string>("color"), "green");
    auto timeline = list->getObject(2)->getObject("led")->getArray("timeline");
    ASSERT_TRUE(timeline);
    EXPECT_GE(timeline->size(), 3u);
    // The supervisor's unit history has the same evidence per attempt.
    auto history = as("sup").get("/api/units/SN-E");
    ASSERT_EQ(history.status, 200);
    EXPECT_EQ(history.json()->getObject("evidence")->getArray(std::to_string(unit))->size(), 3u);
    // Past retention the image goes, its record stays and says when.
    store->add_evidence({unit, "final", 2, "{}", "", {}, 0}, {1, 1}, 10);
    auto pruned = op.get(base).json()->getArray("evidence");
    ASSERT_EQ(pruned->size(), 3u);
    EXPECT_TRUE(pruned->getObject(0)->isNull("image"));
    EXPECT_EQ(pruned->getObject(0)->getValue<std::int64_t>("pruned_ms"), 10);
    EXPECT_EQ(op.get(base + "/ready.png").status, 404);
    EXPECT_EQ(op.get("/api/evidence/abc").status, 400);
    EXPECT_EQ(op.get("/api/evidence/-1").status, 400);
    EXPECT_EQ(op.get(base + "/secret.png").status, 404);
    EXPECT_TRUE(op.get("/api/evidence/999999").json()->getArray("evidence")->size() == 0);
}

// The refusals the screens show keep their English text and carry a code and the values
// it names, so each page says them in its own language.
TEST_F(WebApi, RefusalsCarryACodeAndTheValuesTheyName) {
    auto op = as("op");
    auto code = [](const Answer& a) { return a.json()->optValue<std::string>("code", ""); };
    auto param = [](const Answer& a, const std::string& name) {
        return a.json()->getObject("params")->optValue<std::string>(name, "");
    };
    auto no_batch = op.post("/api/batch/stop");
    EXPECT_EQ(no_batch.status, 409);
    EXPECT_EQ(code(no_batch), "no_batch");
    EXPECT_EQ(no_batch.json()->getValue<std::string>("error"), "no batch is running");
    auto not_yours = op.post("/api/batch", R"({"recipe":"cam-b"})");
    EXPECT_EQ(not_yours.status, 403);
    EXPECT_EQ(code(not_yours), "product_not_permitted");
    EXPECT_EQ(param(not_yours, "recipe"), "cam-b");
    ASSERT_EQ(
        op.post(
              "/api/batch",
              R"({"recipe":"cam-a","units":[{"slot":"A1","serial":"SN-1"},{"slot":"A2","serial":"SN-2"}]})")
            .status,
        201);
    auto busy = op.post("/api/slots/A2/load", R"({"serial":"SN-9"})");
    EXPECT_EQ(busy.status, 409);
    EXPECT_EQ(code(busy), "slot_busy");
    EXPECT_EQ(param(busy, "slot"), "A2");
    EXPECT_NE(busy.json()->getValue<std::string>("error").find("busy"), std::string::npos);
    for (int i = 0; i < 4; ++i) line->step();
    auto judged = op.post("/api/slots/A2/load", R"({"serial":"SN-1"})");
    EXPECT_EQ(judged.status, 409);
    EXPECT_EQ(code(judged), "serial_judged");
    EXPECT_EQ(param(judged, "serial"), "SN-1");
    auto again = op.post("/api/batch", R"({"recipe":"cam-a"})");
    EXPECT_EQ(code(again), "batch_running");
    auto nowhere = op.post("/api/slots/Z9/load", R"({"serial":"SN-9"})");
    EXPECT_EQ(nowhere.status, 404);
    EXPECT_EQ(code(nowhere), "no_slot");
    EXPECT_EQ(param(nowhere, "slot"), "Z9");
    auto too_long = op.post("/api/slots/A1/load", "{\"serial\":\"" + std::string(200, 'x') + "\"}");
    EXPECT_EQ(too_long.status, 400);
    EXPECT_EQ(code(too_long), "field_length");
    EXPECT_EQ(param(too_long, "max"), "128");
    // A refusal without a code (not one the screens show) has neither field.
    auto plain = as("adm").post("/api/users/adm/disable");
    EXPECT_EQ(plain.status, 409);
    EXPECT_FALSE(plain.json()->has("code")) << plain.body;
}

TEST_F(WebApi, ReportsAnswerJsonAndCsvAndRefuseUnknownNames) {
    auto sup = as("sup");
    auto summary = sup.get("/api/reports/summary?period=day");
    ASSERT_EQ(summary.status, 200);
    auto tables = summary.json()->getObject("tables");
    for (const char* name : {"throughput_station", "throughput_operator", "throughput_product",
                             "hourly", "yield", "pareto", "cycle_time", "quota"}) {
        EXPECT_TRUE(tables->has(name)) << name;
        auto csv = sup.get(std::string("/api/reports/") + name + ".csv?period=week");
        EXPECT_EQ(csv.status, 200) << name;
        EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
    }
    EXPECT_EQ(sup.get("/api/reports/summary?period=year").status, 400);
    EXPECT_EQ(sup.get("/api/reports/salaries").status, 404);
}

TEST_F(WebApi, MetricsCountVerdictsByReason) {
    auto op = as("op");
    ASSERT_EQ(
        op.post(
              "/api/batch",
              R"({"recipe":"cam-a","units":[{"slot":"A1","serial":"SN-1"},{"slot":"A2","serial":"BAD-2"}]})")
            .status,
        201);
    for (int i = 0; i < 4; ++i) line->step();
    auto m = ApiClient(server->port()).get("/metrics");
    ASSERT_EQ(m.status, 200);
    EXPECT_NE(
        m.body.find(
            "linestation_units_total{verdict=\"FAIL\",reason=\"never_ready_after_unbind\"} 1"),
        std::string::npos)
        << m.body;
    EXPECT_NE(m.body.find("linestation_cycle_time_seconds_count"), std::string::npos);
    EXPECT_NE(m.body.find("linestation_camera_ok 1"), std::string::npos);
    EXPECT_NE(m.body.find("linestation_quota_limit_per_account 100"), std::string::npos);
}

// What the line says of its camera and boards reaches /api/health and /metrics as it is.
TEST_F(WebApi, HealthAndMetricsShowTheCameraAndEveryBoard) {
    line->set_fixture_health(false, {{"power-relays", true, ""},
                                     {"reset-relays", false,
                                      "reset-relays on tcp://10.0.0.5:4001: "
                                      "connection closed"}});
    auto h = ApiClient(server->port()).get("/api/health");
    ASSERT_EQ(h.status, 200);
    auto body = h.json();
    EXPECT_FALSE(body->getValue<bool>("camera_ok"));
    EXPECT_EQ(body->getValue<int>("boards_faulted"), 1);
    auto boards = body->getArray("boards");
    ASSERT_EQ(boards->size(), 2u);
    EXPECT_TRUE(boards->getObject(0)->getValue<bool>("ok"));
    EXPECT_FALSE(boards->getObject(0)->has("cause"));
    EXPECT_EQ(boards->getObject(1)->getValue<std::string>("id"), "reset-relays");
    EXPECT_NE(boards->getObject(1)->getValue<std::string>("cause").find("connection closed"),
              std::string::npos);
    auto m = ApiClient(server->port()).get("/metrics");
    ASSERT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("linestation_camera_ok 0"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("linestation_fixture_boards_faulted 1"), std::string::npos);
    EXPECT_NE(m.body.find("linestation_board_ok{board=\"power-relays\"} 1"), std::string::npos);
    EXPECT_NE(m.body.find("linestation_board_ok{board=\"reset-relays\"} 0"), std::string::npos);
}

// The supervisor's view of the result sinks: what waits for each, its last error, and the
// results its far side refused for good with the reason, newest first. Operators do not get it.
TEST_F(WebApi, TheOutboxShowsEachSinksBacklogLastErrorAndRefusedResultsToSupervisors) {
    linestation::outbox::register_sinks(*store, {"cfx", "fleet"});
    linestation::testing::commit_results(*store, "station-1", 3);
    auto pending = store->outbox_pending("cfx", 10);
    ASSERT_EQ(pending.size(), 3u);
    store->park_outbox("cfx", pending[0], "rejected: amqp:decode-error", 1'700'000'100'000);
    store->park_outbox("cfx", pending[1], "rejected: amqp:not-allowed", 1'700'000'200'000);
    store->acknowledge_outbox("cfx", pending[1].id);
    store->record_sink_error("fleet", "fleet database unreachable: connection refused",
                             1'700'000'300'000);

    EXPECT_EQ(as("op").get("/api/outbox").status, 403);
    EXPECT_EQ(ApiClient(server->port()).get("/api/outbox").status, 401);
    auto a = as("sup").get("/api/outbox");
    ASSERT_EQ(a.status, 200) << a.body;
    auto sinks = a.json()->getArray("sinks");
    ASSERT_EQ(sinks->size(), 2u) << a.body;
    std::map<std::string, Poco::JSON::Object::Ptr> by_name;
    for (std::size_t i = 0; i < sinks->size(); ++i) {
        by_name[sinks->getObject(i)->getValue<std::string>("name")] = sinks->getObject(i);
    }
    const auto& cfx = by_name.at("cfx");
    EXPECT_EQ(cfx->getValue<int>("backlog"), 1);
    EXPECT_EQ(cfx->getValue<int>("parked"), 2);
    EXPECT_FALSE(cfx->has("last_error"));
    auto parked = cfx->getArray("parked_results");
    ASSERT_EQ(parked->size(), 2u);
    EXPECT_EQ(parked->getObject(0)->getValue<std::string>("reason"), "rejected: amqp:not-allowed");
    EXPECT_EQ(parked->getObject(0)->getValue<std::string>("result_id"), pending[1].result_id);
    EXPECT_EQ(parked->getObject(1)->getValue<std::string>("reason"), "rejected: amqp:decode-error");
    const auto& fleet = by_name.at("fleet");
    EXPECT_EQ(fleet->getValue<int>("backlog"), 3);
    EXPECT_TRUE(fleet->has("oldest_ms"));
    EXPECT_EQ(fleet->getValue<std::string>("last_error"),
              "fleet database unreachable: connection refused");
    EXPECT_EQ(fleet->getArray("parked_results")->size(), 0u);
}

TEST_F(WebApi, OpenApiDescribesEveryRouteTheServerAnswers) {
    ApiClient c(server->port());
    auto a = c.get("/api/openapi.json");
    ASSERT_EQ(a.status, 200);
    auto doc = a.json();
    EXPECT_EQ(doc->getValue<std::string>("openapi").substr(0, 2), "3.");
    auto paths = doc->getObject("paths");
    EXPECT_GE(paths->size(), 20u);
    for (const auto& [path, ops] : *paths) {
        auto concrete = std::regex_replace(path, std::regex("\\{[a-z]+\\}"), "A1");
        if (concrete == "/api/reports/A1") concrete = "/api/reports/yield";
        for (const auto& [method, op] : *ops.extract<Poco::JSON::Object::Ptr>()) {
            auto upper = method;
            for (auto& ch : upper) ch = static_cast<char>(std::toupper(ch));
            auto answer = c.call(upper, concrete, upper == "POST" ? "{}" : "");
            EXPECT_EQ(answer.body.find("no such endpoint"), std::string::npos)
                << upper << " " << concrete;
            EXPECT_NE(answer.status, 405) << upper << " " << concrete;
        }
    }
}

class ThrowingLine : public TestLine {
  public:
    using TestLine::TestLine;
    std::string camera_snapshot_png() override {
        throw std::runtime_error("camera driver failed, secret=hunter2 at /dev/video0");
    }
};

TEST(WebApiErrors, InternalFailuresNeverLeakDetails) {
    TempDir dir;
    linestation::store::Store store(dir / "st.db");
    linestation::store::OperatorRecord op{
        0, "op", "operator", {}, linestation::auth::hash_password("op-password", 1000), false};
    store.add_operator(op);
    ThrowingLine line(&store, {});
    linestation::web::ServerOptions options;
    options.port = 0;
    options.store_path = dir / "st.db";
    linestation::web::Server server(line, options);
    server.start();
    ApiClient c(server.port());
    ASSERT_EQ(c.login("op", "op-password").status, 200);
    auto a = c.get("/api/camera.png");
    EXPECT_EQ(a.status, 500);
    EXPECT_EQ(a.body, R"({"error":"internal error"})");
}

// Reads frames until one contains `needle` or the deadline passes.
std::string receive_until(Poco::Net::WebSocket& ws, const std::string& needle) {
    char buffer[65536];
    for (int i = 0; i < 50; ++i) {
        int flags = 0;
        int n = ws.receiveFrame(buffer, sizeof buffer, flags);
        if (n <= 0) break;
        std::string text(buffer, static_cast<std::size_t>(n));
        if (text.find(needle) != std::string::npos) return text;
    }
    return "";
}

TEST_F(WebApi, LiveSocketNeedsASessionAndPushesSlotChanges) {
    {
        Poco::Net::HTTPClientSession session("127.0.0.1",
                                             static_cast<Poco::UInt16>(server->port()));
        Poco::Net::HTTPRequest request("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
        Poco::Net::HTTPResponse response;
        EXPECT_THROW(Poco::Net::WebSocket(session, request, response), Poco::Exception);
        EXPECT_EQ(response.getStatus(), 401);
    }
    auto op = as("op");
    {
        Poco::Net::HTTPClientSession session("127.0.0.1",
                                             static_cast<Poco::UInt16>(server->port()));
        Poco::Net::HTTPRequest request("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Cookie", "ls_session=" + op.cookie());
        request.set("Origin", "http://evil.example");
        Poco::Net::HTTPResponse response;
        EXPECT_THROW(Poco::Net::WebSocket(session, request, response), Poco::Exception);
        EXPECT_EQ(response.getStatus(), 403);
    }
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server->port()));
    Poco::Net::HTTPRequest request("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Cookie", "ls_session=" + op.cookie());
    Poco::Net::HTTPResponse response;
    Poco::Net::WebSocket ws(session, request, response);
    ws.setReceiveTimeout(Poco::Timespan(5, 0));
    EXPECT_NE(receive_until(ws, "\"topic\":\"hello\"").find("\"slots\""), std::string::npos);
    for (int i = 0; i < 100 && server->live_clients() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    line->set_led("A3", "green", "steady");
    auto event = receive_until(ws, "\"slot\":\"A3\"");
    EXPECT_NE(event.find("\"topic\":\"slot\""), std::string::npos);
    EXPECT_NE(event.find("\"led_color\":\"green\""), std::string::npos);
    // Starting a batch makes a QR event; it must not carry the payload.
    ASSERT_EQ(op.post("/api/batch", R"({"recipe":"cam-a"})").status, 201);
    auto batch = receive_until(ws, "\"topic\":\"batch\"");
    EXPECT_NE(batch.find("\"state\":\"running\""), std::string::npos);
    ws.shutdown();
    ws.close();
    // A closed client leaves the hub.
    for (int i = 0; i < 200 && server->live_clients() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(server->live_clients(), 0u);
}

TEST(WebHttps, ServesOverTlsWithSecureCookies) {
    TempDir dir;
    auto made = linestation::testing::run_process(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", (dir / "key.pem").string(), "-out",
         (dir / "cert.pem").string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    linestation::store::Store store(dir / "st.db");
    linestation::store::OperatorRecord op{
        0, "op", "operator", {}, linestation::auth::hash_password("op-password", 1000), false};
    store.add_operator(op);
    TestLine line(&store, {});
    linestation::web::ServerOptions options;
    options.port = 0;
    options.store_path = dir / "st.db";
    options.https_certificate = dir / "cert.pem";
    options.https_private_key = dir / "key.pem";
    linestation::web::Server server(line, options);
    server.start();
    Poco::Net::Context::Ptr context = new Poco::Net::Context(  // reference-counted by Poco
        Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_NONE);
    Poco::Net::HTTPSClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server.port()),
                                          context);
    Poco::Net::HTTPRequest request("POST", "/api/session", Poco::Net::HTTPMessage::HTTP_1_1);
    std::string body = R"({"login":"op","password":"op-password"})";
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    session.receiveResponse(response);
    EXPECT_EQ(response.getStatus(), 200);
    EXPECT_NE(response.get("Set-Cookie").find("; Secure"), std::string::npos);
}

}  // namespace

// Issue 12, "Left bound is counted in the store, on the dashboard and in /metrics": what the
// store records left bound (and not removed since) is what GET /api/left-bound lists to
// supervisors, what each device is and since when, and what /metrics counts; the line's own
// batch view (0 here) is not what they read.
TEST_F(WebApi, TheDevicesLeftBoundAreTheStoresToSupervisorsAndInMetrics) {
    linestation::store::UnitRecord unit;
    unit.station_id = "station-1";
    unit.slot = "A1";
    unit.serial = "tuya-label-1";
    unit.device_id = "dev-kept";
    const auto unit_id = store->begin_unit(unit);
    ASSERT_TRUE(
        store->record_left_bound({0, "dev-kept", 1, "AbCd1234", {}, {}, {}, 1'700'000, {}}));
    ASSERT_TRUE(store->record_left_bound({0, "dev-gone", 1, {}, {}, {}, {}, 1'600'000, {}}));
    ASSERT_TRUE(store->record_left_bound_removed("dev-gone", 1'800'000));

    EXPECT_EQ(ApiClient(server->port()).get("/api/left-bound").status, 401);
    EXPECT_EQ(as("op").get("/api/left-bound").status, 403);
    auto a = as("sup").get("/api/left-bound");
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.json()->getValue<int>("count"), 1) << a.body;
    auto devices = a.json()->getArray("devices");
    ASSERT_EQ(devices->size(), 1u) << a.body;
    const auto d = devices->getObject(0);
    EXPECT_EQ(d->getValue<std::string>("device_id"), "dev-kept");
    EXPECT_EQ(d->getValue<std::int64_t>("unit_id"), unit_id);
    EXPECT_EQ(d->getValue<std::string>("serial"), "tuya-label-1");
    EXPECT_EQ(d->getValue<std::string>("token"), "AbCd1234");
    EXPECT_EQ(d->getValue<std::int64_t>("since_ms"), 1'700'000);

    auto metrics = [&] { return ApiClient(server->port()).get("/metrics").body; };
    EXPECT_NE(metrics().find("\nlinestation_left_bound 1\n"), std::string::npos) << metrics();
    ASSERT_TRUE(store->record_left_bound_removed("dev-kept", 1'900'000));
    EXPECT_NE(metrics().find("\nlinestation_left_bound 0\n"), std::string::npos) << metrics();
    EXPECT_EQ(as("sup").get("/api/left-bound").json()->getValue<int>("count"), 0);
}
