#include "station/config/station_config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "station/config/shipped_files.hpp"

namespace linestation::config {

namespace {

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
    std::filesystem::path path(p);
    return path.is_absolute() || base.empty() ? path : base / path;
}

// A secret either inline (`key`) or from an environment variable (`key_env`).
std::string read_secret(const JsonNode& node, const std::string& key,
                        const char* (*environment)(const char*)) {
    auto env_key = key + "_env";
    if (auto inline_value = node.find(key)) {
        if (node.has(env_key))
            inline_value->fail_problem("give " + key + " or " + env_key + ", not both");
        return inline_value->as_string();
    }
    auto env_node = node.find(env_key);
    if (!env_node) {
        throw ConfigError(node.file(), node.path() + "." + key,
                          "missing; give \"" + key + "\" or \"" + env_key + "\"");
    }
    auto name = env_node->as_nonempty_string();
    const char* value = environment ? environment(name.c_str()) : std::getenv(name.c_str());
    if (!value) env_node->fail_problem("environment variable " + name + " is not set");
    return value;
}

}  // namespace

std::string resolve_secret_ref(const std::string& account, const std::string& ref,
                               const char* (*environment)(const char*)) {
    const std::string where = "cloud account \"" + account + "\"";
    if (ref.rfind("file:", 0) == 0) {
        const std::filesystem::path path = ref.substr(5);
        std::ifstream in(path);
        std::string line;
        if (!in || !std::getline(in, line) || line.empty()) {
            throw ConfigError(path.string(), "secret_ref",
                              where + ": the secret file is missing or empty");
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }
    const std::string name = ref.rfind("env:", 0) == 0 ? ref.substr(4) : ref;
    if (name.empty()) throw ConfigError("", "secret_ref", where + ": empty reference");
    const char* value = environment ? environment(name.c_str()) : std::getenv(name.c_str());
    if (!value || !*value) {
        throw ConfigError("", "secret_ref",
                          where + ": environment variable " + name + " is not set");
    }
    return value;
}

std::optional<int> parse_utc_offset(const std::string& zone) {
    if (zone == "UTC" || zone == "Z") return 0;
    if (zone.size() < 5 || zone.rfind("UTC", 0) != 0) return std::nullopt;
    const char sign = zone[3];
    if (sign != '+' && sign != '-') return std::nullopt;
    std::string digits;
    for (std::size_t i = 4; i < zone.size(); ++i) {
        if (zone[i] == ':' && i == 6) continue;
        if (zone[i] < '0' || zone[i] > '9') return std::nullopt;
        digits += zone[i];
    }
    if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
    const int hours = std::stoi(digits.substr(0, 2));
    const int minutes = digits.size() == 4 ? std::stoi(digits.substr(2, 2)) : 0;
    if (hours > 14 || minutes > 59) return std::nullopt;
    const int total = hours * 60 + minutes;
    return sign == '+' ? total : -total;
}

StationConfig default_station_config() {
    StationConfig c;
    c.recipes_dir = shipped_files().recipes_dir;
    return c;
}

StationConfig parse_station_config(const JsonNode& root, const std::filesystem::path& base_dir,
                                   const char* (*environment)(const char*)) {
    root.allow_only({"schema", "station", "http", "store", "log", "fixture", "recipes", "cloud",
                     "wifi", "lan", "fleet", "mes", "ui", "evidence", "description"});
    StationConfig c = default_station_config();
    c.source = root.file();
    if (auto schema = root.find("schema")) schema->as_int(1, 1);

    if (auto station = root.find("station")) {
        station->allow_only({"id", "name"});
        c.station_id = station->at("id").as_nonempty_string();
        c.station_name = station->string_or("name", c.station_id);
    }
    if (auto http = root.find("http")) {
        http->allow_only({"bind", "port", "https"});
        c.http_bind = http->string_or("bind", c.http_bind);
        c.http_port = static_cast<int>(http->int_or("port", c.http_port, 0, 65535));
        if (auto https = http->find("https")) {
            https->allow_only({"certificate", "private_key"});
            c.https =
                HttpsSettings{resolve(base_dir, https->at("certificate").as_nonempty_string()),
                              resolve(base_dir, https->at("private_key").as_nonempty_string())};
        }
    }
    if (auto ui = root.find("ui")) {
        ui->allow_only({"language"});
        if (auto language = ui->find("language"))
            c.ui_language = language->as_one_of({"en", "zh-CN"});
    }
    if (auto store = root.find("store")) {
        store->allow_only({"path", "max_size_mb"});
        c.store_path = resolve(base_dir, store->at("path").as_nonempty_string());
        if (auto max = store->find("max_size_mb")) c.store_max_size_mb = max->as_positive_number();
    } else {
        c.store_path = resolve(base_dir, c.store_path.string());
    }
    if (auto evidence = root.find("evidence")) {
        evidence->allow_only({"max_mb", "max_days"});
        if (auto mb = evidence->find("max_mb")) {
            c.evidence.max_mb = mb->as_positive_number();
            // Pictures never crowd out verdicts: a capped store gives them a quarter at most.
            if (c.store_max_size_mb && *c.evidence.max_mb > *c.store_max_size_mb / 4) {
                std::ostringstream quarter;
                quarter << *c.store_max_size_mb / 4;
                mb->fail("at most " + quarter.str() + " MB (a quarter of store.max_size_mb)");
            }
        }
        if (auto days = evidence->find("max_days")) {
            c.evidence.max_days = days->as_positive_number();
            if (*c.evidence.max_days > 3650) days->fail("at most 3650 days (ten years)");
        }
    }
    if (auto log = root.find("log")) {
        log->allow_only({"file", "level"});
        c.log_file = resolve(base_dir, log->string_or("file", c.log_file.string()));
        if (auto level = log->find("level")) {
            c.log_level = level->as_one_of({"fatal", "critical", "error", "warning", "notice",
                                            "information", "debug", "trace"});
        }
    } else {
        c.log_file = resolve(base_dir, c.log_file.string());
    }
    if (auto fixture = root.find("fixture")) {
        if (!fixture->is_null()) c.fixture_file = resolve(base_dir, fixture->as_nonempty_string());
    }
    if (auto recipes = root.find("recipes")) {
        c.recipes_dir = resolve(base_dir, recipes->as_nonempty_string());
    }
    if (auto cloud = root.find("cloud")) {
        cloud->allow_only({"endpoint", "client_id", "secret", "secret_env", "uid",
                           "unbind_quota_per_account", "unbind_quota_per_product", "api",
                           "asset_id", "timeout_s"});
        CloudSettings s;
        auto endpoint = cloud->at("endpoint");
        s.endpoint = endpoint.as_nonempty_string();
        if (s.endpoint.rfind("https://", 0) != 0 && s.endpoint.rfind("http://127.", 0) != 0 &&
            s.endpoint.rfind("http://localhost", 0) != 0) {
            endpoint.fail("an https:// URL (plain http only to the loopback emulator)");
        }
        s.client_id = cloud->at("client_id").as_nonempty_string();
        s.secret = read_secret(*cloud, "secret", environment);
        s.uid = cloud->at("uid").as_nonempty_string();
        s.unbind_quota_per_account = static_cast<int>(
            cloud->int_or("unbind_quota_per_account", s.unbind_quota_per_account, 1, 1000000));
        s.unbind_quota_per_product = static_cast<int>(
            cloud->int_or("unbind_quota_per_product", s.unbind_quota_per_product, 1, 1000000));
        s.timeout_s = cloud->positive_or("timeout_s", s.timeout_s);
        if (auto api = cloud->find("api")) {
            if (api->as_one_of({"pairing", "device-registration"}) == "device-registration") {
                s.api = CloudApi::DeviceRegistration;
            }
        }
        if (auto asset = cloud->find("asset_id")) {
            s.asset_id = asset->as_nonempty_string();
            if (s.api != CloudApi::DeviceRegistration) {
                asset->fail_problem(
                    "an asset id is used only with \"api\": \"device-registration\"; the "
                    "pairing API asks tokens for the uid");
            }
        } else if (s.api == CloudApi::DeviceRegistration) {
            cloud->fail_problem(
                "\"asset_id\" is required with \"api\": \"device-registration\" (the industry "
                "API registers devices to an asset)");
        }
        c.cloud = s;
    }
    if (auto lan = root.find("lan")) {
        lan->allow_only({"bind", "plain_port", "encrypted_port"});
        c.lan.bind = lan->string_or("bind", c.lan.bind);
        c.lan.plain_port = static_cast<int>(lan->int_or("plain_port", c.lan.plain_port, 0, 65535));
        c.lan.encrypted_port =
            static_cast<int>(lan->int_or("encrypted_port", c.lan.encrypted_port, 0, 65535));
    }
    if (auto fleet = root.find("fleet")) {
        fleet->allow_only({"url", "url_env", "station_id", "when_offline", "lease", "day_zone"});
        FleetSettings f;
        f.url = read_secret(*fleet, "url", environment);
        if (f.url.rfind("postgresql://", 0) != 0 && f.url.rfind("postgres://", 0) != 0) {
            // The URL may hold a password: the message names the field, not the value.
            (fleet->has("url") ? fleet->at("url") : fleet->at("url_env"))
                .fail_problem("expected a postgresql:// URL");
        }
        f.station_id = fleet->string_or("station_id", c.station_id);
        if (f.station_id.empty()) fleet->at("station_id").fail("a non-empty station id");
        if (auto mode = fleet->find("when_offline")) {
            f.when_offline = mode->as_one_of({"stop", "lease"});
        }
        f.lease = static_cast<int>(fleet->int_or("lease", f.lease, 1, 100));
        if (auto zone = fleet->find("day_zone")) {
            f.day_zone = zone->as_nonempty_string();
            auto parsed = fleet::QuotaDayZone::parse(f.day_zone);
            if (!parsed) {
                zone->fail(
                    "\"UTC\", a fixed offset such as \"UTC+08:00\" or a time zone such as "
                    "\"Asia/Shanghai\"");
            }
            f.quota_zone = *parsed;
        }
        c.fleet = f;
    }
    if (auto mes = root.find("mes")) c.mes = mes::parse_mes_settings(*mes);
    if (auto wifi = root.find("wifi")) {
        wifi->allow_only({"ssid", "password", "password_env"});
        auto ssid = wifi->at("ssid");
        c.wifi.ssid = ssid.as_nonempty_string();
        if (c.wifi.ssid.size() > 32) ssid.fail("an SSID of at most 32 bytes");
        c.wifi.password = read_secret(*wifi, "password", environment);
        if (c.wifi.password.size() > 64) {
            wifi->fail_problem("the Wi-Fi password is longer than 64 characters");
        }
    }
    return c;
}

StationConfig load_station_config(const std::filesystem::path& file) {
    auto root = JsonNode::load(file, JsonNode::Comments::Allowed);
    return parse_station_config(root, file.parent_path());
}

}  // namespace linestation::config
