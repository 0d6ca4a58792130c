// The fault matrix (issue 16), board and camera cases, on the assembled line: the real
// drivers over TCP to the board twins, the station's own camera feed and LED vision on the
// camera twin. Each case has its expected verdict and reason, and none ends in a PASS that
// the evidence does not carry.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fixtures/virtual/boards/virtual_board.hpp"
#include "fixtures/virtual/camera/virtual_camera.hpp"
#include "tests/controller/rig.hpp"

using linestation::fixtures::BoardFault;
using linestation::testing::Rig;
using linestation::testing::RigOptions;

namespace {

constexpr const char* kResets = "reset-relays";
constexpr const char* kPower = "power-relays";

// The boards as a fixture file for a test would set them: a silent board costs 2 x 60 ms.
RigOptions quick_boards(int slots = 1) {
    RigOptions o;
    o.slots = slots;
    o.station_fixture = [](linestation::config::FixtureConfig& f) {
        for (auto& b : f.boards) {
            b.serial.timeout_ms = 60;
            b.retries = 1;
        }
    };
    return o;
}

// Steps until `done` holds or `limit_s` of virtual time passes.
template <typename Done>
bool step_until(Rig& rig, Done done, double limit_s) {
    const double end = rig.clock.now_s() + limit_s;
    while (!done() && rig.clock.now_s() < end) rig.step();
    return done();
}

const linestation::SlotView& slot(const std::vector<linestation::SlotView>& views,
                                  const std::string& id) {
    for (const auto& v : views) {
        if (v.slot == id) return v;
    }
    throw std::invalid_argument("no slot " + id);
}

// The device server's thread (wall time) takes in a link change before the line's next
// command (virtual time runs much faster than it).
void settle() {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
}

int passes(const Rig& rig) {
    int n = 0;
    for (const auto& r : rig.results) n += r.verdict == "PASS";
    return n;
}

}  // namespace

// Unplugged mid-press: the release cannot reach the board, so every unit on it ends FAIL
// fixture_fault (not the other board's), its slots show faulted with the cause, and the
// board's return first releases the press; then the slots take units again by themselves.
TEST(BoardFaults, UnpluggedMidPressIsReleasedOnReconnectAndTheSlotsRecoverByThemselves) {
    Rig rig(quick_boards(2));
    auto& resets = rig.vline->twin(kResets);
    rig.start();
    ASSERT_TRUE(step_until(
        rig, [&] { return resets.channel(0) && resets.channel(1); }, 5));
    resets.set_link(false);  // the device server drops off the network mid-press
    settle();
    ASSERT_TRUE(step_until(
        rig, [&] { return rig.results.size() == 2; }, 30));
    for (const auto& r : rig.results) {
        EXPECT_EQ(r.verdict, "FAIL") << r.slot;
        EXPECT_EQ(r.reason, "fixture_fault") << r.slot;
        EXPECT_NE(r.detail.find("reset-relays"), std::string::npos) << r.detail;
    }
    auto views = rig.line->slots();
    for (const auto* id : {"A1", "A2"}) {
        EXPECT_EQ(slot(views, id).step, "faulted") << id;
        ASSERT_TRUE(slot(views, id).fault) << id;
        EXPECT_NE(slot(views, id).fault->find(rig.vline->fixture().boards[0].port),
                  std::string::npos)
            << *slot(views, id).fault;
    }
    EXPECT_TRUE(resets.channel(0));  // the board still holds the press it was given
    auto health = rig.line->fixture_health();
    ASSERT_EQ(health.boards.size(), 2u);
    for (const auto& b : health.boards) EXPECT_EQ(b.healthy, b.board != kResets) << b.board;

    // The operator loads the next units while the board is away: they wait for it.
    for (const auto* id : {"A1", "A2"}) rig.line->next_unit(id, rig.vline->load(id));
    for (int i = 0; i < 30; ++i) rig.step();
    EXPECT_EQ(rig.results.size(), 2u);  // nothing started on a faulted slot, nothing failed

    resets.set_link(true);
    ASSERT_TRUE(step_until(
        rig, [&] { return slot(rig.line->slots(), "A1").step != "faulted"; }, 30));
    ASSERT_TRUE(step_until(
        rig, [&] { return rig.results.size() == 4; }, 600));
    for (std::size_t i = 2; i < 4; ++i) {
        EXPECT_EQ(rig.results[i].verdict, "PASS")
            << rig.results[i].reason << " " << rig.results[i].detail;
    }
    EXPECT_FALSE(resets.channel(0));
    EXPECT_FALSE(resets.channel(1));
    EXPECT_TRUE(rig.line->fixture_health().boards[1].healthy);
}

TEST(BoardFaults, ThePressIsReleasedBeforeTheSlotIsUsedAgain) {
    Rig rig(quick_boards(1));
    auto& resets = rig.vline->twin(kResets);
    rig.start();
    ASSERT_TRUE(step_until(
        rig, [&] { return resets.channel(0); }, 5));
    resets.set_link(false);
    settle();
    ASSERT_TRUE(step_until(
        rig, [&] { return rig.results.size() == 1; }, 30));
    const auto before = resets.log().size();
    resets.set_link(true);
    ASSERT_TRUE(step_until(
        rig, [&] { return slot(rig.line->slots(), "A1").step != "faulted"; }, 30));
    // What the board heard after its return, in order: the probe's read, then the safe
    // state of every output it has (reset released), before any unit used it.
    const auto log = resets.log();
    ASSERT_GT(log.size(), before);
    bool released = false;
    for (auto i = before; i < log.size(); ++i) {
        if (log[i].channel == 0) {
            EXPECT_FALSE(log[i].on) << log[i].command;
            released = true;
            break;
        }
    }
    EXPECT_TRUE(released);
    EXPECT_FALSE(resets.channel(0));
}

// A board that goes away while its slots are idle shows faulted (slots, health) within a few
// seconds, from the line's idle probe, not only when a unit needs it.
TEST(BoardFaults, ABoardThatGoesAwayWhileIdleShowsFaultedBeforeAUnitNeedsIt) {
    Rig rig(quick_boards(2));
    for (int i = 0; i < 30; ++i) rig.step();
    for (const auto& v : rig.line->slots()) EXPECT_EQ(v.step, "idle") << v.slot;
    rig.vline->twin(kPower).set_link(false);
    settle();
    ASSERT_TRUE(step_until(
        rig, [&] { return slot(rig.line->slots(), "A1").step == "faulted"; }, 5));
    EXPECT_EQ(slot(rig.line->slots(), "A2").step, "faulted");
    EXPECT_FALSE(rig.line->fixture_health().boards[0].healthy);
    rig.vline->twin(kPower).set_link(true);
    ASSERT_TRUE(step_until(
        rig, [&] { return slot(rig.line->slots(), "A1").step == "idle"; }, 10));
    EXPECT_TRUE(rig.vline->twin(kPower).channel(0));  // powered, its safe state
}

// CRC garbage on every reply of the power board mid-unit: FAIL fixture_fault with the
// driver's cause, never PASS; a single bad reply is the driver's retry's business only.
TEST(BoardFaults, CrcGarbageFailsTheUnitAsAFixtureFaultAndASingleOneIsRetried) {
    Rig rig(quick_boards(1));
    auto& power = rig.vline->twin(kPower);
    auto& resets = rig.vline->twin(kResets);
    resets.inject(BoardFault::bad_reply, 1);
    resets.inject(BoardFault::garbage, 1);
    rig.start();
    rig.run_until(1);
    ASSERT_EQ(rig.results.size(), 1u);
    EXPECT_EQ(rig.results[0].verdict, "PASS") << rig.results[0].reason;

    rig.line->next_unit("A1", rig.vline->load("A1"));
    ASSERT_TRUE(step_until(
        rig, [&] { return resets.channel(0); }, 5));
    resets.inject(BoardFault::bad_reply, -1);
    ASSERT_TRUE(step_until(
        rig, [&] { return rig.results.size() == 2; }, 30));
    EXPECT_EQ(rig.results[1].verdict, "FAIL");
    EXPECT_EQ(rig.results[1].reason, "fixture_fault");
    EXPECT_NE(rig.results[1].detail.find("CRC"), std::string::npos) << rig.results[1].detail;
    resets.clear_faults();
    ASSERT_TRUE(step_until(
        rig, [&] { return slot(rig.line->slots(), "A1").step != "faulted"; }, 30));
    EXPECT_FALSE(resets.channel(0));
    EXPECT_TRUE(power.channel(0));
}

// A board that never answers: each unit on it ends FAIL fixture_fault, the slot shows why,
// and when it answers again the slot takes the unit it was loaded with and passes it.
TEST(BoardFaults, ABoardThatNeverAnswersFaultsItsSlotUntilItAnswers) {
    Rig rig(quick_boards(1));
    auto& resets = rig.vline->twin(kResets);
    resets.inject(BoardFault::no_answer, -1);
    rig.start();
    ASSERT_TRUE(step_until(
        rig, [&] { return rig.results.size() == 1; }, 30));
    EXPECT_EQ(rig.results[0].verdict, "FAIL");
    EXPECT_EQ(rig.results[0].reason, "fixture_fault");
    auto view = slot(rig.line->slots(), "A1");
    EXPECT_EQ(view.step, "faulted");
    ASSERT_TRUE(view.fault);
    EXPECT_NE(view.fault->find("no answer within 60 ms"), std::string::npos) << *view.fault;
    rig.line->next_unit("A1", rig.vline->load("A1"));
    for (int i = 0; i < 100; ++i) rig.step();  // retried with backoff, still silent
    EXPECT_EQ(rig.results.size(), 1u);
    resets.clear_faults();
    rig.run_until(2);
    ASSERT_EQ(rig.results.size(), 2u);
    EXPECT_EQ(rig.results[1].verdict, "PASS") << rig.results[1].reason;
}

// A board that answers late: within the driver's timeout the unit passes; beyond it, on
// every attempt, it is a fixture fault, never a PASS.
TEST(BoardFaults, ALateAnswerWithinTheTimeoutPassesBeyondItIsAFixtureFault) {
    auto o = quick_boards(1);
    o.station_fixture = [](linestation::config::FixtureConfig& f) {
        for (auto& b : f.boards) {
            b.serial.timeout_ms = 250;
            b.retries = 1;
        }
    };
    Rig rig(o);
    auto& resets = rig.vline->twin(kResets);
    resets.set_late_by(0.05);
    resets.inject(BoardFault::late, -1);
    rig.start();
    rig.run_until(1);
    ASSERT_EQ(rig.results.size(), 1u);
    EXPECT_EQ(rig.results[0].verdict, "PASS") << rig.results[0].reason;

    resets.set_late_by(0.8);
    rig.line->next_unit("A1", rig.vline->load("A1"));
    ASSERT_TRUE(step_until(
        rig, [&] { return rig.results.size() == 2; }, 30));
    EXPECT_EQ(rig.results[1].verdict, "FAIL");
    EXPECT_EQ(rig.results[1].reason, "fixture_fault");
    EXPECT_NE(rig.results[1].detail.find("no answer within 250 ms"), std::string::npos)
        << rig.results[1].detail;
    EXPECT_EQ(passes(rig), 1);
}

// A board down when the station starts: the line is assembled all the same, its slots are
// faulted (and say so in the health report), the batch's units wait for them, and the slots
// recover when the board appears.
TEST(BoardFaults, ABoardDownAtStartFaultsItsSlotsUntilItAppears) {
    auto o = quick_boards(2);
    o.before_station = [](linestation::virtual_line::VirtualLine& line) {
        line.twin(kPower).set_link(false);
        settle();
    };
    Rig rig(o);
    auto health = rig.line->fixture_health();
    ASSERT_EQ(health.boards.size(), 2u);
    EXPECT_FALSE(health.boards[0].healthy);  // power-relays sorts first
    EXPECT_EQ(health.boards[0].board, kPower);
    EXPECT_TRUE(health.boards[1].healthy);
    for (const auto& v : rig.line->slots()) EXPECT_EQ(v.step, "faulted") << v.slot;
    rig.start();
    for (int i = 0; i < 50; ++i) rig.step();
    EXPECT_TRUE(rig.results.empty());  // no unit started only to fail
    EXPECT_FALSE(rig.vline->twin(kResets).channel(0));
    rig.vline->twin(kPower).set_link(true);
    rig.run_until(2);
    ASSERT_EQ(rig.results.size(), 2u);
    for (const auto& r : rig.results) EXPECT_EQ(r.verdict, "PASS") << r.slot << " " << r.reason;
    EXPECT_TRUE(rig.line->fixture_health().boards[0].healthy);
}

// The camera goes away mid-unit, seen through the station's own vision: INCONCLUSIVE
// camera_lost, never PASS, and the health report says the camera is not ok.
TEST(CameraFaults, ACameraLostMidUnitIsInconclusiveNeverPass) {
    RigOptions o;
    o.vision = true;
    Rig rig(o);
    rig.start();
    for (int i = 0; i < 100; ++i) rig.step();  // mid-flow: pressed, booting
    ASSERT_TRUE(rig.results.empty());
    EXPECT_TRUE(rig.line->fixture_health().camera_ok);
    rig.vline->lose_camera(true);
    rig.run_until(1, 30);
    ASSERT_EQ(rig.results.size(), 1u);
    EXPECT_EQ(rig.results[0].verdict, "INCONCLUSIVE");
    EXPECT_EQ(rig.results[0].reason, "camera_lost");
    EXPECT_FALSE(rig.line->fixture_health().camera_ok);
    rig.vline->lose_camera(false);
    for (int i = 0; i < 100; ++i) {
        rig.step();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the reopen's thread
    }
    EXPECT_TRUE(rig.line->fixture_health().camera_ok);
}

namespace {

// A camera that hangs on demand: it keeps delivering the frame it had when it hung.
class FreezingCamera final : public linestation::drivers::FrameSource {
  public:
    FreezingCamera(std::unique_ptr<linestation::drivers::FrameSource> camera, const bool& frozen)
        : camera_(std::move(camera)), frozen_(frozen) {}
    std::optional<linestation::drivers::CameraFrame> read() override {
        auto f = camera_->read();
        if (!f) return f;
        if (!frozen_ || last_.empty()) {
            last_ = f->image.clone();
        } else {
            f->image = last_.clone();
        }
        return f;
    }
    bool live() const override { return true; }
    const std::vector<std::string>& warnings() const override { return camera_->warnings(); }

  private:
    std::unique_ptr<linestation::drivers::FrameSource> camera_;
    const bool& frozen_;
    cv::Mat last_;
};

}  // namespace

// Frozen frames mid-unit: the same picture over and over is a lost camera, so the unit is
// INCONCLUSIVE camera_lost (never a PASS read off a stale picture).
TEST(CameraFaults, FrozenFramesMidUnitAreALostCamera) {
    static bool frozen = false;
    frozen = false;
    RigOptions o;
    o.vision = true;
    o.camera = [](std::unique_ptr<linestation::drivers::FrameSource> camera) {
        return std::make_unique<FreezingCamera>(std::move(camera), frozen);
    };
    Rig rig(o);
    rig.start();
    for (int i = 0; i < 100; ++i) rig.step();
    ASSERT_TRUE(rig.results.empty());
    frozen = true;
    rig.run_until(1, 30);
    ASSERT_EQ(rig.results.size(), 1u);
    EXPECT_EQ(rig.results[0].verdict, "INCONCLUSIVE");
    EXPECT_EQ(rig.results[0].reason, "camera_lost");
    EXPECT_FALSE(rig.line->fixture_health().camera_ok);
}

// The feed itself: frames that freeze are lost after frozen_after_s, a reopen that brings the
// same picture is lost at once, and a camera that thaws is read again.
TEST(CameraFaults, TheFeedTakesFrozenFramesForALostCameraUntilTheyMoveAgain) {
    using namespace linestation;
    auto recipe =
        config::load_recipe(config::default_station_config().recipes_dir / "tuya-ipc-camera.json");
    auto fixture = virtual_line::virtual_fixture(2);
    ManualClock clock;
    virtual_line::VirtualCamera camera(
        fixture,
        [](const std::string& slot, double t) {
            const auto program = slot == "A1" ? virtual_line::LedProgram{"red", "blink", 2.0}
                                              : virtual_line::LedProgram{"green", "steady", 0};
            return virtual_line::emitted_colour(program.color_at(t));
        },
        clock, 3);
    app::CameraLedFeed feed(
        fixture, &recipe, [&] { return camera.open(); }, clock);
    std::map<std::string, std::string> state;
    const auto run = [&](double until_s) {
        std::vector<vision::LedObservation> seen;
        while (clock.now_s() < until_s - 1e-9) {
            clock.advance(0.1);
            for (const auto& o : feed.poll(clock.now_s())) {
                seen.push_back(o);
                state[o.slot] = o.camera_lost ? "lost" : o.state.value_or("?");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));  // reopens' thread
        }
        return seen;
    };
    run(10);
    EXPECT_EQ(state["A1"], "ready");
    EXPECT_TRUE(feed.camera_ok());
    camera.freeze(true);
    auto seen = run(10.5);
    EXPECT_TRUE(feed.camera_ok());  // half a second of the same picture: not yet
    seen = run(12);
    EXPECT_FALSE(feed.camera_ok());
    EXPECT_EQ(state["A1"], "lost");
    EXPECT_EQ(state["A2"], "lost");
    // Reopened (it opens fine) but still the same picture: still lost, nothing decided.
    seen = run(20);
    EXPECT_FALSE(feed.camera_ok());
    for (const auto& o : seen) EXPECT_TRUE(o.camera_lost) << o.slot << " " << o.color;
    camera.freeze(false);
    run(32);
    EXPECT_TRUE(feed.camera_ok());
    EXPECT_EQ(state["A1"], "ready");
    EXPECT_EQ(state["A2"], "online");
}
