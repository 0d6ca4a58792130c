// `station simulate --config FILE` sends its shift through the config's MES sinks, and a
// station killed (SIGKILL) while it sends loses nothing: what it had not handed over waits
// in its store and goes out at its next start, each unit once under its UniqueID.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/mes/amqp_peer.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::AmqpPeer;
using linestation::testing::ChildProcess;
using linestation::testing::run_process;
using linestation::testing::TempDir;

namespace {

std::filesystem::path write_config(const TempDir& dir, const AmqpPeer& peer) {
    const auto file = dir / "station.json";
    std::ofstream(file) << R"({"station": {"id": "st-9"}, "mes": {"cfx": {"url": ")" << peer.url()
                        << R"(", "address": "/queue/mes", "handle": "LineStation.st-9"}}})";
    return file;
}

// UniqueID -> UnitIdentifier of every message the peer took.
std::map<std::string, std::string> units_received(const AmqpPeer& peer) {
    std::map<std::string, std::string> out;
    for (const auto& m : peer.received()) {
        auto e = Poco::JSON::Parser().parse(m.body).extract<Poco::JSON::Object::Ptr>();
        const auto unit = e->getObject("MessageBody")->getArray("TestedUnits")->getObject(0);
        const auto serial = unit->optValue<std::string>("UnitIdentifier", "");
        auto [it, fresh] = out.emplace(m.message_id, serial);
        EXPECT_TRUE(fresh || it->second == serial)
            << "one UniqueID for two units: " << m.message_id;
    }
    return out;
}

std::multiset<std::string> finished_serials(const std::filesystem::path& db) {
    store::Store s(db);
    std::multiset<std::string> out;
    auto q =
        s.database().prepare("SELECT coalesce(serial, '') FROM units WHERE verdict IS NOT NULL");
    while (q.step()) out.insert(q.text(0));
    return out;
}

}  // namespace

TEST(CfxCli, SimulateWithAConfigSendsEveryUnitThroughItsMesSink) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    const auto config = write_config(dir, peer);
    const auto r =
        run_process({LS_STATION_BINARY, "simulate", "--slots", "4", "--units", "12", "--config",
                     config.string(), "--db", (dir / "s.db").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto last = r.out.substr(r.out.rfind("{\"units\""));
    EXPECT_NE(last.find(R"("mes_forwarded":{"cfx":12},"mes_backlog":{"cfx":0})"), std::string::npos)
        << last;
    std::multiset<std::string> got;
    for (const auto& [id, serial] : units_received(peer)) got.insert(serial);
    EXPECT_EQ(got, finished_serials(dir / "s.db"));
    EXPECT_EQ(got.size(), 12u);
}

TEST(CfxCli, AStationKilledMidSendLosesNothing) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    const auto config = write_config(dir, peer);
    const auto db = (dir / "s.db").string();
    {
        ChildProcess station({LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "400",
                              "--config", config.string(), "--db", db});
        const auto until = std::chrono::steady_clock::now() + 120s;
        while (peer.received().size() < 30 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(20ms);
        }
        ASSERT_GE(peer.received().size(), 30u) << "the station sent nothing";
        station.stop(SIGKILL);
    }
    const auto before_restart = units_received(peer).size();
    const auto killed_with = finished_serials(db).size();
    EXPECT_LT(before_restart, 400u) << "the shift ended before the kill";
    // The next start: recovers the units the kill interrupted and sends what waited.
    const auto r = run_process({LS_STATION_BINARY, "simulate", "--slots", "1", "--units", "1",
                                "--seed", "77", "--config", config.string(), "--db", db, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(R"("mes_backlog":{"cfx":0})"), std::string::npos) << r.out;
    std::multiset<std::string> got;
    for (const auto& [id, serial] : units_received(peer)) got.insert(serial);
    const auto want = finished_serials(db);
    EXPECT_GT(want.size(), killed_with);
    EXPECT_EQ(got, want) << "units lost or sent as two different messages";
}
