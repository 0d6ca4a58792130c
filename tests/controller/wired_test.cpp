#include <gtest/gtest.h>

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <chrono>
#include <thread>

#include "fixtures/virtual/line/lan_broadcast.hpp"
#include "station/clock/clock.hpp"
#include "station/flow/lan_discovery.hpp"
#include "station/service_json.hpp"
#include "tests/controller/rig.hpp"

using linestation::flow::decode_announcement;
using linestation::flow::encode_announcement;
using linestation::flow::LanDiscovery;

namespace {
const std::string kJson =
    R"({"ip":"192.168.1.23","gwId":"bf1234567890abcdef","active":0,"ability":0,"mode":0,)"
    R"("encrypt":true,"productKey":"keyabcdefgh1234","version":"3.3"})";

void send(int port, const std::vector<std::uint8_t>& bytes) {
    Poco::Net::DatagramSocket s;
    s.sendTo(bytes.data(), static_cast<int>(bytes.size()),
             Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
}

bool wait_heard(const LanDiscovery& d, const std::string& id) {
    for (int i = 0; i < 200 && !d.heard(id); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return d.heard(id).has_value();
}
}  // namespace

namespace {
std::vector<std::uint8_t> from_hex(const std::string& hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// A broadcast captured from a real device on UDP 6667, with its decrypted text, as published
// in andresviedma/tinytuya-kotlin (src/test/.../protocol/TuyaMessageTest.kt,
// testDecode3_3_scan).
const std::string kCapturedJson =
    R"({"ip":"10.214.2.176","gwId":"bf1bd7f0bda4cbc644ichw","active":2,"ablilty":0,)"
    R"("encrypt":true,"productKey":"keym4vvjhx4sd9kk","version":"3.3"})";
const std::string kCapturedFrame =
    "000055aa00000000000000130000009c00000000e8ade47bd7ff48369d1c8b0a78e48e3a3a70ea54f8867e9e"
    "c7fc56b6751e75406e42babb86a7cda254b6f8aea1fe11f7f956d629c5e5f4c7486e62b69065c68ec2fb8459"
    "b1155fc75d4bf6699f92cba4c0ba520148045e7605fa0498dfea5aab549982ac0f1f64dedb607dac87b8ca43"
    "18aa61807b51b2352a27b165add3569b6eda8eea40e93b1e3fc14a2570e1827934e932340000aa55";
}  // namespace

// The gateway twin's 6667 broadcast is byte for byte what a real device sent.
TEST(Wired, TwinBroadcastIsTheCapturedDeviceFrame) {
    EXPECT_EQ(linestation::virtual_line::encrypted_broadcast(kCapturedJson),
              from_hex(kCapturedFrame));
}

// The station hears both the captured frame and the twin's frames (6667 and 6666).
TEST(Wired, StationDecodesTheCapturedFrameAndTheTwinsFrames) {
    auto captured = decode_announcement(from_hex(kCapturedFrame));
    ASSERT_TRUE(captured);
    EXPECT_EQ(captured->gw_id, "bf1bd7f0bda4cbc644ichw");
    EXPECT_EQ(captured->product_key, "keym4vvjhx4sd9kk");
    EXPECT_EQ(captured->ip, "10.214.2.176");
    EXPECT_TRUE(captured->active);
    for (const auto& frame : {linestation::virtual_line::encrypted_broadcast(kJson, 41),
                              linestation::virtual_line::plain_broadcast(kJson, 42)}) {
        auto d = decode_announcement(frame);
        ASSERT_TRUE(d);
        EXPECT_EQ(d->gw_id, "bf1234567890abcdef");
        EXPECT_EQ(d->product_key, "keyabcdefgh1234");
        EXPECT_EQ(d->version, "3.3");
        EXPECT_FALSE(d->active);
    }
}

TEST(Wired, EncryptedFrameRoundTripsAndIsReallyEncrypted) {
    auto frame = encode_announcement(kJson, true, 7);
    ASSERT_GE(frame.size(), 24u);
    EXPECT_EQ(frame[3], 0xAA);
    EXPECT_EQ(frame[frame.size() - 2], 0xAA);
    EXPECT_EQ(std::string(frame.begin(), frame.end()).find("gwId"), std::string::npos);
    auto d = decode_announcement(frame);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->gw_id, "bf1234567890abcdef");
    EXPECT_EQ(d->product_key, "keyabcdefgh1234");
    EXPECT_EQ(d->ip, "192.168.1.23");
    EXPECT_EQ(d->version, "3.3");
    EXPECT_FALSE(d->active);
}

// Found by fuzzing: ECB encrypts the first 16 bytes alone, so a device whose announcement
// begins {"ip":"10.0.4.81" sends a ciphertext starting with '{' in every broadcast; read as
// plain JSON it was dropped each time and the device was never heard.
TEST(Wired, EncryptedFrameWhoseCiphertextStartsWithABraceIsDecrypted) {
    const std::string json =
        R"({"ip":"10.0.4.81","gwId":"bf1234567890abcdef","active":0,"productKey":"keyabc",)"
        R"("version":"3.3"})";
    auto frame = encode_announcement(json, true);
    ASSERT_EQ(frame.at(20), '{');  // the payload after the return code
    auto d = decode_announcement(frame);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->gw_id, "bf1234567890abcdef");
    EXPECT_EQ(d->ip, "10.0.4.81");
}

TEST(Wired, CorruptedFramesAndForeignDatagramsAreRejected) {
    auto frame = encode_announcement(kJson, true);
    frame[25] ^= 0x01;  // payload bit flip: the CRC no longer matches
    EXPECT_FALSE(decode_announcement(frame));
    const std::string junk = "M-SEARCH * HTTP/1.1\r\n";
    EXPECT_FALSE(decode_announcement(std::vector<std::uint8_t>(junk.begin(), junk.end())));
    EXPECT_FALSE(decode_announcement(std::vector<std::uint8_t>{'{', '}'}));
}

TEST(Wired, ListenerHearsPlainAndEncryptedBroadcastsOnLoopback) {
    linestation::ManualClock clock;
    clock.advance(42);
    LanDiscovery discovery(clock, 0, 0, "127.0.0.1");
    send(discovery.plain_port(), std::vector<std::uint8_t>(kJson.begin(), kJson.end()));
    const std::string other =
        R"({"ip":"192.168.1.24","gwId":"bfother0000000001","active":1,"productKey":"k2","version":"3.3"})";
    send(discovery.encrypted_port(), encode_announcement(other, true));
    send(discovery.encrypted_port(), {0x00, 0x00, 0x55, 0xAA, 1, 2, 3});
    ASSERT_TRUE(wait_heard(discovery, "bf1234567890abcdef"));
    ASSERT_TRUE(wait_heard(discovery, "bfother0000000001"));
    EXPECT_DOUBLE_EQ(*discovery.heard("bf1234567890abcdef"), 42);
    auto devices = discovery.devices();
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_FALSE(devices[0].active) << "devices ready to pair come first";
    EXPECT_EQ(devices[0].gw_id, "bf1234567890abcdef");
    for (int i = 0; i < 100 && discovery.datagrams_rejected() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(discovery.datagrams_rejected(), 1);
}

TEST(Wired, GatewayFoundOnTheLanIsMatchedToItsSlotAndUnbound) {
    linestation::testing::RigOptions o;
    o.slots = 2;
    o.wired = true;
    o.recipe = "tuya-wired-gateway.json";
    linestation::testing::Rig rig(o);
    rig.start("wired");
    rig.run_until(2);
    ASSERT_EQ(rig.results.size(), 2u);
    for (const auto& r : rig.results) {
        EXPECT_EQ(r.verdict, "PASS") << r.reason << " " << r.detail;
        bool discovered = false;
        for (const auto& e : rig.store->events(r.unit_id)) {
            discovered |= e.detail_json.find("\"discovered\":true") != std::string::npos;
        }
        EXPECT_TRUE(discovered) << "unit " << r.unit_id << " passed without being found on the LAN";
        EXPECT_FALSE(rig.vline->cloud().bound_to(*r.serial));
    }
    EXPECT_EQ(rig.lan->devices().size(), 2u);
    // Each gateway was handed its token over TCP (not in-process), and the twin's cloud saw
    // each one activate with the station's token before its removal.
    EXPECT_EQ(rig.vline->handovers_requested(), 2);
    for (const auto& r : rig.results) {
        bool activated = false;
        for (const auto& a : rig.vline->cloud().join_attempts()) {
            activated |= a.device_id == *r.serial &&
                         a.account_uid.rfind("station-account-", 0) == 0 &&
                         (a.result == linestation::virtual_line::JoinResult::Rebound ||
                          a.result == linestation::virtual_line::JoinResult::Activated);
        }
        EXPECT_TRUE(activated) << *r.serial << " never activated with the station's token";
    }
    // The slots show what the LAN heard: the gateway's id and the address it announced.
    for (const auto& v : rig.line->slots()) {
        ASSERT_TRUE(v.discovered) << v.slot;
        EXPECT_EQ(v.discovered->device_id, *v.unit_serial);
        EXPECT_EQ(v.discovered->ip, "127.0.0.1");
        // As /api/slots gives it.
        EXPECT_NE(linestation::to_json(v).find(R"("discovered":{"device_id":")" + *v.unit_serial +
                                               R"(","ip":"127.0.0.1"})"),
                  std::string::npos)
            << linestation::to_json(v);
    }
}

// A gateway found on the LAN whose firmware will not take a token: the station's hand-over
// is refused, and the unit fails handover_failed with the gateway's words. The twin's record
// decides: it never activated with the station's token and is still its buyer's.
TEST(Wired, AGatewayThatDoesNotTakeTheTokenFailsHandoverFailed) {
    linestation::testing::RigOptions o;
    o.wired = true;
    o.kinds = {{"refuses_handover", 1.0}};
    o.recipe = "tuya-wired-gateway.json";
    linestation::testing::Rig rig(o);
    rig.start("wired");
    rig.run_until(1);
    ASSERT_EQ(rig.results.size(), 1u);
    const auto& r = rig.results[0];
    EXPECT_EQ(r.verdict, "FAIL");
    EXPECT_EQ(r.reason, "handover_failed");
    EXPECT_NE(r.detail.find("does not take a token over the LAN"), std::string::npos) << r.detail;
    EXPECT_EQ(rig.vline->handovers_requested(), 1);
    EXPECT_EQ(rig.vline->cloud().bound_to(*r.serial), "customer-" + *r.serial);
    for (const auto& a : rig.vline->cloud().join_attempts()) {
        EXPECT_NE(a.device_id, *r.serial) << "it presented a token it never took";
    }
    // The timeline says what the hand-over got, never the token.
    bool refused = false;
    for (const auto& e : rig.store->events(r.unit_id)) {
        refused |= e.detail_json.find("\"handover\":\"refused\"") != std::string::npos;
        EXPECT_EQ(e.detail_json.find("\"token\""), std::string::npos) << e.detail_json;
    }
    EXPECT_TRUE(refused);
}

// Nothing listens where the fixture says the gateways take their token: the hand-over cannot
// connect, and the unit fails handover_failed, not PASS and not still_bound.
TEST(Wired, AHandoverNobodyAnswersFailsHandoverFailed) {
    linestation::testing::RigOptions o;
    o.wired = true;
    o.recipe = "tuya-wired-gateway.json";
    o.station_fixture = [](linestation::config::FixtureConfig& f) {
        Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
        f.wired_handover->port = closed.address().port();
    };  // closed again: nothing listens there
    linestation::testing::Rig rig(o);
    rig.start("wired");
    rig.run_until(1);
    ASSERT_EQ(rig.results.size(), 1u);
    EXPECT_EQ(rig.results[0].verdict, "FAIL");
    EXPECT_EQ(rig.results[0].reason, "handover_failed") << rig.results[0].detail;
    EXPECT_EQ(rig.vline->handovers_requested(), 0);
    EXPECT_TRUE(rig.vline->cloud().bound_to(*rig.results[0].serial));
}

TEST(Wired, GatewayThatNeverAnnouncesItselfIsNotDiscovered) {
    linestation::testing::RigOptions o;
    o.wired = true;
    o.announce = false;  // its Ethernet is dead: ready by its LED, silent on the LAN
    o.recipe = "tuya-wired-gateway.json";
    linestation::testing::Rig rig(o);
    rig.start("wired");
    rig.run_until(1);
    ASSERT_EQ(rig.results.size(), 1u);
    EXPECT_EQ(rig.results[0].verdict, "FAIL");
    EXPECT_EQ(rig.results[0].reason, "not_discovered");
}

// Issue 12: a job the station cannot finish is refused at start with its reason, instead of
// failing every unit fixture_fault.
TEST(Wired, AStationThatCannotHandOverTheTokenRefusesAWiredBatch) {
    linestation::testing::RigOptions o;
    o.wired = true;
    o.handover = false;  // a fixture without "wired_handover", as a real rig's
    o.recipe = "tuya-wired-gateway.json";
    linestation::testing::Rig rig(o);
    linestation::StartBatchRequest req;
    req.kind = "wired";
    req.recipe = rig.recipe.product_id;
    try {
        rig.line->start_batch(req);
        FAIL() << "a wired batch was accepted";
    } catch (const linestation::Refusal& e) {
        EXPECT_EQ(e.code(), "no_wired_handover");
        EXPECT_NE(std::string(e.what()).find("cannot hand a pairing token"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("has no \"wired_handover\""), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(rig.line->batch().state, "idle");
    // And the screens do not offer it.
    EXPECT_TRUE(rig.line->batch_kinds(rig.recipe.product_id).empty());
}

// The jobs the operator is offered are the flows each recipe declares that this line can
// finish: the gateway's wired job only where the token can be handed over.
TEST(Wired, TheJobsOfferedAreTheRecipesFlowsThisLineCanFinish) {
    using Kinds = std::vector<std::string>;
    linestation::testing::RigOptions wired;
    wired.wired = true;
    wired.recipe = "tuya-wired-gateway.json";
    linestation::testing::Rig gateway(wired);
    EXPECT_EQ(gateway.line->batch_kinds(gateway.recipe.product_id), Kinds{"wired"});
    linestation::testing::Rig camera;
    EXPECT_EQ(camera.line->batch_kinds(camera.recipe.product_id),
              (Kinds{"unbind", "pre_activation"}));
    linestation::testing::RigOptions plug;
    plug.recipe = "tuya-smart-plug.json";
    linestation::testing::Rig weak(plug);
    EXPECT_EQ(weak.line->batch_kinds(weak.recipe.product_id), Kinds{"unbind"})
        << "a weak-binding plug's unbind job runs its repair flow";
    EXPECT_TRUE(camera.line->batch_kinds("no-such-recipe").empty());
}
