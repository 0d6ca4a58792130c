#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <set>
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>

#include "fixtures/virtual/boards/board_endpoints.hpp"
#include "fixtures/virtual/boards/serial_board_twins.hpp"
#include "station/store/store.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using linestation::testing::ChildProcess;
using linestation::testing::run_process;
using linestation::testing::TempDir;

TEST(Crash, KillNineMidBatchLosesNoVerdictAndMarksInFlightUnitsInterrupted) {
    TempDir dir;
    const auto db = (dir / "station.db").string();
    std::set<std::int64_t> committed;
    {
        ChildProcess child({LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "100000",
                            "--db", db, "--progress", "--no-vision"});
        // Each progress line is printed only after its verdict was committed.
        for (int i = 0; i < 12; ++i) {
            auto line = child.wait_for_line("unit ", 60);
            ASSERT_FALSE(line.empty()) << "no progress from the shift";
            std::istringstream in(line.substr(line.find("unit ")));
            std::string word;
            std::int64_t id = 0;
            in >> word >> id;
            committed.insert(id);
        }
        const int status = child.stop(SIGKILL);
        EXPECT_TRUE(status == 128 + SIGKILL || status == -SIGKILL) << status;
    }
    std::vector<std::int64_t> in_flight;
    {
        linestation::store::Store store(db);
        for (auto id : committed) {
            auto u = store.unit(id);
            ASSERT_TRUE(u && u->verdict) << "unit " << id << " lost its committed verdict";
        }
        for (std::int64_t id = 1; id <= store.count_units(); ++id) {
            auto u = store.unit(id);
            if (u && !u->verdict) in_flight.push_back(id);
        }
    }
    ASSERT_FALSE(in_flight.empty()) << "the kill should have caught units in flight";
    // Start again: recovery runs before anything else.
    auto r = run_process(
        {LS_STATION_BINARY, "simulate", "--slots", "8", "--units", "0", "--db", db, "--no-vision"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("interrupted      " + std::to_string(in_flight.size())), std::string::npos)
        << r.out;
    linestation::store::Store store(db);
    for (auto id : in_flight) {
        auto u = store.unit(id);
        ASSERT_TRUE(u);
        EXPECT_EQ(u->verdict.value_or(""), "INTERRUPTED");
        const auto events = store.events(id);
        ASSERT_FALSE(events.empty());
        bool says_interrupted = false;
        for (const auto& e : events)
            says_interrupted |= e.detail_json.find("INTERRUPTED") != std::string::npos;
        EXPECT_TRUE(says_interrupted) << "unit " << id;
        // What it recorded before the kill is still there: at least its start.
        EXPECT_GE(events.size(), 2u) << "unit " << id << " lost its timeline";
    }
    for (auto id : committed) EXPECT_NE(store.unit(id)->verdict.value_or(""), "INTERRUPTED");
}

TEST(Crash, ServeKilledMidBatchComesBackWithItsUnitsInterrupted) {
    TempDir dir;
    const auto db = (dir / "station.db").string();
    std::vector<std::int64_t> started;
    {
        ChildProcess serve({LS_STATION_BINARY, "serve", "--port", "0", "--db", db, "--batch",
                            "unbind:tuya-ipc-camera"});
        ASSERT_FALSE(serve.wait_for_line("listening on", 30).empty());
        // Real time: within a few seconds every slot's unit is started and pressing reset.
        for (int i = 0; i < 100 && started.size() < 8; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            linestation::store::Store store(db);
            started.clear();
            for (std::int64_t id = 1; id <= store.count_units(); ++id) {
                for (const auto& e : store.events(id)) {
                    if (e.kind == "actuator") {
                        started.push_back(id);
                        break;
                    }
                }
            }
        }
        ASSERT_EQ(started.size(), 8u);
        serve.stop(SIGKILL);
    }
    ChildProcess again({LS_STATION_BINARY, "serve", "--port", "0", "--db", db});
    ASSERT_FALSE(again.wait_for_line("listening on", 30).empty());
    linestation::store::Store store(db);
    for (auto id : started) {
        auto u = store.unit(id);
        ASSERT_TRUE(u);
        // Its verdict came before the kill, or it is INTERRUPTED now: never left open.
        ASSERT_TRUE(u->verdict) << "unit " << id;
        if (*u->verdict == "INTERRUPTED") {
            EXPECT_GE(store.events(id).size(), 3u);
        }
    }
    EXPECT_EQ(again.stop(SIGTERM), 0);
}

TEST(Crash, ServeOnARealFixtureFileReleasesEveryRelayAtStartUp) {
    // The fixture's boards are twins behind TCP (a serial device server), opened by the
    // real drivers from the fixture file; the camera is a folder of frames.
    TempDir dir;
    linestation::SystemClock clock;
    linestation::fixtures::ModbusTwin reset(1, 2, clock);
    linestation::fixtures::ModbusTwin power(2, 2, clock);
    linestation::fixtures::TcpEndpoint reset_port(reset), power_port(power);
    std::filesystem::create_directories(dir / "frames");
    for (int i = 0; i < 3; ++i) {
        cv::imwrite((dir / "frames" / ("f" + std::to_string(i) + ".png")).string(),
                    cv::Mat(120, 160, CV_8UC3, cv::Scalar(20, 20, 20)));
    }
    auto board = [](const char* id, const std::string& url, int address) {
        return std::string(R"({"id":")") + id + R"(","driver":"modbus-rtu","port":")" + url +
               R"(","channels":2,"modbus_address":)" + std::to_string(address) + "}";
    };
    std::ofstream(dir / "fixture.json")
        << R"({"schema":1,"name":"tcp-2","boards":[)" << board("r", reset_port.url(), 1) << ","
        << board("p", power_port.url(), 2) << R"(],"camera":{"source":")"
        << (dir / "frames").string() << R"(","width":160,"height":120,"fps":10},"slots":[)"
        << R"({"id":"A1","reset":{"board":"r","channel":0},"power":{"board":"p","channel":0},"power_safe_state":"on","led":[10,10,20,20]},)"
        << R"({"id":"A2","reset":{"board":"r","channel":1},"power":{"board":"p","channel":1},"power_safe_state":"on","led":[60,10,20,20]}]})";
    std::ofstream(dir / "station.json")
        << R"({"schema":1,"station":{"id":"rig-1"},"store":{"path":"station.db"},)"
        << R"("log":{"file":"station.log"},"fixture":"fixture.json","recipes":")" << LS_SOURCE_DIR
        << R"(/recipes","lan":{"bind":"127.0.0.1","plain_port":0,"encrypted_port":0}})";
    // Twins start with every relay off: power off is not the slots' safe state.
    ASSERT_FALSE(power.channel(0));
    ChildProcess serve(
        {LS_STATION_BINARY, "serve", "--config", (dir / "station.json").string(), "--port", "0"});
    ASSERT_FALSE(serve.wait_for_line("listening on", 30).empty());
    EXPECT_FALSE(reset.channel(0));
    EXPECT_FALSE(reset.channel(1));
    EXPECT_TRUE(power.channel(0));
    EXPECT_TRUE(power.channel(1));
    EXPECT_FALSE(power.log().empty()) << "the driver never spoke to the power board";
    EXPECT_FALSE(reset.log().empty()) << "the reset relays were not released explicitly";
    EXPECT_EQ(serve.stop(SIGTERM), 0);
}
