// Sessions and login throttling on virtual time.
#include <gtest/gtest.h>

#include <set>

#include "station/auth/session.hpp"

using namespace linestation;

TEST(Sessions, IdsAreRandomAndSessionsExpireWhenIdle) {
    ManualClock clock;
    auth::SessionTable table(clock, 60, 600);
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) ids.insert(table.create("op", "operator", {}).id);
    EXPECT_EQ(ids.size(), 100u);
    auto s = table.create("op", "operator", {"cam-a"});
    EXPECT_NE(s.id, s.csrf_token);
    clock.advance(50);
    ASSERT_TRUE(table.find(s.id));  // touching restarts the idle timer
    clock.advance(50);
    ASSERT_TRUE(table.find(s.id));
    clock.advance(61);
    EXPECT_FALSE(table.find(s.id));
    EXPECT_FALSE(table.find(""));
}

// What the live sockets' sweep asks: an open page must not keep an idle session alive.
TEST(Sessions, AskingWhetherASessionIsAliveDoesNotRestartItsIdleTimer) {
    ManualClock clock;
    auth::SessionTable table(clock, 60, 600);
    auto s = table.create("op", "operator", {});
    for (int i = 0; i < 6; ++i) {
        clock.advance(10);
        EXPECT_TRUE(table.alive(s.id)) << "after " << 10 * (i + 1) << " s";
    }
    clock.advance(1);
    EXPECT_FALSE(table.alive(s.id));
    EXPECT_FALSE(table.find(s.id));
    EXPECT_FALSE(table.alive(""));
    EXPECT_FALSE(table.alive("no-such-session"));
}

TEST(Sessions, MaxAgeEndsEvenBusySessionsAndLoginsCanBeEnded) {
    ManualClock clock;
    auth::SessionTable table(clock, 60, 120);
    auto s = table.create("op", "operator", {});
    auto other = table.create("sup", "supervisor", {});
    for (int i = 0; i < 5; ++i) {
        clock.advance(30);
        table.find(s.id);
    }
    EXPECT_FALSE(table.find(s.id));
    auto again = table.create("sup", "supervisor", {});
    table.remove_login("sup");
    EXPECT_FALSE(table.find(again.id));
    EXPECT_FALSE(table.find(other.id));
}

TEST(LoginThrottle, LocksAfterFailuresUntilTheWindowPasses) {
    ManualClock clock;
    auth::LoginThrottle throttle(clock, 3, 60);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(throttle.retry_after_s("op|1.2.3.4"), 0);
        throttle.record_failure("op|1.2.3.4");
        clock.advance(1);
    }
    EXPECT_NEAR(throttle.retry_after_s("op|1.2.3.4"), 57, 0.01);
    EXPECT_EQ(throttle.retry_after_s("op|5.6.7.8"), 0);
    clock.advance(58);
    EXPECT_EQ(throttle.retry_after_s("op|1.2.3.4"), 0);
    throttle.record_failure("sup|1.2.3.4");
    throttle.record_success("sup|1.2.3.4");
    EXPECT_EQ(throttle.retry_after_s("sup|1.2.3.4"), 0);
}

TEST(Tokens, ConstantTimeEqualComparesWholeStrings) {
    EXPECT_TRUE(auth::constant_time_equal("abc", "abc"));
    EXPECT_FALSE(auth::constant_time_equal("abc", "abd"));
    EXPECT_FALSE(auth::constant_time_equal("abc", "abcd"));
    EXPECT_FALSE(auth::constant_time_equal("", "a"));
    EXPECT_EQ(auth::random_token(16).size(), 32u);
}
