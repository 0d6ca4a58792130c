#include "station/fleet/quota_day.hpp"

#include <date/tz.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "station/config/station_config.hpp"

namespace linestation::fleet {

namespace {
std::string ymd_text(date::local_days day) {
    const date::year_month_day ymd{day};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text;
}
}  // namespace

std::optional<QuotaDayZone> QuotaDayZone::parse(const std::string& zone) {
    QuotaDayZone z;
    if (auto offset = config::parse_utc_offset(zone)) {
        z.offset_min_ = *offset;
        return z;
    }
    // A zone name is a path below the tz database: refuse anything that could leave it.
    if (zone.empty() || zone.front() == '/' || zone.find("..") != std::string::npos) {
        return std::nullopt;
    }
    try {
        z.named_ = date::locate_zone(zone);
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
    return z;
}

std::string QuotaDayZone::day_of(std::int64_t wall_ms) const {
    using namespace std::chrono;
    const date::sys_time<milliseconds> t{milliseconds(wall_ms)};
    if (named_) {
        return ymd_text(date::floor<date::days>(named_->to_local(t)));
    }
    const date::local_time<milliseconds> local{t.time_since_epoch() + minutes(offset_min_)};
    return ymd_text(date::floor<date::days>(local));
}

}  // namespace linestation::fleet
