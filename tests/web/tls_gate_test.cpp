// The header gate under HTTPS (issue 16): slow clients must not hold the server's threads
// when the station serves TLS either. The gate runs each connection's handshake and reads
// its decrypted header without blocking, so 200 clients that stall their handshake or trickle
// their header leave /api/health answering, and each is closed at the header deadline.
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "station/store/store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_certificate.hpp"
#include "tests/web/slow_clients.hpp"
#include "tests/web/test_line.hpp"
#include "web/server.hpp"

using linestation::testing::TempDir;
using linestation::testing::TestCertificate;
using linestation::testing::TestLine;

namespace {

Poco::Net::Context::Ptr client_context() {
    // Reference-counted by Poco. The test's own self-signed certificate: not verified here
    // (tests/cloud checks verification); what is measured is the gate.
    return new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                  Poco::Net::Context::VERIFY_NONE);
}

struct HttpsStation {
    HttpsStation() {
        store = std::make_unique<linestation::store::Store>(dir / "st.db");
        line = std::make_unique<TestLine>(store.get(), std::vector<std::string>{"cam-a"});
        linestation::web::ServerOptions options;
        options.port = 0;
        options.store_path = dir / "st.db";
        options.https_certificate = certificate.certificate;
        options.https_private_key = certificate.key;
        options.header_timeout_s = 3.0;
        server = std::make_unique<linestation::web::Server>(*line, options);
        server->start();
    }
    Poco::Net::SocketAddress address() const {
        return Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server->port()));
    }

    TempDir dir;
    TestCertificate certificate;
    std::unique_ptr<linestation::store::Store> store;
    std::unique_ptr<TestLine> line;
    std::unique_ptr<linestation::web::Server> server;
};

// GET /api/health over HTTPS on `session`; its status (0 when it failed) and time taken.
std::pair<int, double> health(Poco::Net::HTTPSClientSession& session) {
    auto t0 = std::chrono::steady_clock::now();
    Poco::Net::HTTPRequest request("GET", "/api/health", Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::Net::HTTPResponse response;
    int status = 0;
    try {
        session.sendRequest(request);
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        if (body.find("\"status\"") != std::string::npos) status = response.getStatus();
    } catch (const Poco::Exception& e) {
        ADD_FAILURE() << e.displayText();
    }
    return {status, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

}  // namespace

TEST(WebHttpsGate, KeptAliveConnectionServesRequestAfterRequest) {
    HttpsStation station;
    Poco::Net::HTTPSClientSession session("127.0.0.1", station.address().port(), client_context());
    session.setKeepAlive(true);
    session.setTimeout(Poco::Timespan(5, 0));
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(health(session).first, 200) << "request " << i;
        // Long enough for the connection to go back to the gate between requests.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

TEST(WebHttpsGate, HealthAnswersWithin1sWhile200SlowTlsClientsAreConnected) {
    HttpsStation station;
    const auto address = station.address();
    auto context = client_context();
    // 100 finish the handshake and trickle their header; 100 stall their handshake (the
    // first bytes of a ClientHello, then nothing).
    std::vector<Poco::Net::SecureStreamSocket> trickling;
    std::vector<Poco::Net::StreamSocket> stalled;
    const std::string header_first = "GET /api/health HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 100; ++i) {
        trickling.emplace_back(address, context);
        trickling.back().sendBytes(header_first.data(), static_cast<int>(header_first.size()));
        stalled.emplace_back(address);
        const char hello_start[] = {0x16, 0x03, 0x01};
        stalled.back().sendBytes(hello_start, sizeof hello_start);
    }
    // They really are held open (the 3 s header deadline runs from each one's accept).
    EXPECT_GE(station.server->waiting_connections(), 150u);
    auto trickle = [&] {
        for (auto& s : trickling) {
            try {
                s.sendBytes("X-Slow: 1\r\n", 11);
            } catch (const Poco::Exception&) {
                // Dropped by the server already.
            }
        }
    };
    std::vector<double> took;
    for (int round = 0; round < 5; ++round) {
        trickle();
        Poco::Net::HTTPSClientSession session("127.0.0.1", address.port(), context);
        session.setTimeout(Poco::Timespan(1, 0));
        auto [status, seconds] = health(session);
        took.push_back(seconds);
        EXPECT_EQ(status, 200) << "round " << round;
        EXPECT_LT(seconds, 1.0) << "round " << round;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    // None finished within the 3 s header timeout: the trickling ones were answered 408 (over
    // their TLS), the stalled handshakes closed; nothing is left waiting.
    for (int i = 0; i < 8; ++i) {
        trickle();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    EXPECT_EQ(linestation::testing::answered_with(trickling, "HTTP/1.1 408"), trickling.size());
    std::size_t closed = 0;
    for (auto& s : stalled) {
        s.setReceiveTimeout(Poco::Timespan(1, 0));
        char buffer[512];
        try {
            closed += s.receiveBytes(buffer, sizeof buffer) == 0;
        } catch (const Poco::Exception&) {
            ++closed;  // reset: closed as well
        }
    }
    EXPECT_EQ(closed, stalled.size());
    EXPECT_EQ(station.server->waiting_connections(), 0u);
    std::ostringstream figures;
    for (double t : took) figures << " " << static_cast<int>(t * 1000) << " ms";
    std::cout << "/api/health over HTTPS with 200 slow TLS clients:" << figures.str() << "\n";
}
