#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <filesystem>
#include <fstream>

#include "station/runtime.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "web/server.hpp"

using linestation::testing::ChildProcess;
using linestation::testing::TempDir;

namespace {

struct HttpAnswer {
    int status = 0;
    std::string body;
    std::string content_type;
};

HttpAnswer http_get(int port, const std::string& path, const std::string& method = "GET") {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    auto& in = session.receiveResponse(response);
    HttpAnswer a;
    a.status = response.getStatus();
    a.content_type = response.getContentType();
    Poco::StreamCopier::copyToString(in, a.body);
    return a;
}

int port_from(const std::string& line) {
    auto colon = line.rfind(':');
    return std::stoi(line.substr(colon + 1));
}

}  // namespace

TEST(Serve, HealthAnswersJsonWithStoreStatus) {
    TempDir dir;
    auto config = linestation::config::default_station_config();
    config.store_path = dir / "st.db";
    linestation::Runtime runtime(config);
    linestation::web::ServerOptions options;
    options.port = 0;
    linestation::web::Server server(runtime, options);
    server.start();
    auto a = http_get(server.port(), "/api/health");
    EXPECT_EQ(a.status, 200);
    EXPECT_NE(a.content_type.find("application/json"), std::string::npos);
    auto obj = Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(obj->getValue<std::string>("status"), "ok");
    EXPECT_TRUE(obj->getValue<bool>("store_ok"));
    EXPECT_GE(obj->getValue<double>("uptime_s"), 0.0);
    EXPECT_FALSE(obj->getValue<std::string>("version").empty());
}

TEST(Serve, StaticFilesStayInsideTheUiFolder) {
    TempDir dir;
    std::filesystem::create_directories(dir / "ui");
    std::ofstream(dir / "ui" / "index.html") << "<h1>station</h1>";
    std::ofstream(dir / "secret.txt") << "do not serve";
    auto config = linestation::config::default_station_config();
    config.store_path = dir / "st.db";
    linestation::Runtime runtime(config);
    linestation::web::ServerOptions options;
    options.port = 0;
    options.ui_dir = dir / "ui";
    linestation::web::Server server(runtime, options);
    server.start();
    EXPECT_EQ(http_get(server.port(), "/").body, "<h1>station</h1>");
    for (const auto* path :
         {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/ui/../../secret.txt"}) {
        auto a = http_get(server.port(), path);
        // Refused before any handler (400) or not found (404): never the file.
        EXPECT_TRUE(a.status == 400 || a.status == 404) << path << ": " << a.status;
        EXPECT_EQ(a.body.find("do not serve"), std::string::npos) << path;
    }
    auto missing = http_get(server.port(), "/api/nothing");
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(missing.body.find("\"error\""), std::string::npos);
    EXPECT_EQ(http_get(server.port(), "/api/health", "DELETE").status, 405);
}

TEST(Serve, ExecutableServesHealthAndStopsCleanlyOnSigterm) {
    TempDir dir;
    auto cfg = dir / "station.json";
    std::ofstream(cfg) << R"({"station": {"id": "t-1"}, "http": {"port": 0},
                             "store": {"path": "st.db"}, "log": {"file": "log/station.log"}})";
    ChildProcess station({LS_STATION_BINARY, "serve", "--config", cfg.string()});
    auto line = station.wait_for_line("listening on", 20);
    ASSERT_FALSE(line.empty()) << "station serve did not start";
    auto a = http_get(port_from(line.substr(0, line.size() - 1)), "/api/health");
    EXPECT_EQ(a.status, 200);
    EXPECT_NE(a.body.find("\"station_id\":\"t-1\""), std::string::npos) << a.body;
    EXPECT_EQ(station.stop(SIGTERM), 0);
    EXPECT_TRUE(std::filesystem::exists(dir / "st.db"));
    EXPECT_TRUE(std::filesystem::exists(dir / "log" / "station.log"));
}
