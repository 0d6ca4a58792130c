// A served station whose MES broker is away: the CFX sink's backlog, its oldest result and
// its last error are on /metrics and /api/health while it is away; once it is back,
// everything that waited arrives and the error clears.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <thread>

#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/mes/amqp_peer.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::AmqpPeer;
using linestation::testing::ChildProcess;
using linestation::testing::TempDir;

namespace {

std::string http_get(int port, const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    auto& in = session.receiveResponse(response);
    std::string body;
    Poco::StreamCopier::copyToString(in, body);
    return body;
}

bool eventually(const std::function<bool()>& condition, std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return condition();
}

Poco::JSON::Object::Ptr cfx_health(int port) {
    auto health = Poco::JSON::Parser()
                      .parse(http_get(port, "/api/health"))
                      .extract<Poco::JSON::Object::Ptr>();
    auto outbox = health->getObject("outbox");
    if (!outbox) return nullptr;
    auto sinks = outbox->getArray("sinks");
    for (unsigned i = 0; sinks && i < sinks->size(); ++i) {
        if (sinks->getObject(i)->getValue<std::string>("name") == "cfx") return sinks->getObject(i);
    }
    return nullptr;
}

}  // namespace

TEST(CfxServe, BacklogOldestAndLastErrorAreShownWhileTheBrokerIsAwayAndNothingIsLost) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    peer.kill();
    {
        store::Store s(dir / "s.db");
        linestation::testing::commit_results(s, "st-9", 30);
    }
    std::ofstream(dir / "station.json")
        << R"({"station": {"id": "st-9"}, "store": {"path": "s.db"}, "log": {"file": "station.log"},
  "mes": {"cfx": {"url": ")"
        << peer.url() << R"(", "address": "/queue/mes", "handle": "LineStation.st-9"}}})";
    ChildProcess station(
        {LS_STATION_BINARY, "serve", "--config", (dir / "station.json").string(), "--port", "0"});
    const auto line = station.wait_for_line("listening on", 60);
    ASSERT_FALSE(line.empty());
    const int port = std::stoi(line.substr(line.rfind(':') + 1));

    ASSERT_TRUE(eventually(
        [&] {
            return http_get(port, "/metrics")
                       .find("linestation_outbox_sink_failing{sink=\"cfx\"} 1") !=
                   std::string::npos;
        },
        30s));
    const auto metrics = http_get(port, "/metrics");
    EXPECT_NE(metrics.find("linestation_outbox_backlog{sink=\"cfx\"} 30"), std::string::npos);
    EXPECT_NE(metrics.find("linestation_outbox_oldest_timestamp_seconds{sink=\"cfx\"} 1.7e+09"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("linestation_outbox_parked{sink=\"cfx\"} 0"), std::string::npos);
    auto sink = cfx_health(port);
    ASSERT_TRUE(sink);
    EXPECT_EQ(sink->getValue<int>("backlog"), 30);
    EXPECT_EQ(sink->getValue<std::int64_t>("oldest_ms"), 1'700'000'000'000);
    EXPECT_NE(sink->optValue<std::string>("last_error", "").find("127.0.0.1"), std::string::npos);

    peer.start();
    ASSERT_TRUE(eventually(
        [&] {
            return http_get(port, "/metrics").find("linestation_outbox_backlog{sink=\"cfx\"} 0") !=
                   std::string::npos;
        },
        60s));
    EXPECT_TRUE(eventually(
        [&] {
            auto s = cfx_health(port);
            return s && !s->has("last_error");
        },
        10s));
    EXPECT_NE(http_get(port, "/metrics").find("linestation_outbox_sink_failing{sink=\"cfx\"} 0"),
              std::string::npos);
    EXPECT_EQ(peer.received().size(), 30u);
}
