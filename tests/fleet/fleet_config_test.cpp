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
    EXPECT_EQ(c.fleet->day_offset_min, 0);  // UTC unless configured
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
    EXPECT_EQ(fleet::quota_day(t, 0), "2026-12-01");
    EXPECT_EQ(fleet::quota_day(t, 480), "2026-12-02");
    EXPECT_EQ(fleet::quota_day(t, -300), "2026-12-01");
    EXPECT_EQ(
        parse(R"({"url": "postgresql://h/db", "day_zone": "UTC+08:00"})").fleet->day_offset_min,
        480);
}
