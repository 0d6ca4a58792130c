// The Sparkplug B sink against a real mosquitto, checked by a host (sparkplug_host.py) that
// decodes every payload with Python's protobuf runtime: births before data, a DDATA per
// verdict, the Will when the station is killed, is_historical on what waited out an outage,
// the Primary Host's STATE, Rebirth; the payloads against the specification's examples.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "station/config/station_config.hpp"
#include "station/mes/sparkplug/sparkplug_payload.hpp"
#include "station/mes/sparkplug/sparkplug_sink.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/fleet/fleet_results.hpp"
#include "tests/fleet/pg_server.hpp"
#include "tests/mes/mosquitto_broker.hpp"

using namespace linestation;
using namespace std::chrono_literals;
using linestation::testing::ChildProcess;
using linestation::testing::commit_results;
using linestation::testing::MosquittoBroker;
using linestation::testing::spoil_result;
using linestation::testing::TempDir;
using Poco::JSON::Object;

namespace {

const std::string kHostScript = std::string(LS_SOURCE_DIR) + "/tests/mes/sparkplug_host.py";

// The host's view of one message.
struct Seen {
    Object::Ptr json;
    std::string topic() const { return json->getValue<std::string>("topic"); }
    // spBv1.0/group/VERB/node[/device]
    std::string verb() const {
        const auto t = topic();
        const auto a = t.find('/', t.find('/') + 1) + 1;
        return t.substr(a, t.find('/', a) - a);
    }
    std::string device() const {
        const auto t = topic();
        std::size_t slashes = 0, at = 0;
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (t[i] == '/' && ++slashes == 4) at = i + 1;
        }
        return slashes >= 4 ? t.substr(at) : "";
    }
    Object::Ptr payload() const { return json->getObject("payload"); }
    bool has_seq() const { return payload()->has("seq"); }
    int seq() const { return payload()->getValue<int>("seq"); }
    Object::Ptr metric(const std::string& name) const {
        const auto metrics = payload()->getArray("metrics");
        for (std::size_t i = 0; i < metrics->size(); ++i) {
            auto m = metrics->getObject(static_cast<unsigned>(i));
            if (m->getValue<std::string>("name") == name) return m;
        }
        return nullptr;
    }
    std::string text(const std::string& name) const {
        auto m = metric(name);
        return m && m->has("value") ? m->getValue<std::string>("value") : "<none>";
    }
};

// The host process: one JSON line per message it receives on spBv1.0/#.
class Host {
  public:
    explicit Host(int port, const std::string& primary_host = "")
        : process_(args(port, primary_host)) {
        if (process_.wait_for_line("ready", 20).empty()) {
            throw std::runtime_error("the test host did not subscribe");
        }
    }
    // Reads messages until one matches; false after `timeout` without one.
    bool wait_for(const std::function<bool(const Seen&)>& match, double timeout_s = 15) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        for (;;) {
            const auto left =
                std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) return false;
            const auto line = process_.wait_for_line("\"topic\"", left);
            if (line.empty()) return false;
            Poco::JSON::Parser parser;
            seen.push_back({parser.parse(line).extract<Object::Ptr>()});
            if (seen.back().json->has("undecodable")) {
                ADD_FAILURE() << "undecodable payload: " << line;
            }
            if (match(seen.back())) return true;
        }
    }
    bool wait_for_verb(const std::string& verb, double timeout_s = 15) {
        return wait_for([&](const Seen& s) { return s.verb() == verb; }, timeout_s);
    }
    // Messages of one verb among those read so far.
    std::vector<Seen> of(const std::string& verb) const {
        std::vector<Seen> out;
        for (const auto& s : seen) {
            if (s.verb() == verb) out.push_back(s);
        }
        return out;
    }
    std::vector<Seen> seen;

  private:
    static std::vector<std::string> args(int port, const std::string& primary_host) {
        std::vector<std::string> a{"/usr/bin/python3", kHostScript, "listen", "--port",
                                   std::to_string(port)};
        if (!primary_host.empty()) {
            a.push_back("--primary-host");
            a.push_back(primary_host);
        }
        return a;
    }
    ChildProcess process_;
};

void host_command(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3", kHostScript};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = linestation::testing::run_process(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::int64_t epoch_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

mes::sparkplug::SparkplugSettings settings_for(const MosquittoBroker& broker,
                                               const std::string& primary_host = "") {
    mes::sparkplug::SparkplugSettings s;
    s.url = broker.url();
    s.group_id = "Line 3";
    s.edge_node_id = "st-1";
    s.primary_host = primary_host;
    return s;
}

mes::sparkplug::SparkplugOptions quick(std::vector<std::string> slots = {"A1", "A2", "A3", "A4"}) {
    mes::sparkplug::SparkplugOptions o;
    o.slots = std::move(slots);
    o.session_wait = 500ms;
    o.reconnect_min = 100ms;
    o.reconnect_max = 500ms;
    return o;
}

std::int64_t bd_seq_of(const Seen& s) {
    auto m = s.metric("bdSeq");
    return m ? m->getValue<std::int64_t>("value") : -1;
}

// Verdicts committed now, so their time is the session's (commit_results's default base
// time is long past: what it commits is historical to any session).
void commit_now(store::Store& s, int n, const std::string& prefix) {
    commit_results(s, "st-1", n, prefix, epoch_ms());
}

std::size_t count_ddata(const Host& host) {
    return host.of("DDATA").size();
}

}  // namespace

// --- config ---

namespace {
config::StationConfig parse_config(const std::string& sparkplug) {
    return config::parse_station_config(
        config::JsonNode::parse(
            R"({"station": {"id": "st-3"}, "mes": {"sparkplug": )" + sparkplug + "}}",
            "station.json"),
        "");
}
std::string config_error(const std::string& sparkplug) {
    try {
        parse_config(sparkplug);
    } catch (const config::ConfigError& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(SparkplugConfig, ReadsTheContractsFields) {
    const auto c = parse_config(
        R"({"url": "tcp://broker.plant:1883", "group_id": "Line 3", "edge_node_id": "st-3",
            "primary_host": "scada"})");
    ASSERT_TRUE(c.mes && c.mes->sparkplug);
    EXPECT_EQ(c.mes->sparkplug->url, "tcp://broker.plant:1883");
    EXPECT_EQ(c.mes->sparkplug->group_id, "Line 3");
    EXPECT_EQ(c.mes->sparkplug->edge_node_id, "st-3");
    EXPECT_EQ(c.mes->sparkplug->primary_host, "scada");
    EXPECT_FALSE(parse_config(R"({"url": "tcp://h:1", "group_id": "g", "edge_node_id": "n"})")
                     .mes->sparkplug->primary_host.size());
}

TEST(SparkplugConfig, BadValuesNameTheFileFieldValueAndWhatWasExpected) {
    const auto url =
        config_error(R"({"url": "amqp://h:5672", "group_id": "g", "edge_node_id": "n"})");
    EXPECT_NE(url.find("station.json"), std::string::npos) << url;
    EXPECT_NE(url.find("$.mes.sparkplug.url"), std::string::npos) << url;
    EXPECT_NE(url.find("amqp://h:5672"), std::string::npos) << url;
    EXPECT_NE(url.find("tcp://HOST:PORT"), std::string::npos) << url;
    EXPECT_NE(config_error(R"({"url": "tcp://h", "group_id": "g", "edge_node_id": "n"})")
                  .find("$.mes.sparkplug.url"),
              std::string::npos);
    const auto secret = config_error(
        R"({"url": "tcp://line:hunter2@h:1883", "group_id": "g", "edge_node_id": "n"})");
    EXPECT_NE(secret.find("$.mes.sparkplug.url"), std::string::npos) << secret;
    EXPECT_EQ(secret.find("hunter2"), std::string::npos) << secret;
    const auto group =
        config_error(R"({"url": "tcp://h:1", "group_id": "line/3", "edge_node_id": "n"})");
    EXPECT_NE(group.find("$.mes.sparkplug.group_id"), std::string::npos) << group;
    EXPECT_NE(group.find("without '/'"), std::string::npos) << group;
    EXPECT_NE(config_error(R"({"url": "tcp://h:1", "group_id": "g"})").find("edge_node_id"),
              std::string::npos);
    EXPECT_NE(config_error(R"({"url": "tcp://h:1", "group_id": "g", "edge_node_id": "n#",
                               "primary_host": "x"})")
                  .find("$.mes.sparkplug.edge_node_id"),
              std::string::npos);
    EXPECT_NE(config_error(R"({"url": "tcp://h:1", "group_id": "g", "edge_node_id": "n",
                               "primary": "x"})")
                  .find("primary"),
              std::string::npos);
}

// --- payloads against the specification's documented examples ---

namespace {
// Decodes payloads with the test host's own decoder (not ours).
std::vector<Object::Ptr> host_decode(const std::vector<std::string>& payloads) {
    std::string input;
    static const char* hex = "0123456789abcdef";
    for (const auto& p : payloads) {
        for (const unsigned char c : p) {
            input += hex[c >> 4];
            input += hex[c & 15];
        }
        input += '\n';
    }
    const auto r =
        linestation::testing::run_process({"/usr/bin/python3", kHostScript, "decode"}, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<Object::Ptr> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1) {
        Poco::JSON::Parser parser;
        out.push_back(parser.parse(r.out.substr(start, nl - start)).extract<Object::Ptr>());
    }
    return out;
}
Object::Ptr metric_at(const Object::Ptr& payload, unsigned i) {
    return payload->getArray("metrics")->getObject(i);
}
}  // namespace

TEST(SparkplugPayload, MatchesTheSpecificationsExamples) {
    namespace sp = mes::sparkplug;
    // Sparkplug 3.0.0, Payloads, DDATA: "Inputs/A" and "Inputs/C", Boolean true, seq 0.
    constexpr std::uint64_t t = 1486144502122;
    sp::Payload ddata{t, 0, {}};
    ddata.metrics.push_back({"Inputs/A", sp::DataType::Boolean, true, t, false, {}});
    ddata.metrics.push_back({"Inputs/C", sp::DataType::Boolean, true, t, false, {}});
    // Payloads, NBIRTH: bdSeq Int64 0 and 'Node Control/Rebirth' Boolean false, seq 0.
    // Payloads, NDEATH: bdSeq only, no seq. (The example names bdSeq's type UInt64; the
    // normative text, tck-id-...-will-message-payload-bdSeq, says INT64, which we follow.)
    const auto decoded = host_decode(
        {sp::encode(ddata), sp::encode(sp::node_birth(0, t)), sp::encode(sp::node_death(0, t))});
    ASSERT_EQ(decoded.size(), 3u);

    const auto& d = decoded[0];
    EXPECT_EQ(d->getValue<std::uint64_t>("timestamp"), t);
    EXPECT_EQ(d->getValue<int>("seq"), 0);
    ASSERT_EQ(d->getArray("metrics")->size(), 2u);
    EXPECT_EQ(metric_at(d, 0)->getValue<std::string>("name"), "Inputs/A");
    EXPECT_EQ(metric_at(d, 1)->getValue<std::string>("name"), "Inputs/C");
    for (unsigned i = 0; i < 2; ++i) {
        EXPECT_EQ(metric_at(d, i)->getValue<int>("datatype"), 11);  // Boolean
        EXPECT_EQ(metric_at(d, i)->getValue<std::uint64_t>("timestamp"), t);
        EXPECT_EQ(metric_at(d, i)->getValue<bool>("value"), true);
        EXPECT_EQ(metric_at(d, i)->getValue<std::string>("value_kind"), "boolean_value");
    }

    const auto& birth = decoded[1];
    EXPECT_EQ(birth->getValue<std::uint64_t>("timestamp"), t);
    EXPECT_EQ(birth->getValue<int>("seq"), 0);
    EXPECT_EQ(metric_at(birth, 0)->getValue<std::string>("name"), "bdSeq");
    EXPECT_EQ(metric_at(birth, 0)->getValue<int>("datatype"), 4);  // Int64
    EXPECT_EQ(metric_at(birth, 0)->getValue<std::string>("value_kind"), "long_value");
    EXPECT_EQ(metric_at(birth, 0)->getValue<int>("value"), 0);
    EXPECT_EQ(metric_at(birth, 1)->getValue<std::string>("name"), "Node Control/Rebirth");
    EXPECT_EQ(metric_at(birth, 1)->getValue<int>("datatype"), 11);
    EXPECT_EQ(metric_at(birth, 1)->getValue<bool>("value"), false);

    const auto& death = decoded[2];
    EXPECT_FALSE(death->has("seq")) << "NDEATH MUST NOT include a sequence number";
    ASSERT_EQ(death->getArray("metrics")->size(), 1u);
    EXPECT_EQ(metric_at(death, 0)->getValue<std::string>("name"), "bdSeq");
    EXPECT_EQ(metric_at(death, 0)->getValue<int>("datatype"), 4);
    EXPECT_EQ(metric_at(death, 0)->getValue<int>("value"), 0);
}

TEST(SparkplugPayload, AVerdictsDdataCarriesVerdictReasonCycleTimeAndSerial) {
    namespace sp = mes::sparkplug;
    store::OutboxEntry e;
    e.result_id = "st-1/7/ab";
    e.created_ms = 1'700'000'060'000;
    e.payload = R"({"slot": "B/2", "serial": "SN-9", "product_id": "p", "verdict": "FAIL",
                    "reason": "never_ready", "started_ms": 1700000000000,
                    "ended_ms": 1700000060500})";
    const auto v = sp::read_verdict(e);
    EXPECT_EQ(sp::device_id(v.slot), "B_2");  // '/' cannot be in a topic level
    const auto d = host_decode({sp::encode(sp::device_data(v, true, 5, 42))});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0]->getValue<int>("seq"), 5);
    std::map<std::string, Object::Ptr> by_name;
    const auto metrics = d[0]->getArray("metrics");
    for (unsigned i = 0; i < metrics->size(); ++i) {
        by_name[metrics->getObject(i)->getValue<std::string>("name")] = metrics->getObject(i);
    }
    EXPECT_EQ(by_name.at("Verdict")->getValue<std::string>("value"), "FAIL");
    EXPECT_EQ(by_name.at("Reason")->getValue<std::string>("value"), "never_ready");
    EXPECT_EQ(by_name.at("Serial")->getValue<std::string>("value"), "SN-9");
    EXPECT_EQ(by_name.at("Result ID")->getValue<std::string>("value"), "st-1/7/ab");
    EXPECT_DOUBLE_EQ(by_name.at("Cycle Time")->getValue<double>("value"), 60.5);
    EXPECT_EQ(by_name.at("Cycle Time")->getValue<int>("datatype"), 10);  // Double
    EXPECT_EQ(by_name.at("Cycle Time")->getObject("properties")->getValue<std::string>("engUnit"),
              "s");
    for (const auto& [name, m] : by_name) {
        EXPECT_TRUE(m->getValue<bool>("is_historical")) << name;
        EXPECT_EQ(m->getValue<std::int64_t>("timestamp"), 1'700'000'060'500) << name;
    }
    e.payload = R"({"serial": "x"})";
    EXPECT_THROW(sp::read_verdict(e), std::runtime_error);
}

// --- against the broker ---

TEST(SparkplugSink, BirthsComeBeforeDataAndEveryVerdictHasItsDdata) {
    MosquittoBroker broker;
    Host host(broker.port());
    TempDir dir;
    store::Store s(dir / "s.db");
    commit_results(s, "st-1", 3, "OLD");  // waited in the outbox before the station started
    mes::sparkplug::StationSparkplug edge(settings_for(broker), dir / "s.db", quick());
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    commit_now(s, 300, "NEW");  // more than 256 messages: seq wraps
    edge.forwarder().nudge();
    ASSERT_TRUE(edge.forwarder().drain(30s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 303; }))
        << count_ddata(host) << " DDATA";

    ASSERT_FALSE(host.seen.empty());
    const auto& nbirth = host.seen.front();
    ASSERT_EQ(nbirth.verb(), "NBIRTH");
    EXPECT_EQ(nbirth.topic(), "spBv1.0/Line 3/NBIRTH/st-1");
    EXPECT_EQ(nbirth.seq(), 0);
    EXPECT_EQ(bd_seq_of(nbirth), 0);
    ASSERT_TRUE(nbirth.metric("Node Control/Rebirth"));
    EXPECT_FALSE(nbirth.metric("Node Control/Rebirth")->getValue<bool>("value"));

    std::set<std::string> born;
    std::set<std::string> serials, result_ids;
    int previous_seq = -1;
    bool wrapped = false;
    for (const auto& m : host.seen) {
        EXPECT_EQ(m.json->getValue<int>("qos"), 0) << m.topic();  // Sparkplug: QoS 0
        EXPECT_FALSE(m.json->getValue<bool>("retain")) << m.topic();
        ASSERT_TRUE(m.has_seq()) << m.topic();
        if (previous_seq >= 0) {
            EXPECT_EQ(m.seq(), (previous_seq + 1) % 256) << m.topic();
            wrapped = wrapped || m.seq() < previous_seq;
        }
        previous_seq = m.seq();
        if (m.verb() == "DBIRTH") {
            born.insert(m.device());
            EXPECT_TRUE(m.metric("Verdict")) << "a DBIRTH names every metric its DDATA carries";
        }
        if (m.verb() != "DDATA") continue;
        EXPECT_TRUE(born.count(m.device())) << "DDATA for " << m.device() << " before its DBIRTH";
        const auto serial = m.text("Serial");
        serials.insert(serial);
        result_ids.insert(m.text("Result ID"));
        const bool old = serial.rfind("OLD-", 0) == 0;
        EXPECT_EQ(m.metric("Verdict")->getValue<bool>("is_historical"), old) << serial;
        const int i = std::stoi(serial.substr(serial.find('-') + 1));
        EXPECT_EQ(m.text("Verdict"), i % 5 == 0 ? "FAIL" : "PASS") << serial;
        EXPECT_EQ(m.text("Reason"), i % 5 == 0 ? "never_ready" : "") << serial;
        EXPECT_EQ(m.device(), "A" + std::to_string(i % 16 + 1)) << serial;
        EXPECT_DOUBLE_EQ(m.metric("Cycle Time")->getValue<double>("value"), 60.0) << serial;
    }
    EXPECT_TRUE(wrapped) << "seq never wrapped from 255 to 0";
    EXPECT_EQ(serials.size(), 303u) << "a DDATA for every verdict, once";
    EXPECT_EQ(result_ids.size(), 303u);
    // A1-A4 are the fixture's slots, born at once; the others before their first verdict.
    for (int i = 1; i <= 16; ++i) EXPECT_TRUE(born.count("A" + std::to_string(i))) << i;
    EXPECT_EQ(host.of("DBIRTH").size(), 16u);
}

TEST(SparkplugSink, AResultItCannotReadIsParkedWithItsReasonAndTheNextStillGoOut) {
    MosquittoBroker broker;
    Host host(broker.port());
    TempDir dir;
    store::Store s(dir / "s.db");
    commit_now(s, 6, "SN");
    spoil_result(dir / "s.db", "SN-2", R"({"serial": "SN-2", "verdict": "PASS"})");  // no slot
    mes::sparkplug::StationSparkplug edge(settings_for(broker), dir / "s.db", quick());
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    commit_now(s, 3, "NEXT");
    edge.forwarder().nudge();
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 8; }))
        << count_ddata(host) << " DDATA";

    std::set<std::string> serials;
    for (const auto& m : host.of("DDATA")) serials.insert(m.text("Serial"));
    EXPECT_EQ(serials, (std::set<std::string>{"SN-0", "SN-1", "SN-3", "SN-4", "SN-5", "NEXT-0",
                                              "NEXT-1", "NEXT-2"}));
    const auto parked = s.outbox_parked("sparkplug");
    ASSERT_EQ(parked.size(), 1u);
    const auto units = s.units_by_serial("SN-2");
    ASSERT_EQ(units.size(), 1u);
    EXPECT_EQ(parked[0].unit_id, units[0].id);
    EXPECT_NE(parked[0].reason.find("is not a station result: no slot"), std::string::npos)
        << parked[0].reason;
    EXPECT_EQ(s.outbox_backlogs().at("sparkplug").parked, 1);
    EXPECT_EQ(edge.forwarder().state().last_error, "");
    // Nothing more arrives: the parked result is not sent again.
    EXPECT_FALSE(host.wait_for([&](const Seen&) { return count_ddata(host) > 8; }, 1.0));
}

TEST(SparkplugSink, TheStationIsAnEdgeNodeWhoseNdeathTheServerSendsWhenItIsKilled) {
    MosquittoBroker broker;
    Host host(broker.port());
    TempDir dir;
    std::ofstream(dir / "station.json")
        << R"({"schema":1,"station":{"id":"st-9"},"store":{"path":"station.db"},)"
        << R"("log":{"file":"station.log"},"mes":{"sparkplug":{"url":")" << broker.url()
        << R"(","group_id":"Line 3","edge_node_id":"st-9","keepalive_s":60}}})";
    const std::vector<std::string> serve{
        LS_STATION_BINARY, "serve", "--config", (dir / "station.json").string(), "--port", "0"};
    {
        // Stopped on purpose: it publishes its NDEATH itself before the DISCONNECT.
        ChildProcess station(serve);
        const auto listening = station.wait_for_line("listening on", 30);
        ASSERT_FALSE(listening.empty());
        // The sink's backlog is on /metrics beside the others, under its cursor's name.
        const auto port = std::stoi(listening.substr(listening.rfind(':') + 1));
        Poco::Net::HTTPClientSession http("127.0.0.1", static_cast<Poco::UInt16>(port));
        Poco::Net::HTTPRequest get(Poco::Net::HTTPRequest::HTTP_GET, "/metrics");
        http.sendRequest(get);
        Poco::Net::HTTPResponse response;
        std::string metrics;
        Poco::StreamCopier::copyToString(http.receiveResponse(response), metrics);
        EXPECT_NE(metrics.find("linestation_outbox_backlog{sink=\"sparkplug\"} 0"),
                  std::string::npos)
            << metrics;
        ASSERT_TRUE(host.wait_for(
            [&](const Seen&) { return host.of("DBIRTH").size() == 8; }))  // virtual-8's slots
            << host.of("DBIRTH").size() << " DBIRTH";
        EXPECT_EQ(host.of("NBIRTH").at(0).topic(), "spBv1.0/Line 3/NBIRTH/st-9");
        EXPECT_EQ(host.of("DBIRTH").at(0).topic(), "spBv1.0/Line 3/DBIRTH/st-9/A1");
        EXPECT_EQ(station.stop(SIGTERM), 0);
        ASSERT_TRUE(host.wait_for_verb("NDEATH", 10)) << "no NDEATH on a clean stop";
        EXPECT_EQ(bd_seq_of(host.of("NDEATH").back()), bd_seq_of(host.of("NBIRTH").back()));
    }
    ChildProcess station(serve);
    ASSERT_FALSE(station.wait_for_line("listening on", 30).empty());
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return host.of("NBIRTH").size() == 2; }));
    const auto birth_bd_seq = bd_seq_of(host.of("NBIRTH").back());
    const auto killed_at = std::chrono::steady_clock::now();
    station.stop(SIGKILL);
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return host.of("NDEATH").size() == 2; }, 10))
        << "no NDEATH after kill -9";
    // From the killed socket at once, not after the 60 s keep-alive.
    EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 5s);
    const auto death = host.of("NDEATH").back();
    EXPECT_EQ(death.topic(), "spBv1.0/Line 3/NDEATH/st-9");
    EXPECT_EQ(bd_seq_of(death), birth_bd_seq);
    EXPECT_EQ(death.metric("bdSeq")->getValue<int>("datatype"), 4);
    EXPECT_FALSE(death.has_seq());
    EXPECT_EQ(death.json->getValue<int>("qos"), 1);  // the Will is QoS 1
    EXPECT_FALSE(death.json->getValue<bool>("retain"));
}

TEST(SparkplugSink, WhatWaitedOutABrokerOutageGoesOutHistoricalAfterNewBirths) {
    MosquittoBroker broker;
    Host host(broker.port(), "scada");  // the Primary Host: STATE online when subscribed
    TempDir dir;
    store::Store s(dir / "s.db");
    mes::sparkplug::StationSparkplug edge(settings_for(broker, "scada"), dir / "s.db", quick());
    ASSERT_TRUE(host.wait_for_verb("NBIRTH"));
    commit_now(s, 5, "LIVE1");  // after the births: live
    edge.forwarder().nudge();
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 5; }));

    broker.stop();
    commit_now(s, 20, "OUT");
    edge.forwarder().nudge();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (edge.forwarder().state().failures == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_GT(edge.forwarder().state().failures, 0);
    EXPECT_EQ(edge.forwarder().backlog().count, 20) << "nothing acknowledged while away";
    EXPECT_FALSE(edge.sink().state().connected);
    broker.start();
    ASSERT_TRUE(edge.forwarder().drain(30s)) << edge.forwarder().state().last_error;
    commit_now(s, 5, "LIVE2");
    edge.forwarder().nudge();
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 30; }))
        << count_ddata(host) << " DDATA";

    const auto births = host.of("NBIRTH");
    ASSERT_EQ(births.size(), 2u);
    EXPECT_EQ(bd_seq_of(births[0]), 0);
    EXPECT_EQ(bd_seq_of(births[1]), 1) << "a new CONNECT, the next bdSeq";
    std::map<std::string, bool> historical;
    for (const auto& d : host.of("DDATA")) {
        historical[d.text("Serial")] = d.metric("Verdict")->getValue<bool>("is_historical");
    }
    ASSERT_EQ(historical.size(), 30u) << "a verdict lost or sent twice";
    for (const auto& [serial, h] : historical) {
        EXPECT_EQ(h, serial.rfind("OUT-", 0) == 0) << serial;
    }
}

TEST(SparkplugSink, BirthsWaitForThePrimaryHostsStateAndItsOfflineStateEndsTheSession) {
    MosquittoBroker broker;
    Host host(broker.port());  // watches only; the STATE comes from the commands below
    TempDir dir;
    store::Store s(dir / "s.db");
    mes::sparkplug::StationSparkplug edge(settings_for(broker, "scada"), dir / "s.db", quick());
    commit_now(s, 2, "WAIT");
    edge.forwarder().nudge();
    EXPECT_FALSE(host.wait_for_verb("NBIRTH", 1.5)) << "born before the host was online";
    EXPECT_NE(edge.forwarder().state().last_error.find("waiting for primary host scada"),
              std::string::npos)
        << edge.forwarder().state().last_error;
    EXPECT_EQ(edge.forwarder().backlog().count, 2);

    const auto t = epoch_ms();
    host_command({"state", "--port", std::to_string(broker.port()), "--host", "scada", "--online",
                  "true", "--timestamp", std::to_string(t)});
    ASSERT_TRUE(host.wait_for_verb("NBIRTH"));
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;

    // An offline STATE older than the online one is an old session's: ignored.
    host_command({"state", "--port", std::to_string(broker.port()), "--host", "scada", "--online",
                  "false", "--timestamp", std::to_string(t - 1)});
    EXPECT_FALSE(host.wait_for_verb("NDEATH", 1.5));
    EXPECT_TRUE(edge.sink().state().born);

    host_command({"state", "--port", std::to_string(broker.port()), "--host", "scada", "--online",
                  "false", "--timestamp", std::to_string(t + 1)});
    ASSERT_TRUE(host.wait_for_verb("NDEATH")) << "the session should end";
    EXPECT_EQ(bd_seq_of(host.of("NDEATH").back()), 0);
    commit_now(s, 3, "HOSTLESS");
    edge.forwarder().nudge();
    EXPECT_FALSE(host.wait_for_verb("NBIRTH", 1.5)) << "born while the host is offline";
    EXPECT_EQ(edge.forwarder().backlog().count, 3);

    host_command({"state", "--port", std::to_string(broker.port()), "--host", "scada", "--online",
                  "true", "--timestamp", std::to_string(t + 2)});
    ASSERT_TRUE(host.wait_for_verb("NBIRTH"));
    EXPECT_EQ(bd_seq_of(host.of("NBIRTH").back()), 1)
        << edge.sink().state().connects
        << " connects, last error: " << edge.sink().state().last_error;
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 5; }));
    for (const auto& d : host.of("DDATA")) {
        EXPECT_TRUE(d.metric("Verdict")->getValue<bool>("is_historical")) << d.text("Serial");
    }
}

TEST(SparkplugSink, ARebirthRequestGetsANewBirthSequenceWithTheSameBdSeq) {
    MosquittoBroker broker;
    Host host(broker.port());
    TempDir dir;
    store::Store s(dir / "s.db");
    mes::sparkplug::StationSparkplug edge(settings_for(broker), dir / "s.db", quick({"A1", "A2"}));
    commit_now(s, 4, "BEFORE");
    edge.forwarder().nudge();
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 4; }));
    const auto dbirths_before = host.of("DBIRTH").size();

    host_command({"rebirth", "--port", std::to_string(broker.port()), "--group", "Line 3", "--node",
                  "st-1"});
    ASSERT_TRUE(host.wait_for_verb("NBIRTH"));
    const auto births = host.of("NBIRTH");
    ASSERT_EQ(births.size(), 2u);
    EXPECT_EQ(bd_seq_of(births[1]), bd_seq_of(births[0])) << "no new CONNECT, the same bdSeq";
    EXPECT_EQ(births[1].seq(), 0);
    // Every slot is born again, with its last verdict as the current value.
    ASSERT_TRUE(
        host.wait_for([&](const Seen&) { return host.of("DBIRTH").size() == dbirths_before + 4; }));
    const auto dbirths = host.of("DBIRTH");
    for (auto d = dbirths.begin() + static_cast<long>(dbirths_before); d != dbirths.end(); ++d) {
        EXPECT_EQ(d->text("Serial").rfind("BEFORE-", 0), 0u) << d->device();
        EXPECT_FALSE(d->metric("Verdict")->getValue<bool>("is_null")) << d->device();
    }
    EXPECT_EQ(edge.sink().state().connects, 1);
}

TEST(SparkplugSink, ASimulatedShiftReachesTheMesAsARealOneDoes) {
    MosquittoBroker broker;
    Host host(broker.port());
    TempDir dir;
    std::ofstream(dir / "station.json")
        << R"({"schema":1,"station":{"id":"sim"},"mes":{"sparkplug":{"url":")" << broker.url()
        << R"(","group_id":"Line 3","edge_node_id":"sim-1"}}})";
    const auto r = linestation::testing::run_process(
        {LS_STATION_BINARY, "simulate", "--config", (dir / "station.json").string(), "--slots", "4",
         "--units", "30", "--no-vision", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\"mes_forwarded\":{\"sparkplug\":30},\"mes_backlog\":{\"sparkplug\":0}"),
              std::string::npos)
        << r.out;
    ASSERT_TRUE(host.wait_for([&](const Seen&) { return count_ddata(host) == 30; }))
        << count_ddata(host) << " DDATA";
    EXPECT_EQ(host.of("NBIRTH").size(), 1u);
    EXPECT_EQ(host.of("DBIRTH").size(), 4u);
    for (const auto& d : host.of("DDATA")) {
        // The shift's verdicts and its session share the virtual clock: none waited.
        EXPECT_FALSE(d.metric("Verdict")->getValue<bool>("is_historical")) << d.text("Serial");
        EXPECT_NE(d.text("Verdict"), "<none>");
    }
}

TEST(SparkplugSink, AHalfOpenLinkFailsAtTheDeadlineAndNothingIsLost) {
    MosquittoBroker broker;
    Host host(broker.port());
    linestation::testing::FreezableProxy proxy(broker.port());  // a TCP relay that can freeze
    TempDir dir;
    store::Store s(dir / "s.db");
    auto settings = settings_for(broker);
    settings.url = "tcp://127.0.0.1:" + std::to_string(proxy.port());
    settings.keepalive_s = 2;
    mes::sparkplug::StationSparkplug edge(settings, dir / "s.db", quick());
    ASSERT_TRUE(edge.sink().wait_for_session(10s));
    commit_now(s, 5, "BEFORE");
    edge.forwarder().nudge();
    ASSERT_TRUE(edge.forwarder().drain(20s)) << edge.forwarder().state().last_error;

    // Nothing moves and no error comes (a dead switch): only the UNSUBACK's deadline ends it.
    proxy.freeze();
    commit_now(s, 5, "FROZEN");
    edge.forwarder().nudge();
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (edge.forwarder().state().failures == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_GT(edge.forwarder().state().failures, 0) << "a frozen link was taken for a good one";
    EXPECT_EQ(edge.forwarder().backlog().count, 5) << "acknowledged without the server's word";

    // The server's answers stop coming back while what the station sends arrives: the
    // batch reaches the host, and is sent again after the link is back (QoS 0 allows a
    // duplicate; the Result ID makes it recognisable).
    proxy.thaw();
    ASSERT_TRUE(edge.forwarder().drain(30s)) << edge.forwarder().state().last_error;
    proxy.freeze(/*replies_only=*/true);
    commit_now(s, 5, "LOSTACK");
    edge.forwarder().nudge();
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(edge.forwarder().backlog().count, 5);
    proxy.thaw();
    ASSERT_TRUE(edge.forwarder().drain(30s)) << edge.forwarder().state().last_error;
    ASSERT_TRUE(host.wait_for([&](const Seen&) {
        std::set<std::string> serials;
        for (const auto& d : host.of("DDATA")) serials.insert(d.text("Serial"));
        return serials.size() == 15;
    })) << "a verdict never reached the host";
    std::map<std::string, std::set<std::string>> ids_by_serial;
    std::map<std::string, bool> last_copy_historical;
    for (const auto& d : host.of("DDATA")) {
        ids_by_serial[d.text("Serial")].insert(d.text("Result ID"));
        last_copy_historical[d.text("Serial")] =
            d.metric("Verdict")->getValue<bool>("is_historical");
    }
    for (const auto& [serial, historical] : last_copy_historical) {
        // What the frozen link held may still reach the server when it thaws (a live copy
        // from the old session); the copy that counts went out after the new births.
        if (serial.rfind("BEFORE-", 0) == 0) {
            EXPECT_FALSE(historical) << serial;
        } else if (serial.rfind("FROZEN-", 0) == 0) {
            EXPECT_TRUE(historical) << serial;
        }
    }
    for (const auto& [serial, ids] : ids_by_serial) {
        EXPECT_EQ(ids.size(), 1u) << serial << ": a resent verdict keeps its Result ID";
    }
    EXPECT_GE(edge.sink().state().connects, 3);
}

namespace {
// The threads of this process that paho's C client started (it names its receive thread
// "MQTTClient_run"; /proc/self/task/*/comm).
int paho_threads() {
    int n = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name.rfind("MQTTClient", 0) == 0) ++n;
    }
    return n;
}
}  // namespace

// paho 1.3.12 with callbacks set runs a receive thread that it starts and stops on every
// CONNECT, calls the connection-lost callback on a thread of its own that it waits for only
// 5 s, and hands the message callback queue entries a disconnect elsewhere frees: races
// with a teardown or a reconnect (bench_sparkplug crashed once in ~28 drains after an
// outage). The sink uses paho's synchronous API, from one thread at a time, so paho runs
// no thread of its own, and Rebirth requests and STATE arriving through broker restarts
// and teardowns mid-stream lose no verdict.
TEST(SparkplugSink, PahoRunsNoThreadOfItsOwnThroughRestartsTeardownsAndCommands) {
    MosquittoBroker broker;
    Host host(broker.port(), "scada");
    TempDir dir;
    store::Store s(dir / "s.db");
    auto options = quick({"A1", "A2"});
    options.reconnect_min = 10ms;
    options.reconnect_max = 50ms;
    auto edge = std::make_unique<mes::sparkplug::StationSparkplug>(settings_for(broker, "scada"),
                                                                   dir / "s.db", options);
    ASSERT_TRUE(edge->sink().wait_for_session(20s)) << edge->sink().state().last_error;
    EXPECT_EQ(paho_threads(), 0);

    // The server keeps talking to the station meanwhile: Rebirth requests (a STATE online
    // of the test's own would let the sink be born before the host is back after a restart).
    std::atomic<bool> done{false};
    std::atomic<int> commands{0};
    std::thread talker([&] {
        while (!done) {
            const auto r = linestation::testing::run_process(
                {"/usr/bin/python3", kHostScript, "rebirth", "--port",
                 std::to_string(broker.port()), "--group", "Line 3", "--node", "st-1"});
            if (r.exit_code == 0) ++commands;  // one sent while the broker is away fails
        }
    });
    for (int round = 0; round < 6; ++round) {
        commit_now(s, 200, "R" + std::to_string(round));
        edge->forwarder().nudge();
        std::this_thread::sleep_for(std::chrono::milliseconds(40 * round));
        if (round % 2 == 0) {
            // Torn down mid-stream, commands arriving: a new sink takes over the outbox.
            edge.reset();
            edge = std::make_unique<mes::sparkplug::StationSparkplug>(settings_for(broker, "scada"),
                                                                      dir / "s.db", options);
        } else {
            const auto stopped_ms = epoch_ms();
            broker.stop();  // the link drops under the sink
            std::this_thread::sleep_for(100ms);
            EXPECT_EQ(paho_threads(), 0) << "reconnecting";
            broker.start();
            // The host is back (its STATE online, a new session) before the next round.
            EXPECT_TRUE(host.wait_for(
                [&](const Seen& m) {
                    if (m.topic() != "spBv1.0/STATE/scada") return false;
                    const auto st = m.json->getObject("state");
                    return st->getValue<bool>("online") &&
                           st->getValue<std::int64_t>("timestamp") >= stopped_ms;
                },
                20));
        }
        EXPECT_EQ(paho_threads(), 0);
    }
    const bool drained = edge->forwarder().drain(60s);
    done = true;
    talker.join();
    const auto state = edge->sink().state();
    ASSERT_TRUE(drained) << edge->forwarder().state().last_error << "; sink: connected "
                         << state.connected << ", host online " << state.host_online << ", born "
                         << state.born << ", connects " << state.connects << ", "
                         << state.last_error;
    EXPECT_GT(commands, 2) << "the server sent (almost) nothing meanwhile";
    EXPECT_EQ(paho_threads(), 0);

    EXPECT_EQ(edge->forwarder().backlog().count, 0);
    EXPECT_EQ(s.outbox_backlogs().at("sparkplug").parked, 0);

    // The sink came out of it whole: what it publishes now reaches the host, each verdict
    // (what the broker had read but not yet passed on when it was stopped is QoS 0 data a
    // broker may lose; the outbox let go of it once the broker confirmed it had read it).
    commit_now(s, 100, "AFTER");
    edge->forwarder().nudge();
    ASSERT_TRUE(edge->forwarder().drain(30s)) << edge->forwarder().state().last_error;
    std::set<std::string> after;
    for (const auto& d : host.of("DDATA")) {
        if (d.text("Serial").rfind("AFTER-", 0) == 0) after.insert(d.text("Serial"));
    }
    ASSERT_TRUE(after.size() == 100u ||
                host.wait_for(
                    [&](const Seen& m) {
                        if (m.verb() == "DDATA" && m.text("Serial").rfind("AFTER-", 0) == 0) {
                            after.insert(m.text("Serial"));
                        }
                        return after.size() == 100u;
                    },
                    30))
        << after.size() << " of 100 verdicts seen";
}
