// `station serve --config` on a real fixture file whose relay board is behind a serial device
// server that is down when the station starts (issue 12, "Boards that come back"): the
// station serves all the same, says so on /api/health and /metrics, and takes the board
// back, in its safe state, when the server appears.

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "fixtures/virtual/boards/board_endpoints.hpp"
#include "fixtures/virtual/boards/serial_board_twins.hpp"
#include "station/clock/clock.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::ChildProcess;
using linestation::testing::TempDir;

namespace {

std::string get(int port, const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    return body;
}

Poco::JSON::Object::Ptr health(int port) {
    return Poco::JSON::Parser().parse(get(port, "/api/health")).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

TEST(ServeFaults, ABoardDownAtStartLeavesServeRunningWithItsSlotsFaultedUntilItAppears) {
    TempDir dir;
    linestation::SystemClock wall;
    linestation::fixtures::ModbusTwin twin(1, 4, wall);
    linestation::fixtures::TcpEndpoint server(twin);
    twin.set_link(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::ofstream(dir / "fixture.json") << R"({
  "schema": 1, "name": "one-board",
  "boards": [{"id": "resets", "driver": "modbus-rtu", "port": ")"
                                        << server.url() << R"(", "channels": 4,
              "serial": {"baud": 9600, "timeout_ms": 100}}],
  "camera": {"source": ")" << (dir / "no-camera.mjpg").string()
                                        << R"(", "width": 640, "height": 480, "fps": 10},
  "slots": [{"id": "A1", "reset": {"board": "resets", "channel": 0}, "led": [60, 120, 24, 24]},
            {"id": "A2", "reset": {"board": "resets", "channel": 1}, "led": [210, 120, 24, 24]}]
})";
    std::ofstream(dir / "station.json") << R"({
  "schema": 1,
  "station": {"id": "st-faults", "name": "Faults"},
  "http": {"bind": "127.0.0.1", "port": 0},
  "store": {"path": "station.db"},
  "fixture": "fixture.json",
  "recipes": ")" << LS_SOURCE_DIR << R"(/recipes"
})";
    ChildProcess serve({LS_STATION_BINARY, "serve", "--config", (dir / "station.json").string()});
    const auto listening = serve.wait_for_line("listening on", 30);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(listening, m, std::regex(R"(:(\d+)/)"))) << listening;
    const int port = std::stoi(m[1].str());

    auto h = health(port);
    EXPECT_EQ(h->getValue<int>("boards_faulted"), 1);
    EXPECT_FALSE(h->getValue<bool>("camera_ok"));  // its camera file does not exist
    auto board = h->getArray("boards")->getObject(0);
    EXPECT_EQ(board->getValue<std::string>("id"), "resets");
    EXPECT_FALSE(board->getValue<bool>("ok"));
    EXPECT_NE(board->getValue<std::string>("cause").find(server.url()), std::string::npos);
    EXPECT_NE(get(port, "/metrics").find("linestation_board_ok{board=\"resets\"} 0"),
              std::string::npos);
    twin.set_link(true);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (health(port)->getValue<int>("boards_faulted") != 0 &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(health(port)->getValue<int>("boards_faulted"), 0);
    EXPECT_NE(get(port, "/metrics").find("linestation_board_ok{board=\"resets\"} 1"),
              std::string::npos);
    // Taken back in its safe state: both resets released, before anything else used it.
    bool switched_on = false;
    for (const auto& r : twin.log()) switched_on = switched_on || (r.channel >= 0 && r.on);
    EXPECT_FALSE(switched_on);
    EXPECT_FALSE(twin.channel(0));
    EXPECT_FALSE(twin.channel(1));
    EXPECT_EQ(serve.stop(), 0);
}
