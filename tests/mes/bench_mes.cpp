// Figures for the CFX sink on this machine, against the Qpid Proton receiver of the tests
// (which fsyncs each message before it accepts it):
//   messages per second (UnitsTested, each settled accepted) with the broker up;
//   drain time for N results queued while the broker was away.
// usage: bench_mes [--results N]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "station/mes/cfx/cfx_sink.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/mes/amqp_peer.hpp"
#include "tests/mes/cfx_link.hpp"

using namespace linestation;
using Clock = std::chrono::steady_clock;

namespace {

long arg(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return std::stol(argv[i + 1]);
    }
    return fallback;
}

mes::CfxSettings settings_for(const testing::AmqpPeer& peer) {
    return testing::cfx_link(peer, "/queue/mes", "LineStation.bench");
}

double drain_s(outbox::Forwarder& forwarder) {
    const auto t0 = Clock::now();
    if (!forwarder.drain(std::chrono::minutes(30))) return -1;
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    const int n = static_cast<int>(arg(argc, argv, "--results", 10'000));
    {
        // Broker up: the forwarder takes them as they come.
        testing::TempDir dir;
        testing::AmqpPeer peer(dir / "received.jsonl");
        store::Store s(dir / "s.db");
        mes::CfxResultSink sink(settings_for(peer), {});
        outbox::Forwarder forwarder(dir / "s.db", sink);
        // A failed delivery's error is cleared by the next good one: watch for it.
        std::atomic<bool> done{false};
        std::string seen_error;
        std::thread watch([&] {
            while (!done) {
                auto e = forwarder.state().last_error;
                if (!e.empty() && seen_error.empty()) seen_error = e;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
        testing::commit_results(s, "bench", n);
        forwarder.nudge();
        const double t = drain_s(forwarder);
        done = true;
        watch.join();
        std::printf(
            "cfx, broker up: %d UnitsTested in %.2f s = %.0f messages/s (received %zu, "
            "failed deliveries %lld: %s)\n",
            n, t, n / t, peer.received().size(), static_cast<long long>(forwarder.state().failures),
            seen_error.c_str());
    }
    {
        // An outage: everything waits in the outbox, then the broker comes back.
        testing::TempDir dir;
        testing::AmqpPeer peer(dir / "received.jsonl");
        peer.kill();
        store::Store s(dir / "s.db");
        testing::commit_results(s, "bench", n);
        mes::CfxResultSink sink(settings_for(peer), {});
        outbox::ForwarderOptions o;
        o.backoff_max = std::chrono::milliseconds(500);
        outbox::Forwarder forwarder(dir / "s.db", sink, o);
        std::this_thread::sleep_for(std::chrono::seconds(2));
        std::printf("cfx, broker away 2 s: backlog %lld, last error: %s\n",
                    static_cast<long long>(forwarder.backlog().count),
                    forwarder.state().last_error.c_str());
        peer.start();
        const double t = drain_s(forwarder);
        std::printf("cfx, after the outage: %d results drained in %.2f s (received %zu)\n", n, t,
                    peer.received().size());
    }
}
