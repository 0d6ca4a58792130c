// Figures for the CFX sink on this machine (not a test):
//   messages per second (UnitsTested, each settled accepted) with the broker up;
//   drain time for N results queued while the broker was away.
// Against the Qpid Proton receiver of the tests (which fsyncs each message before it
// accepts it), or with --broker rabbitmq against RabbitMQ 3.10 with its AMQP 1.0 plugin (a
// node of its own on loopback, tests/mes/rabbitmq_broker.*; its queue is durable, the
// messages persistent), where the consumer then counts what the queue holds.
// usage: bench_mes [--results N] [--broker receiver|rabbitmq]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include "station/mes/cfx/cfx_sink.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/mes/amqp_peer.hpp"
#include "tests/mes/cfx_link.hpp"
#include "tests/mes/rabbitmq_broker.hpp"

using namespace linestation;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kAddress = "/queue/mes";

std::string arg(int argc, char** argv, const char* name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return fallback;
}

double drain_s(outbox::Forwarder& forwarder) {
    const auto t0 = Clock::now();
    if (!forwarder.drain(std::chrono::minutes(30))) return -1;
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The test receiver: what it recorded.
struct Receiver {
    testing::AmqpPeer peer;
    explicit Receiver(const testing::TempDir& dir) : peer(dir / "received.jsonl") {}
    int port() const { return peer.port(); }
    void kill() { peer.kill(); }
    void start() { peer.start(); }
    std::string received(const testing::TempDir&) const {
        return std::to_string(peer.received().size()) + " received";
    }
};

// RabbitMQ: what its queue holds, taken by the tests' consumer (distinct UniqueIDs).
struct RabbitMq {
    testing::RabbitMqBroker broker;
    explicit RabbitMq(const testing::TempDir&) {}
    int port() const { return broker.port(); }
    void kill() { broker.kill(); }
    void start() { broker.start(); }
    std::string received(const testing::TempDir& dir) const {
        const auto record = dir / "consumed.jsonl";
        testing::run_process({"/usr/bin/python3",
                              std::string(LS_SOURCE_DIR) + "/tests/mes/amqp_consumer.py", "--url",
                              broker.url(), "--address", kAddress, "--record", record.string(),
                              "--idle", "3"});
        std::set<std::string> ids;
        const auto consumed = testing::read_received(record);
        for (const auto& m : consumed) ids.insert(m.message_id);
        return std::to_string(consumed.size()) + " consumed from the queue, " +
               std::to_string(ids.size()) + " distinct UniqueIDs";
    }
};

template <class Broker>
void run(const char* name, int n) {
    {
        // Broker up: the forwarder takes them as they come.
        testing::TempDir dir;
        Broker broker(dir);
        store::Store s(dir / "s.db");
        mes::CfxResultSink sink(testing::cfx_link(broker.port(), kAddress, "LineStation.bench"),
                                {});
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
            "cfx to %s, broker up: %d UnitsTested in %.2f s = %.0f messages/s (%s, "
            "failed deliveries %lld: %s)\n",
            name, n, t, n / t, broker.received(dir).c_str(),
            static_cast<long long>(forwarder.state().failures), seen_error.c_str());
    }
    {
        // An outage: everything waits in the outbox, then the broker comes back.
        testing::TempDir dir;
        Broker broker(dir);
        broker.kill();
        store::Store s(dir / "s.db");
        testing::commit_results(s, "bench", n);
        mes::CfxResultSink sink(testing::cfx_link(broker.port(), kAddress, "LineStation.bench"),
                                {});
        outbox::ForwarderOptions o;
        o.backoff_max = std::chrono::milliseconds(500);
        outbox::Forwarder forwarder(dir / "s.db", sink, o);
        std::this_thread::sleep_for(std::chrono::seconds(2));
        std::printf("cfx to %s, broker away 2 s: backlog %lld, last error: %s\n", name,
                    static_cast<long long>(forwarder.backlog().count),
                    forwarder.state().last_error.c_str());
        broker.start();
        const double t = drain_s(forwarder);
        std::printf(
            "cfx to %s, after the outage: %d results drained in %.2f s from the "
            "broker's return (%s)\n",
            name, n, t, broker.received(dir).c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int n = std::stoi(arg(argc, argv, "--results", "10000"));
    const auto broker = arg(argc, argv, "--broker", "receiver");
    if (broker == "receiver") {
        run<Receiver>("the test receiver", n);
    } else if (broker == "rabbitmq") {
        run<RabbitMq>("RabbitMQ", n);
    } else {
        std::fprintf(stderr, "bench_mes: --broker %s: expected receiver or rabbitmq\n",
                     broker.c_str());
        return 2;
    }
}
