// The fleet through the station executable: `fleet status --json` (the contract line),
// simulated stations sharing one account's quota, and a station killed -9 while it
// forwards.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "station/fleet/central_quota.hpp"
#include "station/fleet/fleet_schema.hpp"
#include "station/fleet/fleet_sink.hpp"
#include "station/fleet/quota_day.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_db.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/fleet/pg_server.hpp"
#include "tests/web/api_client.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::ChildProcess;
using linestation::testing::pg_count;
using linestation::testing::PgServer;
using linestation::testing::run_process;
using linestation::testing::TempDir;

namespace {

Poco::JSON::Object::Ptr last_json_line(const std::string& out) {
    auto end = out.find_last_not_of('\n');
    auto start = out.rfind('\n', end);
    auto line = out.substr(start == std::string::npos ? 0 : start + 1, end - start);
    return Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

TEST(FleetCli, StatusPrintsTheContractLine) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    TempDir dir;
    for (const std::string station : {"st-a", "st-b"}) {
        store::Store s(dir / (station + ".db"));
        linestation::testing::commit_results(s, station, station == "st-a" ? 3 : 5);
        fleet::FleetResultSink sink({url, station, {}});
        outbox::Forwarder forwarder(dir / (station + ".db"), sink);
        ASSERT_TRUE(forwarder.drain(20s)) << forwarder.state().last_error;
    }
    fleet::CentralQuota quota({url, "st-a", {}});
    ASSERT_EQ(quota.reserve({"uid-1", "tuya-ipc-camera", "2026-12-02", 100, 150}).answer,
              fleet::QuotaAnswer::Granted);

    auto r = run_process({LS_STATION_BINARY, "fleet", "status", "--pg", url, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(
        r.out,
        "{\"units\":8,\"by_station\":{\"st-a\":3,\"st-b\":5},\"quota\":["
        "{\"scope\":\"account\",\"id\":\"uid-1\",\"day\":\"2026-12-02\",\"used\":1,\"cap\":100},"
        "{\"scope\":\"product\",\"id\":\"tuya-ipc-camera\",\"day\":\"2026-12-02\",\"used\":1,"
        "\"cap\":150}],\"backlog\":{\"st-a\":0,\"st-b\":0}}\n");
}

TEST(FleetCli, StatusWithTheServerAwaySaysSoWithoutThePassword) {
    const int port = linestation::testing::free_loopback_port();
    auto r = run_process(
        {LS_STATION_BINARY, "fleet", "status", "--pg",
         "postgresql://postgres:s3cret-word@127.0.0.1:" + std::to_string(port) + "/postgres",
         "--json"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("s3cret-word"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("postgres:***@"), std::string::npos) << r.err;
}

TEST(FleetCli, FourSimulatedStationsOfSixteenSlotsShareOneAccountsQuota) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    TempDir dir;
    // One authorized account: 100 unbinds a day, the product's cap as high.
    {
        std::ofstream mix(dir / "mix.json");
        mix << R"({"kinds": {"good": 1.0}, "accounts": 1, "quota_per_account": 100,
                   "quota_per_product": 100})";
    }
    std::vector<linestation::testing::ProcessResult> results(4);
    std::vector<std::thread> stations;
    for (int i = 0; i < 4; ++i) {
        stations.emplace_back([&, i] {
            results[static_cast<std::size_t>(i)] = run_process(
                {LS_STATION_BINARY, "simulate", "--slots", "16", "--units", "40", "--no-vision",
                 "--mix", (dir / "mix.json").string(), "--seed", std::to_string(i + 1), "--fleet",
                 url, "--station-id", "st-" + std::to_string(i + 1), "--json"});
        });
    }
    for (auto& t : stations) t.join();
    int units = 0;
    int pass = 0;
    for (const auto& r : results) {
        ASSERT_EQ(r.exit_code, 0) << r.err;
        auto summary = last_json_line(r.out);
        units += summary->getValue<int>("units");
        pass += summary->getValue<int>("pass");
        EXPECT_EQ(summary->getValue<int>("fleet_backlog"), 0);
    }
    EXPECT_EQ(units, 160);
    EXPECT_LE(pass, 100);
    // Never more granted than the cap, on either row, whatever became of the attempts.
    EXPECT_LE(pg_count(url, "SELECT max(used) FROM fleet_quota"), 100);
    EXPECT_LE(pg_count(url,
                       "SELECT coalesce(sum(spent), 0) FROM fleet_reservations WHERE "
                       "state IN ('spent', 'expired')") +
                  pg_count(url, "SELECT count(*) FROM fleet_reservations WHERE state = 'held'"),
              100);
    EXPECT_EQ(pg_count(url, "SELECT count(*) FROM fleet_results"), 160);
    EXPECT_EQ(pg_count(url,
                       "SELECT count(*) FROM fleet_results WHERE reason IS DISTINCT "
                       "FROM 'quota_exceeded'"),
              pass + pg_count(url,
                              "SELECT count(*) FROM fleet_results WHERE verdict <> "
                              "'PASS' AND reason IS DISTINCT FROM 'quota_exceeded'"));
    EXPECT_GE(pass, 90) << "the shared quota should be spent, not wasted";
}

TEST(FleetCli, AStationKilledMidForwardingLosesAndDuplicatesNothing) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    TempDir dir;
    const auto db = (dir / "station.db").string();
    {
        ChildProcess station({LS_STATION_BINARY, "simulate", "--slots", "16", "--units", "400",
                              "--no-vision", "--db", db, "--fleet", url, "--station-id", "st-k",
                              "--progress"});
        for (int i = 0; i < 60; ++i) ASSERT_FALSE(station.wait_for_line("unit ", 60).empty());
        EXPECT_EQ(station.stop(SIGKILL), 128 + SIGKILL);
    }
    const auto forwarded_before = pg_count(url, "SELECT count(*) FROM fleet_results");
    EXPECT_GT(forwarded_before, 0) << "the kill should land while results are being forwarded";
    // The station starts again on its store: it forwards what is left, and its own new
    // results, once each.
    auto again =
        run_process({LS_STATION_BINARY, "simulate", "--slots", "4", "--units", "4", "--no-vision",
                     "--db", db, "--fleet", url, "--station-id", "st-k", "--json"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(last_json_line(again.out)->getValue<int>("fleet_backlog"), 0);
    store::Store s(db);
    const auto want = linestation::testing::station_units(s);
    const auto got = linestation::testing::pg_units(url);
    EXPECT_GE(want.size(), 64u);
    EXPECT_TRUE(got == want) << got.size() << " in the fleet, " << want.size()
                             << " verdicts in the station";
}

namespace {

// GET on the fleet dashboard: status and body.
std::pair<int, std::string> http_get(int port, const std::string& target) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    auto& in = session.receiveResponse(response);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return {static_cast<int>(response.getStatus()), body};
}

}  // namespace

TEST(FleetCli, ServeShowsTheFleetsViewsPerStationAndAsCsv) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    TempDir dir;
    // Results ended within the last day, so the default period (day) holds them.
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (const std::string station : {"st-a", "st-b"}) {
        store::Store s(dir / (station + ".db"));
        linestation::testing::commit_results(s, station, station == "st-a" ? 10 : 4, "SN",
                                             now - 3'600'000);
        fleet::FleetResultSink sink({url, station, {}});
        outbox::Forwarder forwarder(dir / (station + ".db"), sink);
        ASSERT_TRUE(forwarder.drain(20s)) << forwarder.state().last_error;
    }
    ChildProcess serve({LS_STATION_BINARY, "fleet", "serve", "--pg", url, "--port", "0"});
    const auto line = serve.wait_for_line("listening on", 30);
    ASSERT_FALSE(line.empty());
    const int port = std::stoi(line.substr(line.rfind(':') + 1));

    auto [code, body] = http_get(port, "/api/fleet/reports/throughput?by=station");
    ASSERT_EQ(code, 200) << body;
    auto table = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    auto rows = table->getArray("rows");
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ(rows->getArray(0)->getElement<std::string>(0), "st-a");
    EXPECT_EQ(rows->getArray(0)->getElement<int>(1), 10);

    // One station's Pareto: st-b's 4 units hold one FAIL (every fifth unit).
    std::tie(code, body) = http_get(port, "/api/fleet/reports/pareto?station=st-b");
    ASSERT_EQ(code, 200) << body;
    table = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    ASSERT_EQ(table->getArray("rows")->size(), 1u);
    EXPECT_EQ(table->getArray("rows")->getArray(0)->getElement<int>(1), 1);

    // A device's history across stations, as CSV: SN-3 was tested on both.
    std::tie(code, body) = http_get(port, "/api/fleet/reports/unit_history?serial=SN-3&format=csv");
    ASSERT_EQ(code, 200) << body;
    EXPECT_EQ(body.rfind("result_id,serial,", 0), 0u) << body;
    EXPECT_NE(body.find(",st-a,"), std::string::npos) << body;
    EXPECT_NE(body.find(",st-b,"), std::string::npos) << body;
    EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 3);

    std::tie(code, body) = http_get(port, "/api/fleet/reports/nonsense");
    EXPECT_EQ(code, 404);
    EXPECT_NE(body.find("expected throughput"), std::string::npos) << body;
    EXPECT_EQ(serve.stop(SIGTERM), 0);
}

// Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 h apart: never on the same day.
TEST(FleetCli, ServeShowsTodaysQuotaInTheFleetsDayZone) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    fleet::PgConnection c(url, {}, "test");
    fleet::ensure_fleet_schema(c);
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::pair<std::string, int> zones[] = {{"Pacific/Kiritimati", 7},
                                                 {"Pacific/Pago_Pago", 3}};
    for (const auto& [zone, used] : zones) {
        c.exec(
            "INSERT INTO fleet_quota (scope, id, day, used, cap) VALUES ('account', 'acc-1', $1, "
            "$2::integer, 100)",
            {fleet::QuotaDayZone::parse(zone)->day_of(now), std::to_string(used)});
    }
    for (const auto& [zone, used] : zones) {
        ChildProcess serve(
            {LS_STATION_BINARY, "fleet", "serve", "--pg", url, "--port", "0", "--day-zone", zone});
        const auto line = serve.wait_for_line("listening on", 30);
        ASSERT_FALSE(line.empty()) << zone;
        auto [code, body] =
            http_get(std::stoi(line.substr(line.rfind(':') + 1)), "/api/fleet/reports/quota");
        ASSERT_EQ(code, 200) << body;
        auto rows =
            Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>()->getArray("rows");
        ASSERT_EQ(rows->size(), 1u) << zone << ": " << body;
        EXPECT_EQ(rows->getArray(0)->getElement<int>(2), used) << zone << ": " << body;
        EXPECT_EQ(serve.stop(SIGTERM), 0);
    }
    auto r = run_process(
        {LS_STATION_BINARY, "fleet", "serve", "--pg", url, "--day-zone", "Mars/Olympus_Mons"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--day-zone \"Mars/Olympus_Mons\": expected"), std::string::npos) << r.err;
}

TEST(FleetCli, ServeRefusesAnAddressBeyondLoopbackUntilItHasSignIn) {
    auto r = run_process({LS_STATION_BINARY, "fleet", "serve", "--pg",
                          "postgresql://postgres@127.0.0.1:1/postgres", "--bind", "0.0.0.0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("loopback only"), std::string::npos) << r.err;
}

TEST(FleetCli, ServeWithUsersSignsInAsTheStationDoesAndShowsSupervisorsOnly) {
    const auto url = linestation::testing::fresh_database(linestation::testing::shared_pg_server());
    TempDir dir;
    const auto users = (dir / "users.db").string();
    for (const auto& [login, role] : {std::pair{"boss", "supervisor"}, {"op", "operator"}}) {
        auto made = run_process({LS_STATION_BINARY, "user", "add", "--login", login, "--role", role,
                                 "--password-stdin", "--db", users},
                                std::string(login) + "-long-password\n");
        ASSERT_EQ(made.exit_code, 0) << made.err;
    }
    ChildProcess serve(
        {LS_STATION_BINARY, "fleet", "serve", "--pg", url, "--users", users, "--port", "0"});
    const auto line = serve.wait_for_line("listening on", 30);
    ASSERT_FALSE(line.empty());
    const int port = std::stoi(line.substr(line.rfind(':') + 1));
    const std::string yield = "/api/fleet/reports/yield";

    linestation::testing::ApiClient nobody(port);
    EXPECT_EQ(nobody.get(yield).status, 401);
    EXPECT_EQ(nobody.get(yield + "?format=csv").status, 401);
    EXPECT_EQ(nobody.get("/api/fleet/status").status, 401);
    EXPECT_EQ(nobody.login("boss", "not-the-password").status, 401);

    linestation::testing::ApiClient op(port);
    ASSERT_EQ(op.login("op", "op-long-password").status, 200);
    EXPECT_EQ(op.get(yield).status, 403) << "an operator does not see the fleet's views";

    linestation::testing::ApiClient boss(port);
    ASSERT_EQ(boss.login("boss", "boss-long-password").status, 200);
    EXPECT_EQ(boss.get("/api/session").json()->getValue<std::string>("role"), "supervisor");
    EXPECT_EQ(boss.get(yield).status, 200);
    const auto csv = boss.get(yield + "?format=csv");
    EXPECT_EQ(csv.status, 200);
    EXPECT_NE(csv.header("Content-Type").find("text/csv"), std::string::npos);
    boss.send_csrf = false;
    EXPECT_EQ(boss.call("DELETE", "/api/session").status, 403)
        << "logging out needs the CSRF token";
    boss.send_csrf = true;
    EXPECT_EQ(boss.call("DELETE", "/api/session").status, 200);
    EXPECT_EQ(boss.get(yield).status, 401) << "the session ended";
    EXPECT_EQ(serve.stop(SIGTERM), 0);

    auto missing = run_process({LS_STATION_BINARY, "fleet", "serve", "--pg", url, "--users",
                                (dir / "none.db").string(), "--port", "0"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("station user add --db"), std::string::npos) << missing.err;
}

TEST(FleetCli, WithTheFleetAwayAndWhenOfflineStopUnitsWaitAndAreNeverRefused) {
    // Nothing listens there: every reservation is unreachable, none is refused.
    const int port = linestation::testing::free_loopback_port();
    auto r = run_process({LS_STATION_BINARY, "simulate", "--slots", "2", "--units", "2",
                          "--no-vision", "--fleet",
                          "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres",
                          "--station-id", "st-away", "--when-offline", "stop", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto summary = last_json_line(r.out);
    EXPECT_EQ(summary->getValue<int>("units"), 0);
    EXPECT_EQ(summary->getValue<int>("no_verdict"), 2) << "the units wait for the fleet";
    EXPECT_EQ(summary->getObject("fail")->size(), 0u) << r.out;
}
