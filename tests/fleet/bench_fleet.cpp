// Figures for the fleet on this machine, against a real PostgreSQL started here:
//   drain rate (results per second from a station's outbox into the fleet),
//   reservation latency p50/p99 with 64 slots reserving at once (own connections),
//   the fleet summary's (fleet status) p50/p99 over N units from 50 stations.
// usage: bench_fleet [--drain N] [--units N] [--rounds N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "station/fleet/central_quota.hpp"
#include "station/fleet/fleet_reports.hpp"
#include "station/fleet/fleet_schema.hpp"
#include "station/fleet/fleet_status.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/fleet/pg_server.hpp"

using namespace linestation;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

long arg(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return std::stol(argv[i + 1]);
    }
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    const long drain_n = arg(argc, argv, "--drain", 20'000);
    const long units = arg(argc, argv, "--units", 1'000'000);
    const long rounds = arg(argc, argv, "--rounds", 30);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    testing::PgServer pg;
    testing::TempDir dir;

    {
        store::Store s(dir / "s.db");
        s.database().exec("PRAGMA synchronous=OFF");
        testing::commit_results(s, "st-bench", static_cast<int>(drain_n));
        fleet::FleetResultSink sink({pg.url(), "st-bench", {}});
        const auto t0 = Clock::now();
        outbox::Forwarder forwarder(dir / "s.db", sink);
        if (!forwarder.drain(std::chrono::minutes(10))) {
            std::fprintf(stderr, "drain did not finish: %s\n",
                         forwarder.state().last_error.c_str());
            return 1;
        }
        const double ms = ms_since(t0);
        std::printf("drain: %ld results in %.0f ms = %.0f results/s (batches of 500)\n", drain_n,
                    ms, drain_n / (ms / 1000.0));
    }

    // 64 slots at once is the figure (every slot of four 16-slot stations asking on
    // its own connection); 4 at once is a fleet of four stations, whose schedulers each ask
    // one at a time.
    for (const int kSlots : {64, 4}) {
        const int kEach = 3200 / kSlots;
        std::vector<std::vector<double>> per_slot(static_cast<std::size_t>(kSlots));
        std::atomic<int> ready{0};
        std::atomic<int> refused{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> slots;
        for (int i = 0; i < kSlots; ++i) {
            slots.emplace_back([&, i] {
                fleet::CentralQuota quota({pg.url(), "st-" + std::to_string(i / 16), {}});
                fleet::QuotaRequest r{"uid-shared", "tuya-ipc-camera",
                                      "2026-12-0" + std::to_string(kSlots == 64 ? 2 : 3), 1'000'000,
                                      1'000'000};
                quota.has_room(r);  // connected before the clock starts
                ++ready;
                while (!go) std::this_thread::yield();
                for (int k = 0; k < kEach; ++k) {
                    const auto t0 = Clock::now();
                    const auto g = quota.reserve(r);
                    per_slot[static_cast<std::size_t>(i)].push_back(ms_since(t0));
                    if (g.answer != fleet::QuotaAnswer::Granted) {
                        ++refused;  // reported below; the server must still be stopped
                        return;
                    }
                }
            });
        }
        while (ready < kSlots) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const auto t0 = Clock::now();
        go = true;
        for (auto& t : slots) t.join();
        const double total = ms_since(t0);
        if (refused > 0) {
            std::fprintf(stderr, "%d slots were refused a reservation\n", refused.load());
            return 1;
        }
        std::vector<double> all;
        for (const auto& v : per_slot) all.insert(all.end(), v.begin(), v.end());
        std::printf(
            "reserve: %zu reservations by %d slots at once on one account: p50 %.2f ms, p99 "
            "%.2f ms, %.0f reservations/s\n",
            all.size(), kSlots, percentile(all, 0.5), percentile(all, 0.99),
            all.size() / (total / 1000));
    }

    {
        fleet::PgConnection c(
            pg.url(), {std::chrono::milliseconds(5000), std::chrono::milliseconds(600'000)});
        fleet::ensure_fleet_schema(c);
        // The drain's results are not part of it.
        c.exec_script("TRUNCATE fleet_results, fleet_station_units");
        const auto t0 = Clock::now();
        // Rows shaped as a station's forwarder writes them, a small payload each.
        c.exec(
            "INSERT INTO fleet_results(result_id, station_id, unit_id, serial, product_id, slot, "
            "attempt, started_ms, ended_ms, verdict, reason, payload) "
            "SELECT 'st-' || (g % 50) || '/' || g, 'st-' || (g % 50), g, 'SN' || g, "
            "'tuya-ipc-camera', 'A' || (g % 16 + 1), 1, 1800000000000 + g * 1000, "
            "1800000000000 + g * 1000 + 90000, CASE WHEN g % 10 = 0 THEN 'FAIL' ELSE 'PASS' END, "
            "CASE WHEN g % 10 = 0 THEN 'never_ready' END, '{\"verdict\":\"PASS\"}'::jsonb "
            "FROM generate_series(1, $1::bigint) g",
            {std::to_string(units)});
        // The per-station counts the deliveries keep as they insert (fleet_sink.cpp).
        c.exec_script(
            "INSERT INTO fleet_station_units SELECT station_id, count(*) FROM fleet_results "
            "GROUP BY 1; ANALYZE fleet_results");
        std::printf("summary: loaded %ld units from 50 stations in %.0f ms\n", units, ms_since(t0));
        std::vector<double> times;
        for (long i = 0; i < rounds; ++i) {
            const auto t1 = Clock::now();
            const auto s = fleet::read_fleet_status(c);
            times.push_back(ms_since(t1));
            if (s.units != units) {
                std::fprintf(stderr, "summary counted %lld units, not %ld\n",
                             static_cast<long long>(s.units), units);
                return 1;
            }
        }
        std::printf("summary: fleet status over %ld units, %ld rounds: p50 %.1f ms, p99 %.1f ms\n",
                    units, rounds, percentile(times, 0.5), percentile(times, 0.99));
        // The supervisor's throughput by station over the last day of those units (one
        // unit a second across the fleet: 86,400 in the day).
        const std::int64_t last_ms = 1'800'000'000'000 + units * 1000 + 90'000;
        fleet::FleetFilter f{{"day", last_ms - 86'400'000, last_ms + 1, {}}, std::nullopt};
        times.clear();
        for (long i = 0; i < rounds; ++i) {
            const auto t1 = Clock::now();
            fleet::fleet_throughput(c, f, "station");
            fleet::fleet_pareto(c, f);
            times.push_back(ms_since(t1));
        }
        std::printf(
            "summary: a day's throughput by station + Pareto, %ld rounds: p50 %.1f ms, "
            "p99 %.1f ms\n",
            rounds, percentile(times, 0.5), percentile(times, 0.99));
    }
    return 0;
}
