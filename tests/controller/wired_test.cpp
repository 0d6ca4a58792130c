#include <gtest/gtest.h>

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <chrono>
#include <thread>

#include "station/clock/clock.hpp"
#include "station/flow/lan_discovery.hpp"
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
    o.handover = false;  // a real fixture: no documented way to hand a gateway its token
    o.recipe = "tuya-wired-gateway.json";
    linestation::testing::Rig rig(o);
    linestation::StartBatchRequest req;
    req.kind = "wired";
    req.recipe = rig.recipe.product_id;
    try {
        rig.line->start_batch(req);
        FAIL() << "a wired batch was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("cannot hand a pairing token"), std::string::npos)
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
