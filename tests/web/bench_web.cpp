// Load benchmark of the dashboard:
//  * the supervisor summary with 1,000,000 units in the store, 50 concurrent clients
//    (target p99 < 20 ms);
//  * one slot change reaching 100 WebSocket clients (target < 100 ms).
// The store is built once under build/ (bench_web_1M.db) and reused.
#include <benchmark/benchmark.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "station/auth/password.hpp"
#include "station/reports/supervisor.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/web/api_client.hpp"
#include "tests/web/test_line.hpp"
#include "web/server.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kUnits = 1'000'000;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One million attempts over 90 days on 4 stations, 20 operators, 12 products; one in
// ten devices is retested.
std::filesystem::path million_unit_store() {
    std::filesystem::path file = "bench_web_1M.db";
    {
        linestation::store::Store store(file);
        if (store.count_units() >= kUnits) return file;
    }
    std::filesystem::remove(file);
    linestation::store::Store store(file);
    auto& db = store.database();
    auto now = wall_ms();
    std::mt19937_64 random(42);
    const char* reasons[] = {"never_ready_after_unbind", "cloud_timeout",  "quota_exceeded",
                             "wifi_join_failed",         "led_unreadable", "no_permission"};
    linestation::store::Transaction tx(db);
    auto batch = db.prepare(
        "INSERT INTO batches(kind, recipe, product_id, station_id, operator_login, started_ms, "
        "state) VALUES ('unbind', ?1, ?1, ?2, ?3, ?4, 'done')");
    auto unit = db.prepare(
        "INSERT INTO units(batch_id, serial, product_id, station_id, slot, attempt, started_ms, "
        "ended_ms, verdict, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    const std::int64_t span_ms = 90LL * 24 * 3'600'000;
    std::int64_t batch_id = 0;
    for (std::int64_t i = 0; i < kUnits; ++i) {
        auto ended = now - span_ms + (span_ms * i) / kUnits;
        auto product = "cam-" + std::to_string(i / 30 % 12);
        auto station = "station-" + std::to_string(i / 30 % 4);
        if (i % 30 == 0) {
            batch.bind_all(product, station, "op-" + std::to_string(i / 30 % 20), ended).run();
            batch_id = db.last_insert_id();
        }
        bool retest = i % 10 == 9;
        auto serial = "SN" + std::to_string(retest ? i - 1 : i);
        auto cycle = 40'000 + static_cast<std::int64_t>(random() % 120'000);
        auto roll = random() % 100;
        std::string verdict = roll < 85   ? "PASS"
                              : roll < 97 ? "FAIL"
                              : roll < 99 ? "INCONCLUSIVE"
                                          : "INTERRUPTED";
        std::optional<std::string> reason;
        if (verdict != "PASS") reason = reasons[random() % 6];
        unit.bind_all(batch_id, serial, product, station, "A" + std::to_string(i % 16),
                      retest ? 2 : 1, ended - cycle, ended, verdict, reason)
            .run();
    }
    tx.commit();
    db.exec("ANALYZE");
    return file;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void BM_SupervisorSummary50Clients(benchmark::State& state) {
    auto file = million_unit_store();
    linestation::store::Store store(file);
    if (!store.find_operator("sup")) {
        store.add_operator({0,
                            "sup",
                            "supervisor",
                            {},
                            linestation::auth::hash_password("sup-password", 1000),
                            false});
    }
    // The cold computation, for the record (the server serves it from a 5 s cache).
    for (const char* period : {"shift", "day", "week"}) {
        linestation::store::Database db(file, linestation::store::Database::Mode::ReadOnly);
        auto p = linestation::reports::period_named(period, wall_ms());
        auto t0 = Clock::now();
        for (const char* by : {"station", "operator", "product"})
            linestation::reports::throughput(db, p, by);
        linestation::reports::hourly(db, p);
        linestation::reports::yield(db, p);
        linestation::reports::pareto(db, p);
        linestation::reports::cycle_times(db, p);
        state.counters[std::string("cold_") + period + "_ms"] =
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    linestation::testing::TestLine line(nullptr, {});
    linestation::web::ServerOptions options;
    options.port = 0;
    options.store_path = file;
    options.max_threads = 64;
    // Harsher than the server's default (5 s), so the run of a few seconds includes
    // several background recomputations competing for the two cores.
    options.summary_max_age_s = 1.0;
    linestation::web::Server server(line, options);
    server.start();
    linestation::testing::ApiClient sup(server.port());
    if (sup.login("sup", "sup-password").status != 200) {
        state.SkipWithError("login failed");
        return;
    }
    const std::vector<std::string> periods{"shift", "day", "week"};
    for (const auto& p : periods) sup.get("/api/reports/summary?period=" + p);  // warm
    for (auto _ : state) {
        constexpr int kClients = 50, kRequests = 800;
        std::vector<std::vector<double>> latencies(kClients);
        std::vector<std::thread> clients;
        auto t0 = Clock::now();
        for (int c = 0; c < kClients; ++c) {
            clients.emplace_back([&, c] {
                Poco::Net::HTTPClientSession session("127.0.0.1",
                                                     static_cast<Poco::UInt16>(server.port()));
                session.setKeepAlive(true);
                for (int r = 0; r < kRequests; ++r) {
                    Poco::Net::HTTPRequest request(
                        "GET", "/api/reports/summary?period=" + periods[(c + r) % 3],
                        Poco::Net::HTTPMessage::HTTP_1_1);
                    request.set("Cookie", "ls_session=" + sup.cookie());
                    auto start = Clock::now();
                    session.sendRequest(request);
                    Poco::Net::HTTPResponse response;
                    std::string body;
                    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
                    latencies[c].push_back(
                        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
                    if (response.getStatus() != 200) latencies[c].back() = 1e9;
                }
            });
        }
        for (auto& t : clients) t.join();
        auto wall = std::chrono::duration<double>(Clock::now() - t0).count();
        std::vector<double> all;
        for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
        state.counters["p50_ms"] = percentile(all, 0.50);
        state.counters["p99_ms"] = percentile(all, 0.99);
        state.counters["max_ms"] = percentile(all, 1.0);
        state.counters["requests_per_s"] = static_cast<double>(all.size()) / wall;
    }
}
BENCHMARK(BM_SupervisorSummary50Clients)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SlotChangeTo100WebSockets(benchmark::State& state) {
    linestation::testing::TempDir dir;
    linestation::store::Store store(dir / "st.db");
    store.add_operator(
        {0, "op", "operator", {}, linestation::auth::hash_password("op-password", 1000), false});
    linestation::testing::TestLine line(&store, {});
    linestation::web::ServerOptions options;
    options.port = 0;
    options.store_path = dir / "st.db";
    linestation::web::Server server(line, options);
    server.start();
    linestation::testing::ApiClient op(server.port());
    op.login("op", "op-password");
    constexpr int kClients = 100;
    std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>> sessions;
    std::vector<std::unique_ptr<Poco::Net::WebSocket>> sockets;
    char buffer[65536];
    for (int i = 0; i < kClients; ++i) {
        sessions.push_back(std::make_unique<Poco::Net::HTTPClientSession>(
            "127.0.0.1", static_cast<Poco::UInt16>(server.port())));
        Poco::Net::HTTPRequest request("GET", "/api/live", Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Cookie", "ls_session=" + op.cookie());
        Poco::Net::HTTPResponse response;
        sockets.push_back(
            std::make_unique<Poco::Net::WebSocket>(*sessions.back(), request, response));
        sockets.back()->setReceiveTimeout(Poco::Timespan(2, 0));
        int flags = 0;
        sockets.back()->receiveFrame(buffer, sizeof buffer, flags);  // hello
    }
    while (server.live_clients() < kClients)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::vector<double> spreads;
    int round = 0;
    for (auto _ : state) {
        auto color = ++round % 2 ? "green" : "red";
        auto t0 = Clock::now();
        line.set_led("A1", color, "blink");
        double last = 0;
        for (auto& ws : sockets) {
            int flags = 0;
            int n = ws->receiveFrame(buffer, sizeof buffer, flags);
            if (n <= 0) {
                state.SkipWithError("a client missed the event");
                return;
            }
            last = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        }
        spreads.push_back(last);
    }
    state.counters["p50_all_100_ms"] = percentile(spreads, 0.5);
    state.counters["p99_all_100_ms"] = percentile(spreads, 0.99);
    state.counters["max_all_100_ms"] = percentile(spreads, 1.0);
}
BENCHMARK(BM_SlotChangeTo100WebSockets)
    ->Iterations(200)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
