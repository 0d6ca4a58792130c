// The CFX sink against a real AMQP 1.0 peer (tests/mes/amqp_receiver.py on Qpid Proton's
// Python binding): one UnitsTested per result, framed as the CFX SDK frames it; a result
// counts only once the peer accepted its transfer, so a peer that is away, killed
// mid-stream or releasing transfers loses nothing; a rejected message is parked, not
// retried forever; the outbox keeps a result until every sink took it.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "station/mes/cfx/cfx_sink.hpp"
#include "station/outbox/forwarder.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/mes/amqp_peer.hpp"
#include "tests/mes/cfx_link.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::AmqpPeer;
using linestation::testing::AmqpPeerOptions;
using linestation::testing::commit_results;
using linestation::testing::ReceivedMessage;
using linestation::testing::spoil_result;
using linestation::testing::TempDir;

namespace {

outbox::ForwarderOptions quick() {
    outbox::ForwarderOptions o;
    o.idle_poll = 20ms;
    o.backoff_min = 20ms;
    o.backoff_max = 300ms;
    return o;
}

mes::CfxSettings settings_for(const AmqpPeer& peer) {
    return linestation::testing::cfx_link(peer, "/queue/line-3", "LineStation.RMA.st-1");
}

std::string serial_of(const ReceivedMessage& m) {
    auto envelope = Poco::JSON::Parser().parse(m.body).extract<Poco::JSON::Object::Ptr>();
    return envelope->getObject("MessageBody")
        ->getArray("TestedUnits")
        ->getObject(0)
        ->getValue<std::string>("UnitIdentifier");
}

// Serial -> the UniqueIDs it arrived under.
std::map<std::string, std::set<std::string>> by_serial(const std::vector<ReceivedMessage>& all) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& m : all) out[serial_of(m)].insert(m.message_id);
    return out;
}

std::set<std::string> serials(const std::string& prefix, int n) {
    std::set<std::string> out;
    for (int i = 0; i < n; ++i) out.insert(prefix + "-" + std::to_string(i));
    return out;
}

std::set<std::string> keys_of(const std::map<std::string, std::set<std::string>>& m) {
    std::set<std::string> out;
    for (const auto& [k, v] : m) out.insert(k);
    return out;
}

// A sink beside the CFX one, to show the outbox waits for every sink.
class KeepingSink : public outbox::ResultSink {
  public:
    std::string name() const override { return "archive"; }
    void deliver(const std::vector<store::OutboxEntry>& results,
                 const store::OutboxBacklog&) override {
        taken += static_cast<int>(results.size());
    }
    std::atomic<int> taken{0};
};

}  // namespace

TEST(CfxSink, EveryResultArrivesAsOneUnitsTestedFramedAsTheCfxSdkFramesIt) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 50);
    mes::CfxResultSink sink(settings_for(peer), {{"A1", 1}, {"A2", 2}});
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    ASSERT_TRUE(forwarder.drain(30s)) << forwarder.state().last_error;
    EXPECT_EQ(forwarder.state().delivered, 50);

    // At least once: a transfer the peer recorded whose acceptance the sink never saw (the
    // link cut, the deadline passed on a loaded machine) is sent again, under its UniqueID.
    const auto got = peer.received();
    ASSERT_GE(got.size(), 50u);
    std::map<std::string, std::string> body_of;  // UniqueID -> the message's JSON
    for (const auto& m : got) {
        const auto [first, fresh] = body_of.emplace(m.message_id, m.body);
        EXPECT_TRUE(fresh || first->second == m.body)
            << m.message_id << " came twice with different content";
        EXPECT_EQ(m.address, "/queue/line-3");
        // Transport/AmqpUtilities.cs, SetHeaders: subject "<handle>.<MessageName>", the
        // content type, durable, reply-to the handle, the JSON in a data section.
        EXPECT_EQ(m.subject, "LineStation.RMA.st-1.CFX.Production.TestAndInspection.UnitsTested");
        EXPECT_EQ(m.content_type, "application/json; charset=\"utf-8\"");
        EXPECT_TRUE(m.durable);
        EXPECT_EQ(m.reply_to, "LineStation.RMA.st-1");
        EXPECT_EQ(m.section, "data");
        EXPECT_EQ(m.cfx_message, "CFX.Production.TestAndInspection.UnitsTested");
        auto envelope = Poco::JSON::Parser().parse(m.body).extract<Poco::JSON::Object::Ptr>();
        EXPECT_EQ(envelope->getValue<std::string>("UniqueID"), m.message_id);
    }
    EXPECT_EQ(body_of.size(), 50u);
    const auto units = by_serial(got);
    EXPECT_EQ(keys_of(units), serials("SN", 50));
    for (const auto& [serial, unique_ids] : units) {
        EXPECT_EQ(unique_ids.size(), 1u) << serial << " came under different UniqueIDs";
    }
    // Sent again only after a failure, never as a matter of course.
    if (got.size() > 50u) {
        EXPECT_GE(forwarder.state().failures, 1);
    }
}

TEST(CfxSink, BrokerAwayThenKilledMidStreamLosesNothingAndDuplicatesKeepTheirUniqueId) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    peer.kill();  // away from the start: the port is kept for its return
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 300, "EARLY");
    mes::CfxResultSink sink(settings_for(peer), {});
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(forwarder.backlog().count, 300);
    EXPECT_FALSE(forwarder.state().last_error.empty());
    EXPECT_FALSE(forwarder.state().sink_reachable);
    // The error is in the store too, where /metrics and /api/health read it.
    EXPECT_NE(s.outbox_backlogs().at("cfx").last_error.find("127.0.0.1"), std::string::npos)
        << s.outbox_backlogs().at("cfx").last_error;

    peer.start();
    ASSERT_TRUE(forwarder.drain(60s)) << forwarder.state().last_error;
    EXPECT_EQ(keys_of(by_serial(peer.received())), serials("EARLY", 300));
    EXPECT_EQ(s.outbox_backlogs().at("cfx").last_error, "");

    // Killed while a stream of results is on its way.
    commit_results(s, "st-1", 3000, "LATE", 1'700'000'100'000);
    forwarder.nudge();
    const auto before = peer.received().size();
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (peer.received().size() < before + 200 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
    }
    peer.kill();
    EXPECT_GT(forwarder.backlog().count, 0) << "the stream ended before the kill";
    std::this_thread::sleep_for(700ms);
    peer.start();
    ASSERT_TRUE(forwarder.drain(120s)) << forwarder.state().last_error;

    const auto got = by_serial(peer.received());
    auto want = serials("EARLY", 300);
    want.merge(serials("LATE", 3000));
    EXPECT_EQ(keys_of(got), want);
    for (const auto& [serial, unique_ids] : got) {
        EXPECT_EQ(unique_ids.size(), 1u) << serial << " came under different UniqueIDs";
    }
}

// A broker that stalls for seconds (its disk, a loaded machine) and then settles what it
// took keeps its link: the sink waits up to its deadline, heartbeats included, rather than
// cut the link and send the whole batch again (the peer had recorded them: duplicates).
TEST(CfxSink, ABrokerSilentForLessThanTheDeadlineGetsNothingTwice) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 400);
    mes::CfxResultSink sink(settings_for(peer), {});  // the default deadline, 10 s
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (peer.received().size() < 20 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_EQ(::kill(peer.pid(), SIGSTOP), 0);
    const auto before = peer.received().size();
    std::this_thread::sleep_for(6500ms);  // longer than the 5 s heartbeat it used to have
    ASSERT_EQ(::kill(peer.pid(), SIGCONT), 0);
    ASSERT_LT(before, 400u) << "the batch was through before the stall: nothing tested";
    ASSERT_TRUE(forwarder.drain(60s)) << forwarder.state().last_error;
    EXPECT_EQ(peer.received().size(), 400u);
    EXPECT_EQ(forwarder.state().failures, 0) << forwarder.state().last_error;
    EXPECT_EQ(keys_of(by_serial(peer.received())), serials("SN", 400));
}

TEST(CfxSink, ReleasedTransfersAreSentAgainUntilAccepted) {
    TempDir dir;
    AmqpPeerOptions options;
    options.release_first = 7;
    AmqpPeer peer(dir / "received.jsonl", options);
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 20);
    mes::CfxResultSink sink(settings_for(peer), {});
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    ASSERT_TRUE(forwarder.drain(30s)) << forwarder.state().last_error;
    EXPECT_EQ(keys_of(by_serial(peer.received())), serials("SN", 20));
    EXPECT_GE(forwarder.state().failures, 1);
}

TEST(CfxSink, ARejectedMessageIsParkedWithItsReasonAndNotRetried) {
    TempDir dir;
    AmqpPeerOptions options;
    options.reject_containing = "\"SN-3\"";
    AmqpPeer peer(dir / "received.jsonl", options);
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 10);
    mes::CfxResultSink sink(settings_for(peer), {});
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    ASSERT_TRUE(forwarder.drain(30s)) << forwarder.state().last_error;
    std::this_thread::sleep_for(300ms);
    auto want = serials("SN", 10);
    want.erase("SN-3");
    EXPECT_EQ(keys_of(by_serial(peer.received())), want);
    // Parked in the store with the broker's refusal, and counted on the sink's backlog.
    const auto parked = s.outbox_parked("cfx");
    ASSERT_EQ(parked.size(), 1u);
    EXPECT_EQ(s.outbox_backlogs().at("cfx").parked, 1);
    EXPECT_NE(parked[0].reason.find("rejected"), std::string::npos) << parked[0].reason;
    // The broker's own condition, name and description (amqp_receiver.py's rejection).
    EXPECT_NE(parked[0].reason.find("amqp:decode-error: malformed UnitsTested"), std::string::npos)
        << parked[0].reason;
    const auto units = s.units_by_serial("SN-3");
    ASSERT_EQ(units.size(), 1u);
    EXPECT_EQ(parked[0].result_id.rfind("st-1/" + std::to_string(units[0].id) + "/", 0), 0u)
        << parked[0].result_id;
}

TEST(CfxSink, AResultItCannotReadIsParkedWithItsReasonAndTheNextStillGoOut) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 10);
    spoil_result(dir / "s.db", "SN-4", "{\"verdict\": \"PASS\", \"slot\":");
    mes::CfxResultSink sink(settings_for(peer), {});
    outbox::Forwarder forwarder(dir / "s.db", sink, quick());
    ASSERT_TRUE(forwarder.drain(30s)) << forwarder.state().last_error;
    commit_results(s, "st-1", 5, "NEXT", 1'700'000'100'000);
    forwarder.nudge();
    ASSERT_TRUE(forwarder.drain(30s)) << forwarder.state().last_error;

    auto want = serials("SN", 10);
    want.erase("SN-4");
    want.merge(serials("NEXT", 5));
    EXPECT_EQ(keys_of(by_serial(peer.received())), want);
    EXPECT_EQ(peer.received().size(), 14u);
    const auto parked = s.outbox_parked("cfx");
    ASSERT_EQ(parked.size(), 1u);
    const auto units = s.units_by_serial("SN-4");
    ASSERT_EQ(units.size(), 1u);
    EXPECT_EQ(parked[0].unit_id, units[0].id);
    EXPECT_NE(parked[0].reason.find("payload is not a JSON object"), std::string::npos)
        << parked[0].reason;
    EXPECT_NE(parked[0].reason.find(parked[0].result_id), std::string::npos) << parked[0].reason;
    EXPECT_EQ(s.outbox_backlogs().at("cfx").parked, 1);
    EXPECT_EQ(forwarder.backlog().count, 0);
}

TEST(CfxSink, AResultLeavesTheOutboxOnlyOnceEverySinkTookIt) {
    TempDir dir;
    AmqpPeer peer(dir / "received.jsonl");
    peer.kill();
    store::Store s(dir / "s.db");
    // Both cursors exist before either forwarder runs, as the station registers them.
    s.acknowledge_outbox("archive", 0);
    s.acknowledge_outbox("cfx", 0);
    commit_results(s, "st-1", 20);
    KeepingSink archive;
    mes::CfxResultSink cfx(settings_for(peer), {});
    outbox::Forwarder archive_forwarder(dir / "s.db", archive, quick());
    outbox::Forwarder cfx_forwarder(dir / "s.db", cfx, quick());
    ASSERT_TRUE(archive_forwarder.drain(10s));
    EXPECT_EQ(archive.taken, 20);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(s.outbox_pending("cfx", 100).size(), 20u) << "the outbox let go of results";

    peer.start();
    ASSERT_TRUE(cfx_forwarder.drain(30s)) << cfx_forwarder.state().last_error;
    EXPECT_EQ(peer.received().size(), 20u);
    // Taken by both: pruned (a sink starting now finds nothing left).
    EXPECT_EQ(s.outbox_pending("a-sink-added-later", 100).size(), 0u);
}

TEST(CfxSink, AHalfOpenLinkIsGivenUpAtTheDeadlineAndNothingCounts) {
    // A peer that takes the TCP connection and never says a word (a frozen broker).
    Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
    std::atomic<bool> done{false};
    std::thread holder([&] {
        std::vector<Poco::Net::StreamSocket> held;
        while (!done) {
            if (silent.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ)) {
                held.push_back(silent.acceptConnection());
            }
        }
    });
    TempDir dir;
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 5);
    mes::CfxSinkOptions options;
    options.deadline = 500ms;
    mes::CfxResultSink sink(linestation::testing::cfx_link(silent.address().port(), "q", "h"), {},
                            options);
    const auto started = std::chrono::steady_clock::now();
    try {
        sink.deliver(s.outbox_pending("cfx", 10), {});
        ADD_FAILURE() << "a silent peer took the results";
    } catch (const outbox::PartialDelivery& e) {
        EXPECT_EQ(e.taken(), 0u);
        EXPECT_NE(std::string(e.what()).find("no settlement"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    done = true;
    holder.join();
}
