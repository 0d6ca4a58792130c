// A real station configured with a cloud secret, a Wi-Fi password and user passwords, driven
// through the API like a shift would; then every answer and the log file are searched for
// those secrets. The station is `station serve`'s parts in this process (config parser,
// Runtime, the virtual line, the web server, the file log), talking to `station cloud
// emulator`: `station serve` itself keeps the recipes its virtual camera points into only
// during construction (station/app/serve.cpp), which crashes it with a Wi-Fi config.
#define ZX_USE_UTF8 1
#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/WebSocket.h>
#include <ZXing/ReadBarcode.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <regex>
#include <thread>

#include "app/demo_line.hpp"
#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/config/station_config.hpp"
#include "station/logging.hpp"
#include "station/runtime.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"
#include "web/server.hpp"

using linestation::testing::Answer;
using linestation::testing::ApiClient;
using linestation::testing::ChildProcess;
using linestation::testing::run_process;
using linestation::testing::TempDir;

namespace {

int port_of(const std::string& line) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(127\.0\.0\.1:(\d+))"))) return 0;
    return std::stoi(m[1].str());
}

std::string qr_text(const std::string& png) {
    std::vector<unsigned char> bytes(png.begin(), png.end());
    cv::Mat image = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
    if (image.empty()) return "";
    ZXing::ImageView view(image.data, image.cols, image.rows, ZXing::ImageFormat::Lum);
    return ZXing::ReadBarcode(view).text();
}

TEST(Secrets, NoConfiguredSecretInAnyApiAnswerOrInTheLog) {
    TempDir dir;
    const std::string cloud_secret = "cl0udS3cretE5b2a9c41d7";
    const std::string wifi_password = "w1fiPassQ8r4t6y2u0";
    const std::string op_password = "opPassZ3x5c7v9b1";
    const std::string admin_password = "admPassK2j4h6g8f0";

    ChildProcess cloud({LS_STATION_BINARY, "cloud", "emulator", "--client-id", "cid-secrets",
                        "--secret", cloud_secret, "--uid", "uid-secrets"});
    const int cloud_port = port_of(cloud.wait_for_line("listening on", 30));
    ASSERT_GT(cloud_port, 0);
    const std::filesystem::path recipes = LS_SOURCE_RECIPES_DIR;
    const auto config = (dir / "station.json").string();
    std::ofstream(config) << R"({"schema":1,"station":{"id":"secrets-1"},"store":{"path":"st.db"},)"
                          << R"("log":{"file":"station.log","level":"debug"},)"
                          << R"("http":{"bind":"127.0.0.1","port":0},"recipes":")"
                          << recipes.string() << R"(",)"
                          << R"("cloud":{"endpoint":"http://127.0.0.1:)" << cloud_port
                          << R"(","client_id":"cid-secrets","secret":")" << cloud_secret
                          << R"(","uid":"uid-secrets"},)"
                          << R"("wifi":{"ssid":"Secrets-Line","password":")" << wifi_password
                          << R"("}})";
    for (auto [login, role, password] :
         {std::tuple{"op", "operator", op_password}, std::tuple{"boss", "admin", admin_password}}) {
        auto add =
            run_process({LS_STATION_BINARY, "user", "add", "--login", login, "--role", role,
                         "--products", "tuya-ipc-camera", "--password-stdin", "--config", config},
                        password + "\n");
        ASSERT_EQ(add.exit_code, 0) << add.err;
        EXPECT_EQ(add.out.find(password), std::string::npos);
        EXPECT_EQ(add.err.find(password), std::string::npos);
    }

    // What `station serve --config` does without a fixture (app/serve.cpp).
    auto station_config = linestation::config::load_station_config(config);
    linestation::configure_logging(station_config.log_file, station_config.log_level, false);
    auto runtime = std::make_unique<linestation::Runtime>(station_config);
    const auto recipe_set = linestation::config::load_recipes(station_config.recipes_dir);
    auto demo = std::make_unique<linestation::app::DemoLine>(
        *runtime,
        linestation::config::load_fixture(std::filesystem::path(LS_SOURCE_DIR) / "fixtures" /
                                          "virtual-8.json"),
        recipe_set);
    linestation::web::ServerOptions options;
    options.bind = station_config.http_bind;
    options.port = 0;
    options.store_path = station_config.store_path;
    options.recipes_dir = station_config.recipes_dir;
    auto server = std::make_unique<linestation::web::Server>(*runtime, options);
    server->start();
    const int port = server->port();
    ASSERT_GT(port, 0);

    // Every answer of the run, named by its request.
    std::vector<std::pair<std::string, Answer>> answers;
    auto keep = [&](const std::string& what, Answer a) {
        answers.emplace_back(what, a);
        return a;
    };
    ApiClient op(port);
    ApiClient wrong(port);
    keep("POST /api/session (wrong password)", wrong.login("op", "not-" + op_password));
    ASSERT_EQ(keep("POST /api/session", op.login("op", op_password)).status, 200);
    for (const char* path : {"/api/session", "/api/slots", "/api/recipes", "/api/batch",
                             "/api/health", "/api/openapi.json"})
        keep(std::string("GET ") + path, op.get(path));
    auto started =
        keep("POST /api/batch", op.post("/api/batch", R"({"recipe":"tuya-ipc-camera"})"));
    ASSERT_EQ(started.status, 201) << started.body;

    // The live socket, as the operator's page has it, through the batch.
    Poco::Net::HTTPClientSession live_session("127.0.0.1", static_cast<Poco::UInt16>(port));
    Poco::Net::HTTPRequest upgrade("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
    upgrade.set("Cookie", "ls_session=" + op.cookie());
    Poco::Net::HTTPResponse upgraded;
    Poco::Net::WebSocket live(live_session, upgrade, upgraded);
    live.setReceiveTimeout(Poco::Timespan(0, 200'000));
    std::string frames;
    std::string qr_payload;
    int verdicts = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && (verdicts == 0 || qr_payload.empty())) {
        char buffer[65536];
        int flags = 0;
        try {
            int n = live.receiveFrame(buffer, sizeof buffer, flags);
            if (n > 0) frames.append(buffer, static_cast<std::size_t>(n)).append("\n");
        } catch (const Poco::TimeoutException&) {
        }
        auto slots = keep("GET /api/slots", op.get("/api/slots"));
        if (std::regex_search(slots.body,
                              std::regex(R"re("verdict":"(PASS|FAIL|INCONCLUSIVE)")re")))
            verdicts = 1;
        keep("GET /api/batch", op.get("/api/batch"));
        keep("GET /api/qr", op.get("/api/qr"));
        auto png = op.get("/api/qr.png");
        if (png.status == 200 && qr_payload.empty()) qr_payload = qr_text(png.body);
        // The QR image is the one answer that must carry the Wi-Fi password: the devices
        // read it from the screen. It is scanned for every other secret.
        answers.emplace_back("GET /api/qr.png (Wi-Fi password expected)", png);
        answers.emplace_back("GET /api/qr.svg (Wi-Fi password expected)", op.get("/api/qr.svg"));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    EXPECT_NE(qr_payload.find(wifi_password), std::string::npos)
        << "the run never showed a QR with the configured Wi-Fi: " << qr_payload;
    EXPECT_EQ(verdicts, 1) << "no verdict within 60 s";
    answers.emplace_back("WebSocket /api/live frames", Answer{101, frames, {}});

    ApiClient boss(port);
    ASSERT_EQ(keep("POST /api/session (admin)", boss.login("boss", admin_password)).status, 200);
    for (const char* path :
         {"/api/users", "/api/users.csv", "/api/audit", "/api/audit.csv", "/api/cloud-accounts",
          "/api/cloud-accounts.csv", "/api/admin/recipes", "/api/admin/recipes/tuya-ipc-camera",
          "/api/admin/fixture", "/api/reports/summary", "/api/reports/yield.csv",
          "/api/reports/quota", "/metrics", "/api/batch", "/api/slots"})
        keep(std::string("GET ") + path, boss.get(path));
    keep("POST /api/users",
         boss.post("/api/users",
                   R"({"login":"new-op","role":"operator","password":"newPassW7e9r1t3",)"
                   R"("products":["tuya-ipc-camera"]})"));
    keep("POST /api/batch/stop", op.post("/api/batch/stop"));
    keep("GET /api/audit (after)", boss.get("/api/audit"));
    keep("DELETE /api/session", op.call("DELETE", "/api/session"));

    live.shutdown();
    server.reset();
    demo.reset();
    runtime.reset();
    // Later tests in this process log nowhere rather than into a removed folder.
    linestation::configure_logging("/dev/null", "error", false);
    std::ifstream log_in(dir / "station.log");
    std::string log((std::istreambuf_iterator<char>(log_in)), std::istreambuf_iterator<char>());
    ASSERT_GT(log.size(), 200u) << "the station wrote no log";
    answers.emplace_back("the log file", Answer{0, log, {}});

    std::size_t scanned = 0;
    for (const auto& [what, a] : answers) {
        std::string text = a.body;
        for (const auto& [k, v] : a.headers) text += "\n" + k + ": " + v;
        scanned += text.size();
        for (const auto& secret :
             {cloud_secret, op_password, admin_password, std::string("newPassW7e9r1t3")}) {
            EXPECT_EQ(text.find(secret), std::string::npos) << what << " carries " << secret;
        }
        if (what.find("Wi-Fi password expected") == std::string::npos) {
            EXPECT_EQ(text.find(wifi_password), std::string::npos)
                << what << " carries the Wi-Fi password";
        }
    }
    EXPECT_GT(answers.size(), 40u);
    std::cout << answers.size() << " answers and the log, " << scanned
              << " bytes, searched for 5 secrets\n";
}

}  // namespace
