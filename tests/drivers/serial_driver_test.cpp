// Each serial board's real driver against its twin, over a real pty (through the real
// libserialport, under the pty shim) and over TCP loopback; Modbus also against
// libmodbus' RTU slave as an independent peer.

#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "drivers/ascii/ascii_board.hpp"
#include "drivers/core/serial_transport.hpp"
#include "drivers/core/slot_actuators.hpp"
#include "drivers/lcus/lcus_board.hpp"
#include "drivers/modbus_rtu/modbus_board.hpp"
#include "drivers/numato/numato_board.hpp"
#include "fixtures/virtual/boards/board_endpoints.hpp"
#include "fixtures/virtual/boards/serial_board_twins.hpp"
#include "station/clock/clock.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using namespace linestation;
using namespace linestation::drivers;
using namespace std::chrono_literals;
using fixtures::BoardFault;

namespace {

constexpr SerialLine k9600{9600, 8, 'N', 1};

std::unique_ptr<Transport> serial(const std::string& path) {
    return std::make_unique<SerialTransport>(path, k9600);
}

ModbusOptions fast_modbus(int channels = 8) {
    ModbusOptions o;
    o.channels = channels;
    o.retries = 2;
    o.timeout_ms = 60;
    return o;
}

int count_commands(const fixtures::VirtualBoard& twin, const std::string& text) {
    int n = 0;
    for (const auto& r : twin.log()) n += r.command == text ? 1 : 0;
    return n;
}

}  // namespace

TEST(ModbusDriver, SwitchesAndReadsTheTwinOverAPty) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    ModbusRelayBoard board(serial(pty.path()), fast_modbus());
    board.set(2, true);
    board.set(5, true);
    EXPECT_TRUE(twin.channel(2));
    EXPECT_TRUE(twin.channel(5));
    EXPECT_TRUE(board.get(2));
    EXPECT_FALSE(board.get(3));
    board.write_all({true, false, false, false, false, false, false, true});
    EXPECT_EQ(board.read_all(),
              (std::vector<bool>{true, false, false, false, false, false, false, true}));
    EXPECT_FALSE(twin.channel(2));
    EXPECT_EQ(board.describe(), "modbus-rtu slave 1 on " + pty.path());
}

TEST(ModbusDriver, SwitchesTheTwinBehindATcpDeviceServer) {
    SystemClock clock;
    fixtures::ModbusTwin twin(7, 4, clock);
    fixtures::TcpEndpoint server(twin);
    auto options = fast_modbus(4);
    options.slave = 7;
    ModbusRelayBoard board(open_transport(server.url(), k9600), options);
    board.set(3, true);
    EXPECT_TRUE(twin.channel(3));
    EXPECT_TRUE(board.get(3));
    board.set(3, false);
    EXPECT_FALSE(twin.channel(3));
}

TEST(ModbusDriver, ExceptionReplyBecomesADriverErrorWithoutRetries) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    // The fixture file claims 64 coils; the board has 8.
    ModbusRelayBoard board(serial(pty.path()), fast_modbus(64));
    try {
        board.set(50, true);
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_EQ(e.board(), "modbus-rtu slave 1");
        EXPECT_EQ(e.port(), pty.path());
        EXPECT_NE(e.cause().find("illegal data address (exception 2)"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(count_commands(twin, "write coil 50 (no such coil)"), 1);
}

TEST(ModbusDriver, RetriesThroughSilenceAndABadCrc) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    ModbusRelayBoard board(serial(pty.path()), fast_modbus());
    twin.inject(BoardFault::no_answer);
    twin.inject(BoardFault::bad_reply);
    board.set(1, true);  // third attempt gets through
    EXPECT_EQ(count_commands(twin, "write coil 1 on"), 3);
    EXPECT_TRUE(board.get(1));
}

TEST(ModbusDriver, GarbageBeforeTheReplyIsResyncedNotMisread) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::TcpEndpoint server(twin);
    ModbusRelayBoard board(open_transport(server.url(), k9600), fast_modbus());
    board.set(0, true);
    twin.inject(BoardFault::garbage, 3);
    EXPECT_TRUE(board.get(0));
    EXPECT_FALSE(board.get(1));
    board.set(0, false);
    EXPECT_EQ(count_commands(twin, "write coil 0 off"), 1);  // no retry was needed
}

TEST(ModbusDriver, ABoardThatStopsAnsweringRaisesAndRecovers) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    ModbusRelayBoard board(serial(pty.path()), fast_modbus());
    twin.inject(BoardFault::no_answer, -1);
    const auto t0 = std::chrono::steady_clock::now();
    try {
        board.set(4, true);
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("no answer within 60 ms (3 attempts)"), std::string::npos)
            << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    twin.clear_faults();
    board.set(4, false);
    EXPECT_FALSE(twin.channel(4));
}

TEST(ModbusDriver, PersistentBadCrcIsReportedAsSuch) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    ModbusRelayBoard board(serial(pty.path()), fast_modbus());
    twin.inject(BoardFault::bad_reply, -1);
    try {
        board.get(0);
        FAIL() << "a reply with a bad CRC was accepted";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("CRC"), std::string::npos) << e.what();
    }
}

TEST(ModbusDriver, DisconnectMidReplyOverTcpIsAnErrorAndAReconnectWorks) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::TcpEndpoint server(twin);
    ModbusRelayBoard board(open_transport(server.url(), k9600), fast_modbus());
    twin.inject(BoardFault::disconnect);
    EXPECT_THROW(board.set(6, true), DriverError);
    ModbusRelayBoard again(open_transport(server.url(), k9600), fast_modbus());
    EXPECT_TRUE(again.get(6));  // the command had reached the board before the cut
    again.set(6, false);
    EXPECT_EQ(server.connections(), 2);
}

TEST(ModbusDriver, UnplugMidPulseFailsAndTheButtonIsNotReportedReleased) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    ModbusRelayBoard board(serial(pty.path()), fast_modbus());
    std::thread puller([&] {
        std::this_thread::sleep_for(100ms);
        pty.unplug();
    });
    EXPECT_THROW(pulse(board, 0, 300ms), DriverError);
    puller.join();
    EXPECT_TRUE(twin.channel(0));  // it really is still pressed: the error says so
    pty.replug();
    ModbusRelayBoard replugged(serial(pty.path()), fast_modbus());
    replugged.set(0, false);
    EXPECT_FALSE(twin.channel(0));
}

TEST(ModbusDriver, PulseOnTimeOnTheTwinIsWithin20msOfTheRequest) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::PtyEndpoint pty(twin);
    ModbusRelayBoard board(serial(pty.path()), fast_modbus());
    RelayReset reset(board, 3);
    for (int ms : {100, 250, 500}) {
        press_for(reset, std::chrono::milliseconds(ms));
        auto on_time = twin.last_on_time(3);
        ASSERT_TRUE(on_time);
        RecordProperty("pulse_" + std::to_string(ms) + "ms_measured_ms",
                       std::to_string(*on_time * 1000.0));
        EXPECT_NEAR(*on_time * 1000.0, ms, 20.0) << "asked " << ms << " ms";
    }
    EXPECT_FALSE(twin.channel(3));
}

TEST(ModbusDriver, TalksToLibmodbusRtuSlave) {
    linestation::testing::TempDir dir;
    const auto a = (dir / "a").string();
    const auto b = (dir / "b").string();
    linestation::testing::ChildProcess socat(
        {"/usr/bin/socat", "-d", "pty,raw,echo=0,link=" + a, "pty,raw,echo=0,link=" + b});
    for (int i = 0; i < 200 && !(std::filesystem::exists(a) && std::filesystem::exists(b)); ++i) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(std::filesystem::exists(a) && std::filesystem::exists(b));
    const auto slave_path = std::filesystem::canonical(a).string();
    const auto master_path = std::filesystem::canonical(b).string();

    std::unique_ptr<modbus_t, void (*)(modbus_t*)> ctx(
        modbus_new_rtu(slave_path.c_str(), 9600, 'N', 8, 1), modbus_free);
    ASSERT_TRUE(ctx);
    modbus_set_slave(ctx.get(), 1);
    ASSERT_EQ(modbus_connect(ctx.get()), 0) << modbus_strerror(errno);
    std::unique_ptr<modbus_mapping_t, void (*)(modbus_mapping_t*)> map(
        modbus_mapping_new(8, 0, 0, 0), modbus_mapping_free);
    modbus_set_indication_timeout(ctx.get(), 0, 50000);
    std::atomic<bool> stop{false};
    std::thread slave([&] {
        std::uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
        while (!stop) {
            const int n = modbus_receive(ctx.get(), query);
            if (n > 0) modbus_reply(ctx.get(), query, n, map.get());
        }
    });
    {
        ModbusRelayBoard board(serial(master_path), fast_modbus(8));
        auto options = fast_modbus(16);
        ModbusRelayBoard beyond(serial(master_path), options);
        board.set(0, true);
        board.set(2, true);
        EXPECT_EQ(map->tab_bits[0], 1);
        EXPECT_EQ(map->tab_bits[2], 1);
        EXPECT_EQ(board.read_all(),
                  (std::vector<bool>{true, false, true, false, false, false, false, false}));
        board.write_all({false, false, false, false, false, true, false, true});
        EXPECT_EQ(map->tab_bits[0], 0);
        EXPECT_EQ(map->tab_bits[5], 1);
        EXPECT_EQ(map->tab_bits[7], 1);
        EXPECT_TRUE(board.get(7));
        // libmodbus has 8 coils: coil 12 is an illegal data address there too.
        try {
            beyond.set(12, true);
            FAIL() << "no error";
        } catch (const DriverError& e) {
            EXPECT_NE(e.cause().find("exception 2"), std::string::npos) << e.what();
        }
    }
    stop = true;
    slave.join();
    modbus_close(ctx.get());
}

TEST(LcusDriver, SwitchesAndVerifiesByTheStatusQuery) {
    SystemClock clock;
    fixtures::LcusTwin twin(4, clock);
    fixtures::PtyEndpoint pty(twin);
    LcusOptions options;
    options.channels = 4;
    options.timeout_ms = 100;
    LcusRelayBoard board(serial(pty.path()), options);
    board.set(0, true);
    board.set(3, true);
    EXPECT_TRUE(twin.channel(0));
    EXPECT_TRUE(twin.channel(3));
    EXPECT_EQ(board.read_all(), (std::vector<bool>{true, false, false, true}));
    board.set(0, false);
    EXPECT_FALSE(board.get(0));
    EXPECT_EQ(count_commands(twin, "relay 1 on"), 1);
}

TEST(LcusDriver, ABoardWithoutStatusRepliesGoesByWhatWasCommanded) {
    SystemClock clock;
    fixtures::LcusTwin twin(1, clock, false);
    fixtures::TcpEndpoint server(twin);
    LcusOptions options;
    options.status_query = false;
    LcusRelayBoard board(open_transport(server.url(), k9600), options);
    board.set(0, true);
    EXPECT_TRUE(board.get(0));
    std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(twin.channel(0));
}

TEST(LcusDriver, ReadBackIsUsedOnlyWhenTheBoardAnswersTheStatusQuery) {
    SystemClock clock;
    fixtures::LcusTwin quiet(1, clock, false);
    fixtures::LcusTwin talking(2, clock, true);
    fixtures::PtyEndpoint quiet_pty(quiet), talking_pty(talking);
    LcusOptions options;
    options.timeout_ms = 60;
    options.detect_status_query = true;
    LcusRelayBoard quiet_board(serial(quiet_pty.path()), options);
    EXPECT_FALSE(quiet_board.reads_back());
    EXPECT_NE(quiet_board.describe().find("(no read-back)"), std::string::npos);
    quiet_board.set(0, true);
    EXPECT_TRUE(quiet_board.get(0));
    options.channels = 2;
    LcusRelayBoard talking_board(serial(talking_pty.path()), options);
    EXPECT_TRUE(talking_board.reads_back());
    talking_board.set(1, true);
    EXPECT_TRUE(talking.channel(1));
}

TEST(LcusDriver, SilenceAndManglingAreErrors) {
    SystemClock clock;
    fixtures::LcusTwin twin(2, clock);
    fixtures::PtyEndpoint pty(twin);
    LcusOptions options;
    options.channels = 2;
    options.timeout_ms = 80;
    LcusRelayBoard board(serial(pty.path()), options);
    twin.inject(BoardFault::no_answer);
    try {
        board.set(1, true);
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("no answer to the status query"), std::string::npos) << e.what();
    }
    twin.inject(BoardFault::bad_reply);
    EXPECT_THROW(board.get(1), DriverError);
    EXPECT_TRUE(board.get(1));
}

TEST(NumatoDriver, SwitchesReadsAndUsesLettersFromRelayTen) {
    SystemClock clock;
    fixtures::NumatoTwin twin(16, clock);
    fixtures::PtyEndpoint pty(twin);
    // No fault here: a generous deadline, so a loaded machine does not fail the pty round trip.
    NumatoRelayBoard board(serial(pty.path()), NumatoOptions{16, 1000});
    board.set(1, true);
    board.set(10, true);
    EXPECT_TRUE(twin.channel(10));
    EXPECT_EQ(count_commands(twin, "relay on A"), 1);
    EXPECT_TRUE(board.get(10));
    EXPECT_FALSE(board.get(11));
    auto all = board.read_all();
    ASSERT_EQ(all.size(), 16u);
    EXPECT_TRUE(all[1]);
    EXPECT_TRUE(all[10]);
    EXPECT_FALSE(all[0]);
}

TEST(NumatoDriver, OverTcpWithGarbageAndAMissingPrompt) {
    SystemClock clock;
    fixtures::NumatoTwin twin(8, clock);
    fixtures::TcpEndpoint server(twin);
    NumatoRelayBoard board(open_transport(server.url(), k9600), NumatoOptions{8, 80});
    twin.inject(BoardFault::garbage);
    board.set(7, true);
    EXPECT_TRUE(board.get(7));
    twin.inject(BoardFault::bad_reply);
    try {
        board.get(7);
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("no echo and prompt"), std::string::npos) << e.what();
    }
}

TEST(AsciiDriver, SetGetPulseAndErrorReplies) {
    SystemClock clock;
    fixtures::AsciiTwin twin(4, clock);
    fixtures::PtyEndpoint pty(twin);
    AsciiFixtureBoard board(serial(pty.path()), AsciiOptions{4, 100});
    board.set(2, true);
    EXPECT_TRUE(board.get(2));
    EXPECT_TRUE(twin.channel(2));
    board.pulse(1, 150);
    EXPECT_TRUE(twin.channel(1));
    EXPECT_THROW(board.set(1, false), DriverError);  // BUSY while the board times it
    std::this_thread::sleep_for(250ms);
    EXPECT_FALSE(twin.channel(1));
    auto on_time = twin.last_on_time(1);
    ASSERT_TRUE(on_time);
    EXPECT_NEAR(*on_time * 1000, 150, 20);
    twin.set_hardware_fault(true);
    try {
        board.set(0, true);
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("ERR FAULT output 0 overcurrent"), std::string::npos) << e.what();
    }
}

TEST(SlotActuators, RelayPowerAndPowerCycleResetOverTheTwin) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::TcpEndpoint server(twin);
    ModbusRelayBoard board(open_transport(server.url(), k9600), fast_modbus());
    // Normally-closed wiring: energizing channel 5 cuts the slot's power.
    RelayPower power(board, 5, false);
    power.on();
    EXPECT_FALSE(twin.channel(5));
    EXPECT_TRUE(power.is_on());
    PowerCycleReset reset(power);
    reset.hold();
    EXPECT_TRUE(twin.channel(5));
    EXPECT_FALSE(power.is_on());
    reset.release();
    EXPECT_TRUE(power.is_on());
    power_cycle(power, 120ms);
    auto off_time = twin.last_on_time(5);  // energized = off here
    ASSERT_TRUE(off_time);
    EXPECT_NEAR(*off_time * 1000, 120, 20);
}
