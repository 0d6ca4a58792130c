// `station fixture` end to end: the real executable against board twins on TCP loopback.

#include <gtest/gtest.h>

#include "fixtures/virtual/boards/board_endpoints.hpp"
#include "fixtures/virtual/boards/serial_board_twins.hpp"
#include "station/clock/clock.hpp"
#include "tests/common/process.hpp"

using namespace linestation;
using linestation::testing::run_process;

namespace {

linestation::testing::ProcessResult station(std::vector<std::string> args) {
    args.insert(args.begin(), {LS_STATION_BINARY, "fixture"});
    return run_process(args);
}

}  // namespace

TEST(FixtureCli, OnReadPulseOffAgainstAModbusTwin) {
    SystemClock clock;
    fixtures::ModbusTwin twin(3, 8, clock);
    fixtures::TcpEndpoint server(twin);
    const std::vector<std::string> where{"--driver",     "modbus-rtu", "--port",    server.url(),
                                         "--address",    "3",          "--channel", "4",
                                         "--timeout-ms", "200"};
    auto with = [&](std::vector<std::string> head) {
        head.insert(head.end(), where.begin(), where.end());
        return head;
    };
    auto r = station(with({"on"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(twin.channel(4));
    r = station(with({"read"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "on\n");
    r = station(with({"off"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(twin.channel(4));
    r = station(with({"pulse", "--ms", "300"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("pulsed 300 ms"), std::string::npos);
    auto on_time = twin.last_on_time(4);
    ASSERT_TRUE(on_time);
    RecordProperty("cli_pulse_300ms_measured_ms", std::to_string(*on_time * 1000));
    EXPECT_NEAR(*on_time * 1000, 300, 20);
    EXPECT_FALSE(twin.channel(4));
}

TEST(FixtureCli, EverySerialDriverSwitchesItsTwin) {
    SystemClock clock;
    fixtures::LcusTwin lcus(2, clock);
    fixtures::LcusTwin lcus_one(1, clock, false);  // an LCUS-1 without status replies
    fixtures::TcpEndpoint lcus_one_server(lcus_one);
    auto one = station({"on", "--driver", "lcus", "--port", lcus_one_server.url(), "--channel", "0",
                        "--timeout-ms", "60"});
    EXPECT_EQ(one.exit_code, 0) << one.err;
    EXPECT_NE(one.out.find("(no read-back)"), std::string::npos) << one.out;
    fixtures::NumatoTwin numato(16, clock);
    fixtures::AsciiTwin ascii(4, clock);
    fixtures::TcpEndpoint lcus_server(lcus), numato_server(numato), ascii_server(ascii);
    auto r = station({"on", "--driver", "lcus", "--port", lcus_server.url(), "--channel", "1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(lcus.channel(1));
    r = station({"on", "--driver", "numato", "--port", numato_server.url(), "--channel", "12"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(numato.channel(12));
    r = station({"read", "--driver", "numato", "--port", numato_server.url(), "--channel", "12"});
    EXPECT_EQ(r.out, "on\n");
    r = station({"on", "--driver", "ascii", "--port", ascii_server.url(), "--channel", "3"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(ascii.channel(3));
}

TEST(FixtureCli, ASilentBoardIsAOneLineErrorNamingBoardPortAndCause) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::TcpEndpoint server(twin);
    twin.inject(fixtures::BoardFault::no_answer, -1);
    auto r = station({"on", "--driver", "modbus-rtu", "--port", server.url(), "--channel", "0",
                      "--timeout-ms", "50", "--retries", "1"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("modbus-rtu slave 1 on " + server.url()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no answer within 50 ms (2 attempts)"), std::string::npos) << r.err;
}

TEST(FixtureCli, BadArgumentsAreUsageErrors) {
    auto r = station({"on", "--driver", "x10", "--port", "/dev/null", "--channel", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--driver"), std::string::npos) << r.err;
    r = station({"toggle"});
    EXPECT_EQ(r.exit_code, 2);
    r = station({"on", "--driver", "lcus", "--channel", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--port is required"), std::string::npos) << r.err;
    r = station({"on", "--driver", "lcus", "--port", "tcp://127.0.0.1:1", "--channel", "0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("lcus on tcp://127.0.0.1:1: cannot connect"), std::string::npos) << r.err;
}

TEST(FixtureCli, ListAndHelpExitZero) {
    auto r = station({"list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = station({"--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("dcttech-hid"), std::string::npos);
}
