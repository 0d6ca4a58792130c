// Figures for the Sparkplug sink (not a test): the drain of N results (10,000 by default)
// that waited out an outage of the broker, from the broker's restart to the outbox being
// empty, and the messages per second that makes; a mosquitto_sub counts the DDATA that
// reached a subscriber. `bench_sparkplug [N]`.
#include <chrono>
#include <iostream>
#include <thread>

#include "station/mes/sparkplug/sparkplug_sink.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/mes/mosquitto_broker.hpp"

using namespace linestation;
using namespace std::chrono_literals;

namespace {
// The Primary Host's STATE, retained: the sink's births wait for it, so the subscriber can
// be in place before the first DDATA after the outage.
bool host_online(const testing::MosquittoBroker& broker) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto r = testing::run_process(
        {"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-t",
         "spBv1.0/STATE/scada", "-r", "-q", "1", "-m",
         "{\"online\":true,\"timestamp\":" + std::to_string(now) + "}"});
    if (r.exit_code != 0) {
        // 127: not installed (package mosquitto-clients, scripts/packages.txt).
        std::cerr << "bench_sparkplug: /usr/bin/mosquitto_pub exited " << r.exit_code << ": "
                  << r.err << "\n";
    }
    return r.exit_code == 0;
}
}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::stoi(argv[1]) : 10'000;
    testing::MosquittoBroker broker;
    testing::TempDir dir;
    store::Store s(dir / "s.db");
    mes::sparkplug::SparkplugSettings settings;
    settings.url = broker.url();
    settings.group_id = "bench";
    settings.edge_node_id = "st-1";
    settings.primary_host = "scada";
    if (!host_online(broker)) return 1;
    mes::sparkplug::SparkplugOptions options;
    for (int i = 1; i <= 16; ++i) options.slots.push_back("A" + std::to_string(i));
    options.reconnect_max = 200ms;
    mes::sparkplug::StationSparkplug edge(settings, dir / "s.db", options);
    if (!edge.sink().wait_for_session(30s)) {
        std::cerr << "bench_sparkplug: no session: " << edge.sink().state().last_error << "\n";
        return 1;
    }

    broker.stop();
    testing::commit_results(s, "st-1", n, "OUT");
    const auto restarted = std::chrono::steady_clock::now();
    broker.start();
    std::chrono::steady_clock::time_point received{};
    int subscriber_exit = -1;
    std::thread subscriber([&] {
        subscriber_exit =
            testing::run_process({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p",
                                  std::to_string(broker.port()), "-t", "spBv1.0/bench/DDATA/#",
                                  "-C", std::to_string(n), "-F", "%t", "-W", "120"})
                .exit_code;
        received = std::chrono::steady_clock::now();
    });
    std::this_thread::sleep_for(500ms);  // the subscriber connects
    const auto host_back = std::chrono::steady_clock::now();
    if (!host_online(broker)) {
        subscriber.join();
        return 1;
    }
    if (!edge.forwarder().drain(300s)) {
        std::cerr << "not drained: " << edge.forwarder().state().last_error << "\n";
        subscriber.join();
        return 1;
    }
    const auto drained = std::chrono::steady_clock::now();
    subscriber.join();
    if (subscriber_exit != 0) {
        // mosquitto_sub -C N -W 120: it exits 0 only once it saw all N DDATA.
        std::cerr << "bench_sparkplug: the subscriber did not see " << n
                  << " DDATA (mosquitto_sub exited " << subscriber_exit << ")\n";
        return 1;
    }
    const double drain_s = std::chrono::duration<double>(drained - host_back).count();
    const double received_s = std::chrono::duration<double>(received - host_back).count();
    // Timed from the host's STATE online (the broker was back 0.5 s before): from then on
    // the outbox drains as fast as the sink publishes.
    std::cout << "{\"results\":" << n << ",\"drain_s\":" << drain_s
              << ",\"ddata_per_s\":" << n / drain_s << ",\"subscriber_all_s\":" << received_s
              << ",\"broker_restart_to_drained_s\":"
              << std::chrono::duration<double>(drained - restarted).count()
              << ",\"connects\":" << edge.sink().state().connects << "}" << std::endl;
    return 0;
}
