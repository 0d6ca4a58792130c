// fleet_test_database: a real PostgreSQL holding the results of two stations, for the
// browser test of the fleet's page (tests/browser/fleet.test.mjs). It starts its own server
// (tests/fleet/pg_server.hpp), forwards the results through each station's own outbox
// and forwarder, reserves today's quota as a station does, prints
// "fleet database postgresql://..." and keeps the server until SIGTERM or SIGINT.
//
// The results, ended in the last hours (the "day" and "shift" periods) unless said:
//   st-north: 24 attempts of cam-a and plug-b; never_ready, wifi_rejected and an
//             INCONCLUSIVE cloud_unavailable; cycle times of 40-130 s; RT-7 FAILs here.
//   st-south: 14 attempts of cam-a; cloud_refused and never_ready; RT-7 passes here (its
//             retest); and 5 more ended 3 days ago (in the "week" period only).
#include <signal.h>

#include <chrono>
#include <iostream>

#include "station/fleet/central_quota.hpp"
#include "station/fleet/fleet_sink.hpp"
#include "station/outbox/forwarder.hpp"
#include "station/reports/supervisor.hpp"
#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/pg_server.hpp"

using namespace linestation;

namespace {

struct Attempt {
    std::string serial;
    std::string product;
    std::string verdict;
    std::string reason;
    int cycle_s = 60;
    std::int64_t ago_ms = 0;  // ended this long before now
};

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void forward(const std::filesystem::path& db, const std::string& station,
             const std::vector<Attempt>& attempts, const std::string& url) {
    {
        store::Store s(db);
        const auto now = now_ms();
        int i = 0;
        for (const auto& a : attempts) {
            store::UnitRecord u;
            u.station_id = station;
            u.slot = "A" + std::to_string(i++ % 8 + 1);
            u.serial = a.serial;
            u.product_id = a.product;
            u.started_ms = now - a.ago_ms - a.cycle_s * 1000;
            const auto id = s.begin_unit(u);
            s.finish_unit(id, a.verdict, a.reason, "{}", now - a.ago_ms);
        }
    }
    fleet::FleetResultSink sink({url, station, {}});
    outbox::Forwarder forwarder(db, sink);
    if (!forwarder.drain(std::chrono::seconds(30))) {
        throw std::runtime_error(station + ": forwarding failed: " + forwarder.state().last_error);
    }
}

std::vector<Attempt> north() {
    std::vector<Attempt> a;
    for (int i = 0; i < 23; ++i) {
        const bool plug = i % 3 == 2;
        Attempt t{"N-" + std::to_string(i), plug ? "plug-b" : "cam-a", "PASS", "",
                  40 + (i * 17) % 91,       (i + 1) * 60'000};
        if (i == 4 || i == 9 || i == 14) t.verdict = "FAIL", t.reason = "never_ready";
        if (i == 5 || i == 11) t.verdict = "FAIL", t.reason = "wifi_rejected";
        if (i == 20) t.verdict = "INCONCLUSIVE", t.reason = "cloud_unavailable";
        a.push_back(t);
    }
    a.push_back({"RT-7", "cam-a", "FAIL", "never_ready", 75, 50 * 60'000});
    return a;
}

std::vector<Attempt> south() {
    std::vector<Attempt> a;
    for (int i = 0; i < 13; ++i) {
        Attempt t{"S-" + std::to_string(i), "cam-a",         "PASS", "",
                  55 + (i * 23) % 60,       (i + 1) * 90'000};
        if (i == 3 || i == 8) t.verdict = "FAIL", t.reason = "cloud_refused";
        if (i == 6) t.verdict = "FAIL", t.reason = "never_ready";
        a.push_back(t);
    }
    a.push_back({"RT-7", "cam-a", "PASS", "", 65, 20 * 60'000});  // its retest
    for (int i = 0; i < 5; ++i) {
        a.push_back({"OLD-" + std::to_string(i), "plug-b", i == 0 ? "FAIL" : "PASS",
                     i == 0 ? "wifi_rejected" : "", 70, 3LL * 24 * 3'600'000 + i * 60'000});
    }
    return a;
}

}  // namespace

int main() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    try {
        testing::PgServer pg;
        testing::TempDir dir;
        const auto url = pg.url();
        forward(dir / "north.db", "st-north", north(), url);
        forward(dir / "south.db", "st-south", south(), url);
        // Today's quota as the stations reserved it: 3 units of uid-shared's cam-a.
        fleet::CentralQuota quota({url, "st-north", {}});
        const auto today = reports::utc_day(now_ms());
        for (int i = 0; i < 3; ++i) {
            if (quota.reserve({"uid-shared", "cam-a", today, 100, 150}).answer !=
                fleet::QuotaAnswer::Granted) {
                throw std::runtime_error("the quota was not granted");
            }
        }
        std::cout << "fleet database " << url << std::endl;
        int signal = 0;
        sigwait(&stop_signals, &signal);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "fleet_test_database: " << e.what() << "\n";
        return 1;
    }
}
