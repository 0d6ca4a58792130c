// Faulted boards: detection, backoff on the station's clock, recovery, safe state.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "drivers/core/board_factory.hpp"
#include "drivers/core/board_supervisor.hpp"
#include "fixtures/virtual/boards/board_endpoints.hpp"
#include "fixtures/virtual/boards/board_twins.hpp"
#include "fixtures/virtual/boards/serial_board_twins.hpp"
#include "station/clock/clock.hpp"

using namespace linestation;
using namespace linestation::drivers;
using fixtures::BoardFault;

namespace {

config::BoardConfig tcp_board(const std::string& id, const std::string& driver,
                              const std::string& url, int channels) {
    config::BoardConfig b;
    b.id = id;
    b.driver = driver;
    b.port = url;
    b.channels = channels;
    b.serial.timeout_ms = 40;
    b.retries = 1;
    return b;
}

int commands(const fixtures::VirtualBoard& twin) {
    return static_cast<int>(twin.log().size());
}

}  // namespace

TEST(BoardSupervisor, ASilentBoardIsFaultedRetriedWithBackoffAndComesBack) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::TcpEndpoint server(twin);
    const auto entry = tcp_board("resets", "modbus-rtu", server.url(), 8);
    std::vector<std::string> changes;
    BoardSupervisor board(
        "resets", [&] { return open_board(entry); }, clock, Backoff{0.5, 4.0, 2.0},
        [&](const std::string& id, bool healthy, const std::string& cause) {
            changes.push_back(id + (healthy ? " healthy" : " faulted: " + cause));
        });
    ASSERT_TRUE(board.healthy());
    EXPECT_TRUE(board.set(2, true));
    EXPECT_TRUE(twin.channel(2));

    twin.inject(BoardFault::no_answer, -1);
    EXPECT_FALSE(board.set(2, false));
    EXPECT_FALSE(board.healthy());
    EXPECT_NE(board.cause().find("no answer"), std::string::npos) << board.cause();
    EXPECT_FALSE(board.set(3, true));  // faulted: refused at once, nothing sent
    const int sent = commands(twin);
    board.poll();  // backoff not over
    EXPECT_EQ(commands(twin), sent);
    clock.advance(0.5);
    board.poll();  // reopen + probe, still silent: backoff doubles
    EXPECT_GT(commands(twin), sent);
    EXPECT_FALSE(board.healthy());
    EXPECT_DOUBLE_EQ(board.next_retry_s(), 1.5);

    twin.clear_faults();
    clock.advance(0.5);
    board.poll();
    EXPECT_FALSE(board.healthy());  // 1.0 s not yet over
    clock.advance(0.5);
    board.poll();
    EXPECT_TRUE(board.healthy());
    EXPECT_TRUE(board.set(2, false));
    EXPECT_FALSE(twin.channel(2));
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0], "resets healthy");
    EXPECT_NE(changes[1].find("resets faulted: modbus-rtu slave 1 on " + server.url()),
              std::string::npos)
        << changes[1];
    EXPECT_EQ(changes[2], "resets healthy");
}

TEST(BoardSupervisor, NothingEscapesFromACommandOrAListener) {
    ManualClock clock;
    int opens = 0;
    BoardSupervisor board(
        "ghost",
        [&]() -> std::unique_ptr<DigitalOutput> {
            ++opens;
            throw DriverError("lcus-1", "/dev/ttyUSB9", "cannot open: no such device");
        },
        clock, Backoff{1, 8, 2},
        [](const std::string&, bool, const std::string&) {
            throw std::runtime_error("listener bug");
        });
    EXPECT_FALSE(board.healthy());
    EXPECT_EQ(board.cause(), "lcus-1 on /dev/ttyUSB9: cannot open: no such device");
    EXPECT_FALSE(board.run([](DigitalOutput&) { throw std::logic_error("never runs"); }));
    for (int i = 0; i < 5; ++i) {
        clock.advance(100);
        board.poll();
    }
    EXPECT_EQ(opens, 6);
    EXPECT_DOUBLE_EQ(board.next_retry_s() - clock.now_s(), 8.0);  // capped
}

TEST(FixtureBoards, SafeStateAtStartAndStopAndOtherSlotsCarryOn) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin resets(1, 8, wall);
    fixtures::NumatoTwin power(8, wall);
    fixtures::TcpEndpoint resets_server(resets), power_server(power);
    // Left in a bad state by a crashed run: a reset held, a power relay off.
    {
        auto pre = open_board(tcp_board("r", "modbus-rtu", resets_server.url(), 8));
        pre->set(0, true);
    }
    config::FixtureConfig fixture;
    fixture.boards = {tcp_board("resets", "modbus-rtu", resets_server.url(), 8),
                      tcp_board("power", "numato", power_server.url(), 8)};
    for (int i = 0; i < 3; ++i) {
        config::SlotConfig slot;
        slot.id = "A" + std::to_string(i + 1);
        slot.reset = config::ChannelRef{"resets", i};
        slot.power = config::ChannelRef{i < 2 ? "power" : "resets", i < 2 ? i : 7};
        slot.power_safe_on = true;
        fixture.slots.push_back(slot);
    }
    {
        FixtureBoards boards(fixture, clock,
                             [](const config::BoardConfig& b) { return open_board(b); });
        EXPECT_FALSE(resets.channel(0));  // reset released
        EXPECT_TRUE(power.channel(0));    // power as the fixture says
        EXPECT_TRUE(power.channel(1));
        EXPECT_TRUE(resets.channel(7));
        EXPECT_TRUE(boards.faulted_slots().empty());
        EXPECT_TRUE(boards.press_reset("A2", true));
        EXPECT_TRUE(resets.channel(1));
        EXPECT_TRUE(boards.press_reset("A2", false));
        EXPECT_FALSE(resets.channel(1));
        EXPECT_TRUE(boards.set_power("A3", false));
        EXPECT_FALSE(resets.channel(7));
        EXPECT_TRUE(boards.set_power("A3", true));
        EXPECT_FALSE(boards.press_reset("Z9", true));  // no such slot

        power.inject(BoardFault::no_answer, -1);
        EXPECT_FALSE(boards.set_power("A1", false));
        EXPECT_EQ(boards.faulted_slots(), (std::vector<std::string>{"A1", "A2"}));
        EXPECT_FALSE(boards.set_power("A2", false));  // faulted board: refused at once
        // A3 lives on the healthy board and carries on.
        EXPECT_TRUE(boards.board("resets")->set(2, true));
        EXPECT_TRUE(resets.channel(2));

        power.clear_faults();
        clock.advance(1.0);
        boards.poll();
        EXPECT_TRUE(boards.faulted_slots().empty());
        EXPECT_TRUE(power.channel(0));  // recovered board put back to its safe state
    }
    EXPECT_FALSE(resets.channel(2));  // shutdown released the held reset
    EXPECT_TRUE(resets.channel(7));
}

// A power relay wired through its normally-closed contact: the safe state "on" and
// set_power(on) leave it released, a power cut energizes it.
TEST(FixtureBoards, NormallyClosedPowerFollowsItsWiring) {
    SystemClock wall;
    ManualClock clock;
    fixtures::NumatoTwin power(8, wall);
    fixtures::TcpEndpoint power_server(power);
    {
        auto pre = open_board(tcp_board("p", "numato", power_server.url(), 8));
        pre->set(0, true);  // a crashed run left the power cut
    }
    config::FixtureConfig fixture;
    fixture.boards = {tcp_board("power", "numato", power_server.url(), 8)};
    config::SlotConfig slot;
    slot.id = "A1";
    slot.power = config::ChannelRef{"power", 0};
    slot.power_safe_on = true;
    slot.power_wiring = config::PowerWiring::NormallyClosed;
    fixture.slots.push_back(slot);
    ASSERT_EQ(safe_outputs(fixture).size(), 1u);
    EXPECT_FALSE(safe_outputs(fixture)[0].on);
    FixtureBoards boards(fixture, clock,
                         [](const config::BoardConfig& b) { return open_board(b); });
    EXPECT_FALSE(power.channel(0));  // powered: released
    EXPECT_TRUE(boards.set_power("A1", false));
    EXPECT_TRUE(power.channel(0));
    EXPECT_TRUE(boards.set_power("A1", true));
    EXPECT_FALSE(power.channel(0));
}

TEST(BoardTwins, TheVirtualFixtureRunsTheRealDriversOverTcp) {
    ManualClock clock;
    auto fixture = config::load_fixture(std::string(LS_SOURCE_DIR) + "/fixtures/virtual-8.json");
    for (auto& b : fixture.boards) b.serial.timeout_ms = 40;  // the silent-board case stays short
    fixtures::BoardTwins twins(fixture, clock);
    auto* resets = twins.board("reset-relays");
    auto* power = twins.board("power-relays");
    ASSERT_TRUE(resets && power);
    // The fixture file asks for any free port; the twins say which one they listen on.
    for (const auto& b : twins.fixture().boards) {
        EXPECT_EQ(b.port, twins.endpoint(b.id)->url());
        EXPECT_NE(b.port, "tcp://127.0.0.1:0");
    }
    {
        FixtureBoards boards(twins.fixture(), clock,
                             [&](const config::BoardConfig& b) { return open_board(b, &clock); });
        EXPECT_TRUE(boards.faulted_slots().empty());
        const auto& slot = fixture.slots.front();
        ASSERT_TRUE(slot.reset && slot.power);
        EXPECT_TRUE(boards.board(slot.reset->board)->set(slot.reset->channel, true));
        EXPECT_TRUE(resets->channel(slot.reset->channel));
        EXPECT_EQ(power->channel(slot.power->channel), slot.power_safe_on);
        resets->inject(BoardFault::no_answer, -1);
        EXPECT_FALSE(boards.board(slot.reset->board)->set(slot.reset->channel, false));
        EXPECT_EQ(boards.faulted_slots().size(), fixture.slots.size());
        resets->clear_faults();
        clock.advance(1);
        boards.poll();
        EXPECT_TRUE(boards.faulted_slots().empty());
        EXPECT_FALSE(resets->channel(slot.reset->channel));
    }
    EXPECT_GE(twins.endpoint("reset-relays")->connections(), 1);
    auto elsewhere = fixture;
    elsewhere.boards.front().port = "/dev/ttyUSB0";
    try {
        fixtures::BoardTwins wrong(elsewhere, clock);
        FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()),
                  "board twins: board \"reset-relays\": port \"/dev/ttyUSB0\" is not "
                  "tcp://127.0.0.1:PORT (0: any free port)");
    }
}

// The fault matrix's board cases (issue 16), each against the real driver and its twin: what
// the driver does with the fault, and what the supervision makes of it.
namespace {

// A one-board fixture: slot A1's reset on channel 0, its power on channel 1 (safe: on).
config::FixtureConfig one_board(const config::BoardConfig& board) {
    config::FixtureConfig fixture;
    fixture.boards = {board};
    config::SlotConfig slot;
    slot.id = "A1";
    slot.reset = config::ChannelRef{board.id, 0};
    slot.power = config::ChannelRef{board.id, 1};
    slot.power_safe_on = true;
    fixture.slots.push_back(slot);
    return fixture;
}

// After `wait_s`, the board is reopened and back in its safe state: A1's reset released, its
// power on.
void expect_back_in_safe_state(FixtureBoards& boards, ManualClock& clock,
                               const fixtures::VirtualBoard& twin, double wait_s) {
    clock.advance(wait_s);
    boards.poll();
    EXPECT_FALSE(boards.slot_fault("A1")) << *boards.slot_fault("A1");
    EXPECT_FALSE(twin.channel(0));
    EXPECT_TRUE(twin.channel(1));
}

}  // namespace

TEST(BoardFaultMatrix, CrcGarbageIsRetriedAndOnlyAStandingOneFaultsTheBoard) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::TcpEndpoint server(twin);
    FixtureBoards boards(one_board(tcp_board("resets", "modbus-rtu", server.url(), 8)), clock,
                         [](const config::BoardConfig& b) { return open_board(b); });
    // One corrupted reply, then noise before a good one: the driver's retry and its frame
    // scan take them, the command is done and the board stays healthy.
    twin.inject(BoardFault::bad_reply);
    EXPECT_TRUE(boards.press_reset("A1", true));
    EXPECT_TRUE(twin.channel(0));
    twin.inject(BoardFault::garbage);
    EXPECT_TRUE(boards.press_reset("A1", false));
    EXPECT_FALSE(twin.channel(0));
    EXPECT_FALSE(boards.slot_fault("A1"));
    // Every reply corrupted: the board is faulted with the driver's cause, the slot with it.
    twin.inject(BoardFault::bad_reply, -1);
    EXPECT_FALSE(boards.press_reset("A1", true));
    const auto fault = boards.slot_fault("A1");
    ASSERT_TRUE(fault);
    EXPECT_NE(fault->find("reply failed its CRC check (2 attempts)"), std::string::npos) << *fault;
    try {
        boards.output("resets")->set(0, true);
        FAIL() << "a faulted board took a command";
    } catch (const DriverError& e) {
        EXPECT_EQ(e.board(), "resets");
        EXPECT_NE(e.cause().find("faulted (reopening with backoff)"), std::string::npos);
    }
    twin.clear_faults();
    // The press that had been commanded when the replies went bad is released.
    expect_back_in_safe_state(boards, clock, twin, 0.5);
}

TEST(BoardFaultMatrix, ABoardThatNeverAnswersOverAPtyIsFaultedAndRetriedWithBackoff) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::PtyEndpoint pty(twin);
    auto entry = tcp_board("resets", "modbus-rtu", pty.path(), 8);
    FixtureBoards boards(
        one_board(entry), clock, [](const config::BoardConfig& b) { return open_board(b); },
        Backoff{0.5, 2.0, 2.0});
    ASSERT_FALSE(boards.slot_fault("A1"));
    twin.inject(BoardFault::no_answer, -1);
    EXPECT_FALSE(boards.press_reset("A1", true));
    EXPECT_TRUE(twin.channel(0));  // the board did it; its answer never came
    ASSERT_TRUE(boards.slot_fault("A1"));
    EXPECT_NE(boards.slot_fault("A1")->find("no answer within 40 ms (2 attempts)"),
              std::string::npos);
    auto* board = boards.board("resets");
    for (const double wait : {0.5, 1.0, 2.0, 2.0}) {  // backoff doubles, capped
        EXPECT_DOUBLE_EQ(board->next_retry_s() - clock.now_s(), wait);
        clock.advance(wait);
        boards.poll();
        EXPECT_FALSE(board->healthy());
    }
    twin.clear_faults();
    clock.advance(2.0);
    boards.poll();
    EXPECT_TRUE(board->healthy());
    EXPECT_FALSE(twin.channel(0));  // released before anything else used the board
}

TEST(BoardFaultMatrix, ALateAnswerWithinTheTimeoutIsTakenOneBeyondItIsAFault) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::TcpEndpoint server(twin);
    auto entry = tcp_board("resets", "modbus-rtu", server.url(), 8);
    entry.serial.timeout_ms = 300;
    FixtureBoards boards(one_board(entry), clock,
                         [](const config::BoardConfig& b) { return open_board(b); });
    twin.set_late_by(0.1);
    twin.inject(BoardFault::late, -1);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(boards.press_reset("A1", true));
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(took, 0.1);  // it did wait for the late answer
    EXPECT_FALSE(boards.slot_fault("A1"));
    EXPECT_TRUE(twin.channel(0));
    // Later than the driver waits, on every attempt (a reply that came within the retry's
    // wait would answer the same request and rightly count): faulted, never taken for done.
    twin.set_late_by(1.0);
    EXPECT_FALSE(boards.press_reset("A1", false));
    ASSERT_TRUE(boards.slot_fault("A1"));
    EXPECT_NE(boards.slot_fault("A1")->find("no answer within 300 ms"), std::string::npos)
        << *boards.slot_fault("A1");
    twin.clear_faults();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the late replies drain
    expect_back_in_safe_state(boards, clock, twin, 0.5);
}

TEST(BoardFaultMatrix, ATcpLinkDownFaultsTheBoardAndItIsReopenedWhenTheLinkIsBack) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::TcpEndpoint server(twin);
    FixtureBoards boards(one_board(tcp_board("resets", "modbus-rtu", server.url(), 8)), clock,
                         [](const config::BoardConfig& b) { return open_board(b); });
    EXPECT_TRUE(boards.press_reset("A1", true));
    twin.set_link(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the server drops us
    EXPECT_FALSE(boards.press_reset("A1", false));
    EXPECT_TRUE(twin.channel(0));  // still pressed: nothing reached the board
    ASSERT_TRUE(boards.slot_fault("A1"));
    clock.advance(0.5);
    boards.poll();  // the reconnect is refused: still faulted
    EXPECT_TRUE(boards.slot_fault("A1"));
    const auto health = boards.health();
    ASSERT_EQ(health.size(), 1u);
    EXPECT_FALSE(health[0].healthy);
    EXPECT_NE(health[0].cause.find(server.url()), std::string::npos) << health[0].cause;
    twin.set_link(true);
    expect_back_in_safe_state(boards, clock, twin, 1.0);  // the press released on reconnect
    EXPECT_GE(server.connections(), 2);
}

TEST(BoardFaultMatrix, AnUnpluggedSerialBoardIsFoundOnItsNewPtyAndPutSafe) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::PtyEndpoint pty(twin);
    // A replug may give the adapter another device name; the opener asks where it is now,
    // as a usb:VID:PID port does.
    FixtureBoards boards(one_board(tcp_board("resets", "modbus-rtu", pty.path(), 8)), clock,
                         [&](config::BoardConfig b) {
                             b.port = pty.path();
                             return open_board(b);
                         });
    EXPECT_TRUE(boards.press_reset("A1", true));
    pty.unplug();
    EXPECT_FALSE(boards.press_reset("A1", false));
    EXPECT_TRUE(boards.slot_fault("A1"));
    clock.advance(0.5);
    boards.poll();
    EXPECT_TRUE(boards.slot_fault("A1"));  // still unplugged
    pty.replug();
    expect_back_in_safe_state(boards, clock, twin, 1.0);
}

TEST(BoardFaultMatrix, ABoardDownAtStartIsFaultedNotFatalAndReopenedInTheBackground) {
    SystemClock wall;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::TcpEndpoint server(twin);
    twin.set_link(false);
    FixtureBoards boards(
        one_board(tcp_board("resets", "modbus-rtu", server.url(), 8)), wall,
        [](const config::BoardConfig& b) { return open_board(b); }, Backoff{0.05, 0.2, 2.0});
    ASSERT_TRUE(boards.slot_fault("A1"));
    boards.reopen_in_background(5);
    twin.set_link(true);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (boards.slot_fault("A1") && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_FALSE(boards.slot_fault("A1"));
    EXPECT_TRUE(twin.channel(1));  // its safe state came first
    EXPECT_TRUE(boards.press_reset("A1", true));
    EXPECT_TRUE(twin.channel(0));
}

TEST(BoardFaultMatrix, ABoardThatGoesAwayWhileIdleIsFaultedByItsIdleProbe) {
    SystemClock wall;
    ManualClock clock;
    fixtures::ModbusTwin twin(1, 8, wall);
    fixtures::TcpEndpoint server(twin);
    FixtureBoards boards(one_board(tcp_board("resets", "modbus-rtu", server.url(), 8)), clock,
                         [](const config::BoardConfig& b) { return open_board(b); });
    boards.probe_idle_boards(2.0);
    const auto reads = [&] {
        int n = 0;
        for (const auto& r : twin.log()) n += r.command.rfind("read", 0) == 0;
        return n;
    };
    const int opened_with = reads();
    clock.advance(1.0);
    boards.poll();
    EXPECT_EQ(reads(), opened_with);  // used a second ago: left alone
    clock.advance(1.0);
    boards.poll();
    EXPECT_EQ(reads(), opened_with + 1);  // idle 2 s: read once
    EXPECT_FALSE(boards.slot_fault("A1"));
    twin.inject(BoardFault::no_answer, -1);
    clock.advance(2.0);
    boards.poll();
    ASSERT_TRUE(boards.slot_fault("A1"));  // seen while idle, before a unit needed it
    EXPECT_NE(boards.slot_fault("A1")->find("read coil 0"), std::string::npos);
}
