// The station config's "fleet" section and the quota day's time zone.
#include <gtest/gtest.h>

#include <cstring>

#include "station/config/station_config.hpp"
#include "station/fleet/station_fleet.hpp"

using namespace linestation;

namespace {

const char* environment(const char* name) {
    return std::strcmp(name, "FLEET_URL") == 0 ? "postgresql://line:pw-from-env@db.plant/fleet"
                                               : nullptr;
}

config::StationConfig parse(const std::string& fleet) {
    return config::parse_station_config(
        config::JsonNode::parse(R"({"station": {"id": "st-3"}, "fleet": )" + fleet + "}",
                                "station.json"),
        "", environment);
}

std::string error_of(const std::string& fleet) {
    try {
        parse(fleet);
    } catch (const config::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(FleetConfig, UrlFromTheEnvironmentStationIdDefaultsToTheStations) {
    const auto c = parse(R"({"url_env": "FLEET_URL", "when_offline": "lease", "lease": 8})");
    ASSERT_TRUE(c.fleet);
    EXPECT_EQ(c.fleet->url, "postgresql://line:pw-from-env@db.plant/fleet");
    EXPECT_EQ(c.fleet->station_id, "st-3");
    EXPECT_EQ(c.fleet->when_offline, "lease");
    EXPECT_EQ(c.fleet->lease, 8);
    EXPECT_EQ(c.fleet->day_zone, "UTC");  // UTC unless configured
    EXPECT_EQ(c.fleet->quota_zone.day_of(1'796'140'800'000), "2026-12-01");
}

TEST(FleetConfig, BadValuesNameTheFieldAndNeverTheUrl) {
    EXPECT_NE(error_of(R"({"url": "postgresql://h/db", "when_offline": "pray"})")
                  .find("$.fleet.when_offline"),
              std::string::npos);
    const auto bad_url = error_of(R"({"url": "mysql://u:hunter2@h/db"})");
    EXPECT_NE(bad_url.find("$.fleet.url"), std::string::npos) << bad_url;
    EXPECT_EQ(bad_url.find("hunter2"), std::string::npos) << bad_url;
    EXPECT_NE(error_of(R"({"url_env": "NOT_SET"})").find("NOT_SET is not set"), std::string::npos);
    EXPECT_NE(error_of(R"({"url": "postgresql://h/db", "day_zone": "Mars/Olympus"})")
                  .find("$.fleet.day_zone"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"url": "postgresql://h/db", "lease": 0})").find("$.fleet.lease"),
              std::string::npos);
}

TEST(FleetConfig, TheQuotaDayTurnsAtTheConfiguredOffset) {
    EXPECT_EQ(config::parse_utc_offset("UTC+08:00"), 480);
    EXPECT_EQ(config::parse_utc_offset("UTC-0530"), -330);
    EXPECT_EQ(config::parse_utc_offset("UTC+8"), std::nullopt);
    EXPECT_EQ(config::parse_utc_offset("Asia/Shanghai"), std::nullopt);
    // 2026-12-01 17:30 UTC is already 2026-12-02 in UTC+08:00, still 12-01 in UTC-05:00.
    const std::int64_t t = 1'796'146'200'000;
    auto day = [](const char* zone, std::int64_t ms) {
        return fleet::QuotaDayZone::parse(zone).value().day_of(ms);
    };
    EXPECT_EQ(day("UTC", t), "2026-12-01");
    EXPECT_EQ(day("UTC+08:00", t), "2026-12-02");
    EXPECT_EQ(day("UTC-05:00", t), "2026-12-01");
    EXPECT_EQ(parse(R"({"url": "postgresql://h/db", "day_zone": "UTC+08:00"})")
                  .fleet->quota_zone.day_of(t),
              "2026-12-02");
}

TEST(FleetConfig, ANamedZoneTurnsTheDayAtItsOwnMidnight) {
    auto day = [](const char* zone, std::int64_t ms) {
        return fleet::QuotaDayZone::parse(zone).value().day_of(ms);
    };
    // Shanghai (UTC+8 all year): its 2026-12-02 begins at 2026-12-01 16:00 UTC.
    EXPECT_EQ(day("Asia/Shanghai", 1'796'140'799'999), "2026-12-01");
    EXPECT_EQ(day("Asia/Shanghai", 1'796'140'800'000), "2026-12-02");
    EXPECT_EQ(parse(R"({"url": "postgresql://h/db", "day_zone": "Asia/Shanghai"})")
                  .fleet->quota_zone.day_of(1'796'140'800'000),
              "2026-12-02");
    EXPECT_FALSE(fleet::QuotaDayZone::parse("Mars/Olympus"));
    EXPECT_FALSE(fleet::QuotaDayZone::parse("../../etc/passwd"));
    EXPECT_FALSE(fleet::QuotaDayZone::parse("/etc/localtime"));
}

TEST(FleetConfig, ADaylightSavingZoneMovesItsMidnight) {
    const auto berlin = fleet::QuotaDayZone::parse("Europe/Berlin").value();
    const auto fixed_winter = fleet::QuotaDayZone::parse("UTC+01:00").value();
    // Berlin springs forward on 2026-03-29 at 01:00 UTC. 2026-03-28 23:30 UTC is 00:30 CET
    // on the 29th; 2026-03-29 22:30 UTC is 00:30 CEST on the 30th, where a fixed +01:00
    // would still count the 29th.
    EXPECT_EQ(berlin.day_of(1'774'740'600'000), "2026-03-29");
    EXPECT_EQ(berlin.day_of(1'774'823'400'000), "2026-03-30");
    EXPECT_EQ(fixed_winter.day_of(1'774'823'400'000), "2026-03-29");
    // It falls back on 2026-10-25: that day lasts 25 hours, from 22:00 UTC on the 24th to
    // 23:00 UTC on the 25th.
    EXPECT_EQ(berlin.day_of(1'792'881'000'000), "2026-10-25");  // 10-24 22:30 UTC
    EXPECT_EQ(berlin.day_of(1'792'967'400'000), "2026-10-25");  // 10-25 22:30 UTC
    // New York springs forward on 2026-03-08: 04:30 UTC is 23:30 EST on the 7th, a day
    // later 04:30 UTC is 00:30 EDT on the 9th.
    const auto new_york = fleet::QuotaDayZone::parse("America/New_York").value();
    EXPECT_EQ(new_york.day_of(1'772'944'200'000), "2026-03-07");
    EXPECT_EQ(new_york.day_of(1'773'030'600'000), "2026-03-09");
}
