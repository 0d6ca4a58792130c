#pragma once
// The day a quota counts in. Tuya documents no time zone for its daily quotas, so the site
// says which: "UTC" (the default), a fixed offset ("UTC+08:00"), or a named zone of the
// system's tz database ("Asia/Shanghai", "Europe/Berlin"), whose midnight moves with
// daylight saving time. Named zones are read through Howard Hinnant's date/tz.h on the
// system's /usr/share/zoneinfo (gcc 12 has no std::chrono tzdb).

#include <cstdint>
#include <optional>
#include <string>

namespace date {
class time_zone;
}

namespace linestation::fleet {

class QuotaDayZone {
  public:
    QuotaDayZone() = default;  // UTC
    // nullopt when `zone` is neither UTC, a fixed offset, nor a zone the system knows.
    static std::optional<QuotaDayZone> parse(const std::string& zone);
    // YYYY-MM-DD of an epoch-milliseconds time in this zone.
    std::string day_of(std::int64_t wall_ms) const;

  private:
    int offset_min_ = 0;
    const date::time_zone* named_ = nullptr;  // owned by the process's tz database
};

}  // namespace linestation::fleet
