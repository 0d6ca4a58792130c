#pragma once
// The station's own configuration file (JSON). Relative paths in it are relative to
// the file's folder. Secrets may be given inline or, better, as the name of an
// environment variable that holds them (`secret_env`, `password_env`).

#include <filesystem>
#include <optional>
#include <string>

#include "station/config/json_reader.hpp"
#include "station/fleet/quota_day.hpp"
#include "station/mes/mes_settings.hpp"

namespace linestation::config {

// Which of Tuya's two OpenAPI families the cloud project pairs through: the /v1.0 device
// pairing APIs (tokens for a user uid), or the industry device-registration APIs (tokens for
// an asset).
enum class CloudApi { Pairing, DeviceRegistration };

struct CloudSettings {
    std::string endpoint;  // https://openapi.tuyaeu.com, or http://127.0.0.1:PORT for the emulator
    std::string client_id;
    std::string secret;  // resolved from secret or secret_env; never logged
    std::string uid;     // the account that owns the pairing tokens
    int unbind_quota_per_account = 100;
    int unbind_quota_per_product = 100;
    CloudApi api = CloudApi::Pairing;  // "api": "pairing" (default) or "device-registration"
    std::string asset_id;  // the industry family's asset the devices register to (required there)
    // The store's name for the account: empty for the config's own ("config:<uid>"), the
    // admin's name for an account added on the dashboard.
    std::string account_name;
    // Seconds to wait for each answer ("timeout_s"); a slow site proxy may need more.
    double timeout_s = 10;
};

struct WifiSettings {
    std::string ssid;
    std::string password;  // never logged
};

// Where wired devices' UDP announcements are heard (Tuya's ports 6666 plain, 6667
// encrypted); port 0 picks a free one (the twins, tests).
struct LanSettings {
    std::string bind = "0.0.0.0";
    int plain_port = 6666;
    int encrypted_port = 6667;
};

// The fleet's PostgreSQL: results forwarded there, daily quotas reserved there.
struct FleetSettings {
    std::string url;         // postgresql://...; from "url" or "url_env"; never logged
    std::string station_id;  // this station's id in the fleet (default: the station's id)
    std::string when_offline = "stop";  // "stop" admits no unit, "lease" spends a leased block
    int lease = 5;                      // units per leased block
    // The quota day's time zone: "UTC", a fixed offset "UTC+08:00" / "UTC-05:30", or a
    // named zone such as "Asia/Shanghai". Tuya documents no time zone for its daily quota,
    // so the default is UTC.
    std::string day_zone = "UTC";
    fleet::QuotaDayZone quota_zone;  // parsed from day_zone
};

// "UTC", "UTC+08:00", "UTC-0530": minutes east of UTC; nullopt when not one of these.
std::optional<int> parse_utc_offset(const std::string& zone);

struct HttpsSettings {
    std::filesystem::path certificate;
    std::filesystem::path private_key;
};

// "evidence": {"max_mb": N, "max_days": N}: how much of the verdicts' camera crops the store
// keeps; the oldest pictures go first past either bound, their records stay. Unset: the
// store's defaults (256 MB, 90 days; a capped store keeps pictures to a quarter of its cap).
struct EvidenceSettings {
    std::optional<double> max_mb;
    std::optional<double> max_days;
};

struct StationConfig {
    std::filesystem::path source;  // empty for the built-in defaults
    std::string station_id = "station-1";
    std::string station_name = "LineStation";
    std::string http_bind = "127.0.0.1";
    int http_port = 8080;
    std::optional<HttpsSettings> https;
    std::filesystem::path store_path = "var/station.db";
    // "store": {"max_size_mb": N}: the store refuses writes past N MB (as on a full disk).
    std::optional<double> store_max_size_mb;
    EvidenceSettings evidence;
    std::filesystem::path log_file = "var/log/station.log";
    std::string log_level = "information";
    // Empty: run the virtual line.
    std::optional<std::filesystem::path> fixture_file;
    std::filesystem::path recipes_dir;
    std::optional<CloudSettings> cloud;
    WifiSettings wifi{"LineStation-Test", "line-station-pass"};
    LanSettings lan;  // listened on only when a recipe has a wired flow
    std::optional<FleetSettings> fleet;
    // "mes": result sinks toward the factory's MES (station/mes/mes_settings.hpp).
    std::optional<mes::MesSettings> mes;
    // "ui": {"language": "zh-CN" | "en"}: the dashboard's language for every browser of
    // this station (a browser's own pick on the page's switch still wins); empty: the
    // browser's language.
    std::string ui_language;
};

// Where an admin-added cloud account's secret lives (the store keeps only this reference):
// "env:NAME" or "NAME" is an environment variable, "file:PATH" a file (its first line).
// Throws ConfigError naming the reference (never a secret) when it cannot be read.
std::string resolve_secret_ref(const std::string& account, const std::string& ref,
                               const char* (*environment)(const char*) = nullptr);

// `environment` looks up a variable; nullptr means std::getenv.
StationConfig parse_station_config(const JsonNode& root, const std::filesystem::path& base_dir,
                                   const char* (*environment)(const char*) = nullptr);
StationConfig load_station_config(const std::filesystem::path& file);
// Defaults for running without a config file: the virtual line, local store.
StationConfig default_station_config();

}  // namespace linestation::config
