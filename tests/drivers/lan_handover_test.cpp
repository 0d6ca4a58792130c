// The LAN hand-over (drivers/lan_handover): the frame's bytes, and the driver against a real
// TCP peer on loopback that answers, refuses, stays silent or talks garbage.

#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "drivers/lan_handover/handover_codec.hpp"
#include "drivers/lan_handover/lan_handover.hpp"

using linestation::drivers::HandoverOutcome;
using linestation::drivers::LanHandover;
using linestation::drivers::LanHandoverSettings;
namespace codec = linestation::drivers::lan_handover;

namespace {

const codec::HandoverRequest kRequest{"bf1234567890abcdef", "AY", "Ab3dEf7h", "x9Yz"};

// One TCP peer on loopback that takes one connection, reads one line and does `answer`
// with it (writes a reply, or nothing).
class Peer {
  public:
    explicit Peer(std::function<void(Poco::Net::StreamSocket&, const std::string&)> answer)
        : server_(Poco::Net::SocketAddress("127.0.0.1", 0)),
          thread_([this, answer = std::move(answer)] {
              Poco::Net::StreamSocket s = server_.acceptConnection();
              std::string line;
              char c = 0;
              while (s.receiveBytes(&c, 1) == 1 && c != '\n') line += c;
              received_ = line;
              answer(s, line);
              // Hold the connection until the station hung up (its deadline or its answer).
              s.setReceiveTimeout(Poco::Timespan(3, 0));
              try {
                  while (s.receiveBytes(&c, 1) == 1) {
                  }
              } catch (...) {
                  // The station closed it or the peer's wait ran out: either way it is over.
              }
          }) {}
    ~Peer() { thread_.join(); }
    int port() const { return server_.address().port(); }
    // Read after the hand-over returned (the peer has read the line by then).
    const std::string& received() const { return received_; }

  private:
    Poco::Net::ServerSocket server_;
    std::string received_;
    std::thread thread_;
};

void reply(Poco::Net::StreamSocket& s, const std::string& text) {
    s.sendBytes(text.data(), static_cast<int>(text.size()));
}

HandoverOutcome hand_over(int port, int timeout_ms = 1000) {
    return LanHandover(LanHandoverSettings{port, timeout_ms}).hand_over("127.0.0.1", kRequest);
}

}  // namespace

// Golden: the request's bytes, field order included (a gateway adapter may match them).
TEST(LanHandoverCodec, RequestIsOneLineOfJsonInAFixedOrder) {
    EXPECT_EQ(codec::encode_request(kRequest),
              R"({"frame":"linestation-lan-1","gwId":"bf1234567890abcdef","region":"AY",)"
              R"("token":"Ab3dEf7h","secret":"x9Yz"})"
              "\n");
}

TEST(LanHandoverCodec, PairingTokenSplitsIntoRegionTokenAndSecret) {
    const auto r = codec::request_for("gw1", "AYAb3dEf7hx9Yz");
    EXPECT_EQ(r.region, "AY");
    EXPECT_EQ(r.token, "Ab3dEf7h");
    EXPECT_EQ(r.secret, "x9Yz");
    EXPECT_THROW(codec::request_for("gw1", "AYAb3dEf7h"), std::invalid_argument);
    try {
        codec::encode_request({"gw1", "AY", "short", "x9Yz"});
        FAIL() << "a 5-character token was encoded";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("token: expected 8 characters, got 5"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(codec::encode_request({"", "AY", "Ab3dEf7h", "x9Yz"}), std::invalid_argument);
}

TEST(LanHandoverCodec, AnswersDecodeAndGarbageIsNamed) {
    std::string error;
    auto ok = codec::decode_answer(
        R"({"frame":"linestation-lan-1","gwId":"gw1","result":"accepted"})", error);
    ASSERT_TRUE(ok) << error;
    EXPECT_TRUE(ok->accepted);
    EXPECT_EQ(ok->gw_id, "gw1");
    auto no = codec::decode_answer(
        R"({"frame":"linestation-lan-1","gwId":"gw1","result":"refused","reason":"bound"})", error);
    ASSERT_TRUE(no) << error;
    EXPECT_FALSE(no->accepted);
    EXPECT_EQ(no->reason, "bound");
    for (const std::string bad :
         {"", "HTTP/1.1 200 OK", "[1,2]", R"({"frame":"tuya","gwId":"gw1","result":"accepted"})",
          R"({"frame":"linestation-lan-1","gwId":"gw1"})",
          R"({"frame":"linestation-lan-1","gwId":"gw1","result":"maybe"})"}) {
        error.clear();
        EXPECT_FALSE(codec::decode_answer(bad, error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
}

TEST(LanHandoverDriver, AGatewayThatAcceptsGetsTheRequestLine) {
    Peer peer([](Poco::Net::StreamSocket& s, const std::string&) {
        reply(s, R"({"frame":"linestation-lan-1","gwId":"bf1234567890abcdef","result":"accepted"})"
                 "\n");
    });
    const auto out = hand_over(peer.port());
    EXPECT_TRUE(out.accepted()) << out.detail;
    EXPECT_EQ(peer.received() + "\n", codec::encode_request(kRequest));
}

TEST(LanHandoverDriver, ARefusalCarriesTheGatewaysWordsAndNeverTheToken) {
    Peer peer([](Poco::Net::StreamSocket& s, const std::string&) {
        reply(s, R"({"frame":"linestation-lan-1","gwId":"bf1234567890abcdef","result":"refused",)"
                 R"("reason":"not in pairing mode"})"
                 "\n");
    });
    const auto out = hand_over(peer.port());
    EXPECT_EQ(out.result, HandoverOutcome::Result::Refused);
    EXPECT_NE(out.detail.find("not in pairing mode"), std::string::npos) << out.detail;
    EXPECT_EQ(out.detail.find("Ab3dEf7h"), std::string::npos) << "the token reached a detail";
    EXPECT_EQ(out.detail.find("x9Yz"), std::string::npos) << "the secret reached a detail";
}

TEST(LanHandoverDriver, ASilentGatewayTimesOutAtTheDeadline) {
    Peer peer([](Poco::Net::StreamSocket&, const std::string&) {});
    const auto t0 = std::chrono::steady_clock::now();
    const auto out = hand_over(peer.port(), 300);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(out.result, HandoverOutcome::Result::Timeout) << out.detail;
    // The deadline bounds the wait (a loose upper bound: the assertion is that it ends).
    EXPECT_LT(took, 2.5);
}

TEST(LanHandoverDriver, GarbageOrAnotherGatewaysAnswerIsABadAnswer) {
    {
        Peer peer([](Poco::Net::StreamSocket& s, const std::string&) {
            reply(s, "HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        const auto out = hand_over(peer.port());
        EXPECT_EQ(out.result, HandoverOutcome::Result::BadAnswer) << out.detail;
    }
    {
        Peer peer([](Poco::Net::StreamSocket& s, const std::string&) {
            reply(s, R"({"frame":"linestation-lan-1","gwId":"someone-else","result":"accepted"})"
                     "\n");
        });
        const auto out = hand_over(peer.port());
        EXPECT_EQ(out.result, HandoverOutcome::Result::BadAnswer) << out.detail;
        EXPECT_NE(out.detail.find("someone-else"), std::string::npos) << out.detail;
    }
    {
        Peer peer([](Poco::Net::StreamSocket& s, const std::string&) { s.shutdown(); });
        const auto out = hand_over(peer.port());
        EXPECT_EQ(out.result, HandoverOutcome::Result::BadAnswer) << out.detail;
    }
}

TEST(LanHandoverDriver, NoListenerIsUnreachable) {
    int port = 0;
    {
        Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
        port = s.address().port();
    }  // closed: nothing listens there now
    const auto out = hand_over(port);
    EXPECT_EQ(out.result, HandoverOutcome::Result::Unreachable) << out.detail;
}
