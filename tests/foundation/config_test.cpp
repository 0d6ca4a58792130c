#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "station/config/fixture.hpp"
#include "station/config/recipe.hpp"
#include "station/config/station_config.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

using namespace linestation::config;
using linestation::testing::TempDir;

namespace {

const char* kRecipe = R"({
  "product": {"id": "cam", "name": "Camera", "binding": "strong"},
  "reset": {"method": "long_press", "press_s": 3},
  "led": {"states": [
    {"state": "ready", "color": "red", "pattern": "blink", "freq_hz": [1.5, 2.5]},
    {"state": "online", "color": "green", "pattern": "steady"},
    {"state": "failed", "color": "red/green", "pattern": "alternate", "freq_hz": [0.2, 0.6]}
  ]},
  "flows": {"unbind": {"timeouts": {"ready_s": 60}, "limits": {"time_to_ready_s": {"max": 40}}}}
})";

// Parses `text` as file `name` and returns the error message, or "" when it loads.
template <typename Parse>
std::string error_of(const std::string& text, Parse parse,
                     const std::string& name = "recipes/cam.json") {
    try {
        parse(JsonNode::parse(text, name));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

std::string recipe_error(const std::string& text) {
    return error_of(text, [](const JsonNode& n) { parse_recipe(n); });
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST(Recipe, ValidRecipeLoadsIntoTypes) {
    auto r = parse_recipe(JsonNode::parse(kRecipe, "recipes/cam.json"));
    EXPECT_EQ(r.product_id, "cam");
    EXPECT_EQ(r.binding, BindingMode::Strong);
    EXPECT_EQ(r.reset.method, ResetMethod::LongPress);
    EXPECT_DOUBLE_EQ(r.reset.press_s, 3.0);
    EXPECT_DOUBLE_EQ(r.timeout_s("unbind", "ready_s", 0), 60.0);
    EXPECT_DOUBLE_EQ(r.timeout_s("unbind", "join_s", 77), 77.0);
    EXPECT_TRUE(r.flow("unbind")->limits.at("time_to_ready_s").accepts(39));
    EXPECT_FALSE(r.flow("unbind")->limits.at("time_to_ready_s").accepts(41));
    EXPECT_EQ(r.state_for("red", "blink", 2.0), "ready");
    EXPECT_EQ(r.state_for("red", "blink", 4.0), std::nullopt);
    EXPECT_EQ(r.state_for("red", "blink", std::nullopt), std::nullopt);
    EXPECT_EQ(r.state_for("green/red", "alternate", 0.4), "failed");
    EXPECT_EQ(r.state_for("green", "steady", std::nullopt), "online");
}

// Issue 12, "The recipe says what its labels carry": a unit's barcode is its label, and the
// recipe's product.label says which of the cloud's factory information it is (uuid, sn, mac)
// or that it is the device id itself; without the field it is the device id. A value
// outside the four is refused naming the file, the field, the value and what it may be.
TEST(Recipe, TheLabelSaysWhatAUnitsBarcodeCarries) {
    const std::string plain = R"("binding": "strong")";
    auto with_label = [&](const std::string& label) {
        return parse_recipe(
            JsonNode::parse(replace(kRecipe, plain, plain + R"(, "label": ")" + label + R"(")"),
                            "recipes/cam.json"));
    };
    EXPECT_EQ(parse_recipe(JsonNode::parse(kRecipe, "recipes/cam.json")).label,
              UnitLabel::DeviceId);
    for (const auto label : {UnitLabel::Uuid, UnitLabel::Sn, UnitLabel::Mac, UnitLabel::DeviceId}) {
        EXPECT_EQ(with_label(to_string(label)).label, label) << to_string(label);
    }
    EXPECT_EQ(recipe_error(replace(kRecipe, plain, plain + R"(, "label": "qr")")),
              "recipes/cam.json: $.product.label: expected one of \"device_id\", \"uuid\", "
              "\"sn\", \"mac\", got \"qr\"");
    EXPECT_NE(recipe_error(replace(kRecipe, plain, plain + R"(, "label": 7)"))
                  .find("recipes/cam.json: $.product.label: "),
              std::string::npos);
    // The shipped camera and plug recipes say their units carry the uuid.
    const auto shipped = default_station_config().recipes_dir;
    EXPECT_EQ(load_recipe(shipped / "tuya-ipc-camera.json").label, UnitLabel::Uuid);
    EXPECT_EQ(load_recipe(shipped / "tuya-smart-plug.json").label, UnitLabel::Uuid);
}

TEST(Recipe, WrongTypeNamesFilePathValueAndExpectation) {
    EXPECT_EQ(recipe_error(replace(kRecipe, R"("ready_s": 60)", R"("ready_s": "ten")")),
              "recipes/cam.json: $.flows.unbind.timeouts.ready_s: expected a positive number, got "
              "\"ten\"");
}

TEST(Recipe, EachKindOfErrorIsNamed) {
    // Not JSON at all.
    EXPECT_NE(recipe_error("{\"product\": ").find("recipes/cam.json: $: not valid JSON"),
              std::string::npos);
    // Missing required field.
    EXPECT_EQ(recipe_error(replace(kRecipe, R"("binding": "strong")", R"("category": "ipc")")),
              "recipes/cam.json: $.product.binding: missing; this field is required");
    // Value outside an enumeration.
    EXPECT_EQ(recipe_error(replace(kRecipe, R"("binding": "strong")", R"("binding": "sticky")")),
              "recipes/cam.json: $.product.binding: expected one of \"weak\", \"medium\", "
              "\"strong\", got \"sticky\"");
    // Negative duration.
    EXPECT_EQ(recipe_error(replace(kRecipe, R"("press_s": 3)", R"("press_s": -3)")),
              "recipes/cam.json: $.reset.press_s: expected a positive number, got -3");
    // Unknown field (a typo).
    EXPECT_NE(recipe_error(replace(kRecipe, R"("timeouts")", R"("timeout")"))
                  .find("$.flows.unbind.timeout: unknown field"),
              std::string::npos);
    // Bad colour inside an array element.
    EXPECT_EQ(recipe_error(replace(kRecipe, R"("color": "green")", R"("color": "purple")")),
              "recipes/cam.json: $.led.states[1].color: expected one of off, red, green, blue, "
              "amber, white, got \"purple\"");
    // Inverted range.
    EXPECT_NE(recipe_error(replace(kRecipe, "[1.5, 2.5]", "[2.5, 1.5]"))
                  .find("$.led.states[0].freq_hz: expected a range"),
              std::string::npos);
    // A blink's lit share is a fraction of its period, and only a blink has one.
    EXPECT_EQ(recipe_error(replace(kRecipe, "[1.5, 2.5]}", "[1.5, 2.5], \"duty\": [0.5, 1.5]}")),
              "recipes/cam.json: $.led.states[0].duty: expected lit shares between 0 and 1 "
              "(exclusive), got [0.5, 1.5]");
    EXPECT_NE(recipe_error(replace(kRecipe, "[0.2, 0.6]}", "[0.2, 0.6], \"duty\": [0.4, 0.6]}"))
                  .find("$.led.states[2].duty: duty applies only to the blink pattern"),
              std::string::npos);
    // Alternate needs two colours.
    EXPECT_NE(recipe_error(replace(kRecipe, R"("red/green")", R"("red")"))
                  .find("$.led.states[2].color: expected two colours"),
              std::string::npos);
    // Overlapping table rows make a state ambiguous.
    EXPECT_NE(
        recipe_error(replace(kRecipe, R"("state": "online")", R"("state": "online2")")
                         .insert(std::string(kRecipe).find(R"({"state": "online")"),
                                 R"({"state": "lit", "color": "green", "pattern": "steady"},)"))
            .find("overlaps the LED state"),
        std::string::npos);
    // Wrong container type.
    EXPECT_EQ(recipe_error(replace(kRecipe, R"("flows": {)", R"("flows": [{)").append("]")).empty(),
              false);
    // Limits with min above max.
    EXPECT_NE(recipe_error(replace(kRecipe, R"({"max": 40})", R"({"min": 50, "max": 40})"))
                  .find("$.flows.unbind.limits.time_to_ready_s: min"),
              std::string::npos);
}

TEST(Recipe, ShippedRecipesAllLoad) {
    auto recipes = load_recipes(LS_SOURCE_RECIPES_DIR);
    ASSERT_EQ(recipes.count("tuya-ipc-camera"), 1u);
    ASSERT_EQ(recipes.count("tuya-wired-gateway"), 1u);
    ASSERT_EQ(recipes.count("tuya-smart-plug"), 1u);
    const auto& cam = recipes.at("tuya-ipc-camera");
    EXPECT_EQ(cam.binding, BindingMode::Strong);
    // Tuya's IPC reset is a press held longer than 3 s (Peripheral Control, "长按 Reset 3
    // 秒"): the shipped recipes hold it 5 s, so bus latency never cuts it short.
    for (const auto& [id, recipe] : recipes) {
        if (recipe.reset.method != ResetMethod::PowerCycle) {
            EXPECT_GE(recipe.reset.press_s, 5.0) << id;
        }
    }
    EXPECT_DOUBLE_EQ(cam.reset.press_s, 5.0);
    // DESIGN.md's table: red 2 Hz = ready, green 1/3 Hz = joining, green steady = online.
    EXPECT_EQ(cam.state_for("red", "blink", 2.0), "ready");
    EXPECT_EQ(cam.state_for("green", "blink", 1.0 / 3.0), "joining");
    EXPECT_EQ(cam.state_for("green", "blink", 2.0), "activating");
    EXPECT_EQ(cam.state_for("green", "steady", std::nullopt), "online");
    EXPECT_EQ(recipes.at("tuya-wired-gateway").pairing, PairingMethod::Wired);
    EXPECT_EQ(recipes.at("tuya-smart-plug").binding, BindingMode::Weak);
}

// A batch records the hash of its recipe: the SHA-256 of the file's bytes, the figure
// sha256sum prints for the file.
TEST(Recipe, LoadedRecipeCarriesTheSha256OfItsFile) {
    const std::string file = LS_SOURCE_RECIPES_DIR "/tuya-ipc-camera.json";
    auto sum = linestation::testing::run_process({"/usr/bin/sha256sum", file});
    ASSERT_EQ(sum.exit_code, 0) << sum.err;
    EXPECT_EQ(load_recipe(file).sha256, sum.out.substr(0, 64));
    // One changed byte, another hash.
    TempDir dir;
    std::ofstream(dir / "cam.json") << kRecipe;
    std::ofstream(dir / "cam2.json") << kRecipe << " ";
    EXPECT_EQ(load_recipe(dir / "cam.json").sha256.size(), 64u);
    EXPECT_NE(load_recipe(dir / "cam.json").sha256, load_recipe(dir / "cam2.json").sha256);
}

TEST(Recipe, DuplicateProductIdInFolderIsRefused) {
    TempDir dir;
    std::ofstream(dir / "a.json") << kRecipe;
    std::ofstream(dir / "b.json") << kRecipe;
    try {
        load_recipes(dir.path());
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("already used by"), std::string::npos);
        EXPECT_EQ(e.path(), "$.product.id");
    }
}

namespace {
const char* kFixture = R"({
  "name": "test",
  "boards": [{"id": "relays", "driver": "modbus-rtu", "port": "/dev/ttyUSB0", "channels": 4},
             {"id": "hub", "driver": "usb-hub", "port": "2109:2817", "channels": 4}],
  "camera": {"source": "virtual", "width": 640, "height": 480, "fps": 10},
  "slots": [{"id": "A1", "reset": {"board": "relays", "channel": 0},
             "power": {"board": "hub", "channel": 1}, "led": [10, 10, 24, 24]}]
})";

std::string fixture_error(const std::string& text) {
    return error_of(
        text, [](const JsonNode& n) { parse_fixture(n); }, "fixtures/test.json");
}
}  // namespace

TEST(Fixture, ValidFixtureLoads) {
    auto f = parse_fixture(JsonNode::parse(kFixture, "fixtures/test.json"));
    ASSERT_EQ(f.slots.size(), 1u);
    EXPECT_EQ(f.slots[0].reset->board, "relays");
    EXPECT_EQ(f.slots[0].power->channel, 1);
    EXPECT_EQ(f.slots[0].led.w, 24);
    EXPECT_EQ(f.board("relays")->serial.baud, 9600);
}

TEST(Fixture, ErrorsNameTheField) {
    EXPECT_EQ(fixture_error(replace(kFixture, R"("board": "relays")", R"("board": "relay")")),
              "fixtures/test.json: $.slots[0].reset.board: expected the id of a board in $.boards "
              "(relays, hub), got \"relay\"");
    EXPECT_EQ(fixture_error(replace(kFixture, R"("channel": 0)", R"("channel": 4)")),
              "fixtures/test.json: $.slots[0].reset.channel: expected an integer from 0 to 3, got "
              "4");
    EXPECT_NE(fixture_error(replace(kFixture, R"("driver": "modbus-rtu")", R"("driver": "modbus")"))
                  .find("$.boards[0].driver: expected a driver name"),
              std::string::npos);
    EXPECT_EQ(fixture_error(replace(kFixture, "[10, 10, 24, 24]", "[630, 10, 24, 24]")),
              "fixtures/test.json: $.slots[0].led[2]: expected an integer from 1 to 10, got 24");
    EXPECT_EQ(fixture_error(replace(kFixture, "[10, 10, 24, 24]", "[10, 10, 24]")),
              "fixtures/test.json: $.slots[0].led: expected [x, y, width, height] in pixels, got "
              "an array");
    // Hub ports count from 1.
    EXPECT_NE(fixture_error(replace(kFixture, R"("board": "hub", "channel": 1)",
                                    R"("board": "hub", "channel": 0)"))
                  .find("expected an integer from 1 to 4"),
              std::string::npos);
}

TEST(Fixture, PowerWiringIsReadAndChecked) {
    // Default: the relay powers the device when energized.
    EXPECT_EQ(parse_fixture(JsonNode::parse(kFixture, "fixtures/test.json")).slots[0].power_wiring,
              PowerWiring::NormallyOpen);
    const std::string relay_power = replace(kFixture, R"("power": {"board": "hub", "channel": 1})",
                                            R"("power": {"board": "relays", "channel": 1,
                                                         "wiring": "normally_closed"})");
    auto f = parse_fixture(JsonNode::parse(relay_power, "fixtures/test.json"));
    EXPECT_EQ(f.slots[0].power_wiring, PowerWiring::NormallyClosed);
    EXPECT_FALSE(f.slots[0].power_energized(true));
    EXPECT_TRUE(f.slots[0].power_energized(false));
    EXPECT_EQ(fixture_error(replace(relay_power, "normally_closed", "nc")),
              "fixtures/test.json: $.slots[0].power.wiring: expected one of \"normally_open\", "
              "\"normally_closed\", got \"nc\"");
    // A hub port has no normally-closed contact.
    EXPECT_EQ(fixture_error(replace(kFixture, R"("power": {"board": "hub", "channel": 1})",
                                    R"("power": {"board": "hub", "channel": 1,
                                                 "wiring": "normally_closed"})")),
              "fixtures/test.json: $.slots[0].power.wiring: a USB hub port powers its device when "
              "switched on; normally_closed is for a relay wired through its normally-closed "
              "contact");
    EXPECT_EQ(fixture_error(replace(kFixture, R"("reset": {"board": "relays", "channel": 0})",
                                    R"("reset": {"board": "relays", "channel": 0,
                                                 "wiring": "normally_open"})")),
              "fixtures/test.json: $.slots[0].reset.wiring: only a power channel has a wiring; a "
              "reset relay presses its button when energized");
}

// The LAN hand-over to wired gateways: read, checked, and absent unless the fixture says.
TEST(Fixture, WiredHandoverIsReadAndChecked) {
    EXPECT_FALSE(parse_fixture(JsonNode::parse(kFixture, "fixtures/test.json")).wired_handover);
    const std::string with = replace(kFixture, R"("slots": [)",
                                     R"("wired_handover": {"protocol": "linestation-lan-1",
                                        "port": 6670, "timeout_ms": 2500},
                                        "slots": [)");
    auto f = parse_fixture(JsonNode::parse(with, "fixtures/test.json"));
    ASSERT_TRUE(f.wired_handover);
    EXPECT_EQ(f.wired_handover->protocol, "linestation-lan-1");
    EXPECT_EQ(f.wired_handover->port, 6670);
    EXPECT_EQ(f.wired_handover->timeout_ms, 2500);
    EXPECT_EQ(fixture_error(replace(with, R"("linestation-lan-1")", R"("tuya-lan")")),
              "fixtures/test.json: $.wired_handover.protocol: expected one of "
              "\"linestation-lan-1\", got \"tuya-lan\"");
    EXPECT_EQ(fixture_error(replace(with, "6670", "70000")),
              "fixtures/test.json: $.wired_handover.port: expected an integer from 0 to 65535, "
              "got 70000");
    EXPECT_EQ(fixture_error(replace(with, "2500", "0")),
              "fixtures/test.json: $.wired_handover.timeout_ms: expected an integer from 100 to "
              "60000, got 0");
    EXPECT_NE(fixture_error(replace(with, R"("port": 6670, )", "")).find("$.wired_handover.port"),
              std::string::npos);
}

TEST(Fixture, ShippedFixturesLoad) {
    auto virt = load_fixture(std::string(LS_SOURCE_DIR) + "/fixtures/virtual-8.json");
    EXPECT_EQ(virt.slots.size(), 8u);
    // The twins fill in the port their gateways listen on.
    ASSERT_TRUE(virt.wired_handover);
    EXPECT_EQ(virt.wired_handover->port, 0);
    auto rig = load_fixture(std::string(LS_SOURCE_DIR) + "/fixtures/rig-8-modbus-hub.json");
    EXPECT_EQ(rig.slots.size(), 8u);
    EXPECT_FALSE(rig.wired_handover)
        << "a real rig has no documented way to hand a gateway its token";
    EXPECT_EQ(rig.board("rs485-relays")->driver, "modbus-rtu");
    EXPECT_EQ(rig.board("usb-hub")->driver, "usb-hub");
}

namespace {
const char* fake_env(const char* name) {
    return std::string(name) == "TUYA_SECRET" ? "s3cret-from-env" : nullptr;
}
// The error a station config's text gets, or "" when it loads.
std::string station_config_error(const std::string& text) {
    try {
        parse_station_config(JsonNode::parse(text, "station.json"), "", fake_env);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(StationConfig, LoadsWithSecretsFromEnvironmentAndRelativePaths) {
    auto root = JsonNode::parse(R"({
      "station": {"id": "rma-1", "name": "Returns 1"},
      "http": {"bind": "0.0.0.0", "port": 9090},
      "store": {"path": "data/st.db"},
      "fixture": "fixtures/rig.json",
      "cloud": {"endpoint": "https://openapi.tuyaeu.com", "client_id": "cid",
                "secret_env": "TUYA_SECRET", "uid": "u1"},
      "wifi": {"ssid": "Factory", "password": "pw123456"}
    })",
                                "/etc/linestation/station.json");
    auto c = parse_station_config(root, "/etc/linestation", fake_env);
    EXPECT_EQ(c.station_id, "rma-1");
    EXPECT_EQ(c.http_port, 9090);
    EXPECT_EQ(c.store_path, "/etc/linestation/data/st.db");
    EXPECT_EQ(*c.fixture_file, "/etc/linestation/fixtures/rig.json");
    EXPECT_EQ(c.cloud->secret, "s3cret-from-env");
    EXPECT_EQ(c.wifi.ssid, "Factory");
    // Without a lan section: Tuya's ports on every interface.
    EXPECT_EQ(c.lan.bind, "0.0.0.0");
    EXPECT_EQ(c.lan.plain_port, 6666);
    EXPECT_EQ(c.lan.encrypted_port, 6667);
}

TEST(StationConfig, LanListenerCanBeMovedToLoopbackAndFreePorts) {
    auto c = parse_station_config(
        JsonNode::parse(R"({"lan": {"bind": "127.0.0.1", "plain_port": 0, "encrypted_port": 0}})",
                        "station.json"),
        "");
    EXPECT_EQ(c.lan.bind, "127.0.0.1");
    EXPECT_EQ(c.lan.plain_port, 0);
    EXPECT_EQ(c.lan.encrypted_port, 0);
    try {
        parse_station_config(JsonNode::parse(R"({"lan": {"plain_port": -1}})", "station.json"), "");
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "station.json: $.lan.plain_port: expected an integer from 0 to 65535, got -1");
    }
}

TEST(StationConfig, CloudApiFamilyIsPairingUnlessTheIndustryAssetIsGiven) {
    auto parse = [](const std::string& cloud) {
        return parse_station_config(
            JsonNode::parse(R"({"cloud": {"endpoint": "https://openapi.tuyaeu.com", )"
                            R"("client_id": "c", "secret": "s", "uid": "u")" +
                                cloud + "}}",
                            "station.json"),
            "", fake_env);
    };
    EXPECT_EQ(parse("").cloud->api, CloudApi::Pairing);
    auto industry = parse(R"(, "api": "device-registration", "asset_id": "1233213123123")");
    EXPECT_EQ(industry.cloud->api, CloudApi::DeviceRegistration);
    EXPECT_EQ(industry.cloud->asset_id, "1233213123123");
    auto message = [&](const std::string& cloud) {
        try {
            parse(cloud);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(message(R"(, "api": "industry")"),
              "station.json: $.cloud.api: expected one of \"pairing\", \"device-registration\", "
              "got \"industry\"");
    EXPECT_EQ(message(R"(, "api": "device-registration")"),
              "station.json: $.cloud: \"asset_id\" is required with \"api\": "
              "\"device-registration\" (the industry API registers devices to an asset)");
    EXPECT_EQ(message(R"(, "asset_id": "a1")"),
              "station.json: $.cloud.asset_id: an asset id is used only with \"api\": "
              "\"device-registration\"; the pairing API asks tokens for the uid");
}

TEST(StationConfig, ErrorsNameTheField) {
    const auto err = station_config_error;
    EXPECT_EQ(err(R"({"http": {"port": 70000}})"),
              "station.json: $.http.port: expected an integer from 0 to 65535, got 70000");
    EXPECT_EQ(
        err(R"({"cloud": {"endpoint": "http://openapi.tuyaeu.com", "client_id": "c", "secret": "s", "uid": "u"}})"),
        "station.json: $.cloud.endpoint: expected an https:// URL (plain http only to the "
        "loopback emulator), got \"http://openapi.tuyaeu.com\"");
    EXPECT_EQ(
        err(R"({"cloud": {"endpoint": "https://x", "client_id": "c", "secret_env": "NOPE", "uid": "u"}})"),
        "station.json: $.cloud.secret_env: environment variable NOPE is not set");
    EXPECT_EQ(err(R"({"wifi": {"ssid": "123456789012345678901234567890123", "password": "p"}})"),
              "station.json: $.wifi.ssid: expected an SSID of at most 32 bytes, got "
              "\"123456789012345678901234567890123\"");
    // The error names the env variable, never a secret's value.
    EXPECT_EQ(err(R"({"cloud": {"endpoint": "https://x", "client_id": "c", "uid": "u"}})"),
              "station.json: $.cloud.secret: missing; give \"secret\" or \"secret_env\"");
}

namespace {
const char* sample_env(const char* name) {
    const std::string n(name);
    return n == "TUYA_SECRET" || n == "LINESTATION_WIFI_PASSWORD" ? "from-the-environment"
                                                                  : nullptr;
}

// The one sample config (deploy/station.json.in; `make install` puts it in /etc/linestation)
// with its @VARIABLES@ filled in as deploy/CMakeLists.txt does, the share folder being the
// source tree (it has the same recipes/ and fixtures/), state and log in `dir`.
std::string installed_sample(const std::filesystem::path& dir) {
    std::ifstream in(std::filesystem::path(LS_SOURCE_DIR) / "deploy" / "station.json.in");
    std::ostringstream read;
    read << in.rdbuf();
    std::string text = read.str();
    const std::pair<std::string, std::string> values[] = {
        {"@LS_CONFIG_FILE@", (dir / "station.json").string()},
        {"@LS_CONFIG_DIR@", dir.string()},
        {"@LS_SHARE_DIR@", LS_SOURCE_DIR},
        {"@LS_STATE_DIR@", (dir / "state").string()},
        {"@LS_LOG_DIR@", (dir / "log").string()}};
    for (const auto& [name, value] : values) {
        for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at))
            text.replace(at, name.size(), value);
    }
    return text;
}

// What its header tells an installer: a setting shown commented out (a line "// , ..." and,
// while its braces are open, the "//" lines under it) is turned on by taking away its "// ".
std::string with_every_setting_on(const std::string& text) {
    std::istringstream in(text);
    std::string out, line;
    int open = 0;
    while (std::getline(in, line)) {
        const auto at = line.find("// ");
        const bool commented = at != std::string::npos && line.find_first_not_of(' ') == at &&
                               (open > 0 || line.compare(at + 3, 2, ", ") == 0);
        if (commented) {
            line.erase(at, 3);
            open += static_cast<int>(std::count(line.begin(), line.end(), '{')) -
                    static_cast<int>(std::count(line.begin(), line.end(), '}'));
        }
        out += line + "\n";
    }
    return out;
}

StationConfig load_sample(const std::string& text, const std::filesystem::path& dir) {
    return parse_station_config(
        JsonNode::parse(text, (dir / "station.json").string(), JsonNode::Comments::Allowed), dir,
        sample_env);
}
}  // namespace

// The sample as shipped runs the virtual line on this machine only, with its store and log
// where the service may write them.
TEST(StationConfig, TheShippedSampleConfigLoads) {
    TempDir dir;
    const auto text = installed_sample(dir.path());
    EXPECT_EQ(text.find('@'), std::string::npos) << "a variable deploy/CMakeLists.txt never fills";
    auto c = load_sample(text, dir.path());
    EXPECT_EQ(c.station_id, "station-1");
    EXPECT_EQ(c.http_bind, "127.0.0.1");
    EXPECT_EQ(c.store_path, dir / "state" / "station.db");
    EXPECT_EQ(c.log_file, dir / "log" / "station.log");
    EXPECT_EQ(c.recipes_dir, std::filesystem::path(LS_SOURCE_DIR) / "recipes");
    EXPECT_FALSE(c.fixture_file);
    EXPECT_FALSE(c.cloud);
    EXPECT_FALSE(c.https);
    EXPECT_EQ(c.ui_language, "");
    EXPECT_FALSE(c.evidence.max_mb);
    EXPECT_FALSE(c.evidence.max_days);
}

// Every setting it shows commented out, turned on as it says, and the rig it names instead of
// the virtual line: all of them load.
TEST(StationConfig, TheSampleWithEverySettingItShowsTurnedOnLoads) {
    TempDir dir;
    auto text = with_every_setting_on(installed_sample(dir.path()));
    const std::string rig = std::string(LS_SOURCE_DIR) + "/fixtures/rig-8-modbus-hub.json";
    ASSERT_NE(text.find("// " + rig), std::string::npos) << "the sample no longer names the rig";
    const std::string virtual_line = "\"fixture\": null";
    ASSERT_NE(text.find(virtual_line), std::string::npos);
    text.replace(text.find(virtual_line), virtual_line.size(), "\"fixture\": \"" + rig + "\"");
    auto c = load_sample(text, dir.path());
    ASSERT_TRUE(c.fixture_file);
    EXPECT_EQ(load_fixture(*c.fixture_file).slots.size(), 8u);
    ASSERT_TRUE(c.https);
    EXPECT_EQ(c.https->certificate, dir / "station.crt");  // beside the config
    ASSERT_TRUE(c.cloud);
    EXPECT_EQ(c.cloud->endpoint, "https://openapi.tuyaeu.com");
    EXPECT_EQ(c.cloud->secret, "from-the-environment");
    EXPECT_EQ(c.wifi.ssid, "LineStation-Test");
    EXPECT_EQ(c.wifi.password, "from-the-environment");
    EXPECT_EQ(c.ui_language, "zh-CN");
    EXPECT_EQ(c.evidence.max_mb.value_or(0), 256);
    EXPECT_EQ(c.evidence.max_days.value_or(0), 90);
}

// How much camera evidence is kept: each bound positive, and a capped store leaves pictures a
// quarter of its cap at most; every error names the file, the JSON path and the value.
TEST(StationConfig, TheEvidenceRetentionIsChecked) {
    const auto err = station_config_error;
    EXPECT_EQ(err(R"({"evidence": {"max_mb": 64, "max_days": 7.5}})"), "");
    EXPECT_EQ(err(R"({"evidence": {"max_mb": 0}})"),
              "station.json: $.evidence.max_mb: expected a positive number, got 0");
    EXPECT_EQ(err(R"({"evidence": {"max_days": "a week"}})"),
              "station.json: $.evidence.max_days: expected a positive number, got \"a week\"");
    EXPECT_EQ(
        err(R"({"evidence": {"max_days": 4000}})"),
        "station.json: $.evidence.max_days: expected at most 3650 days (ten years), got 4000");
    EXPECT_EQ(err(R"({"store": {"path": "s.db", "max_size_mb": 100}, "evidence": {"max_mb": 30}})"),
              "station.json: $.evidence.max_mb: expected at most 25 MB (a quarter of "
              "store.max_size_mb), got 30");
    EXPECT_NE(
        err(R"({"evidence": {"max_size_mb": 5}})").find("$.evidence.max_size_mb: unknown field"),
        std::string::npos);
    EXPECT_EQ(err(R"({"evidence": 5})"), "station.json: $.evidence: expected an object, got 5");
}

TEST(StationConfig, TheDashboardsLanguageIsChecked) {
    const auto err = station_config_error;
    EXPECT_EQ(err(R"({"ui": {"language": "fr"}})"),
              "station.json: $.ui.language: expected one of \"en\", \"zh-CN\", got \"fr\"");
    EXPECT_EQ(err(R"({"ui": {"//": "a comment", "language": "en"}})"), "");
    EXPECT_NE(err(R"({"ui": {"lang": "en"}})").find("$.ui.lang: unknown field"), std::string::npos);
}

// An admin-added cloud account keeps only where its secret lives; the station reads it
// from there, and an unreadable reference names the account and the variable, never a value.
TEST(StationConfig, SecretRefIsReadFromTheEnvironmentOrAFile) {
    auto env = [](const char* name) -> const char* {
        return std::string(name) == "LS_ACCOUNT_SECRET" ? "s3cr3t-value" : nullptr;
    };
    EXPECT_EQ(linestation::config::resolve_secret_ref("line-2", "env:LS_ACCOUNT_SECRET", env),
              "s3cr3t-value");
    EXPECT_EQ(linestation::config::resolve_secret_ref("line-2", "LS_ACCOUNT_SECRET", env),
              "s3cr3t-value");
    linestation::testing::TempDir dir;
    { std::ofstream(dir / "secret") << "from-a-file\n"; }
    EXPECT_EQ(
        linestation::config::resolve_secret_ref("line-2", "file:" + (dir / "secret").string()),
        "from-a-file");
    try {
        linestation::config::resolve_secret_ref("line-2", "env:LS_NOT_SET", env);
        ADD_FAILURE() << "an unset variable was accepted";
    } catch (const linestation::config::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("line-2"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("LS_NOT_SET"), std::string::npos) << e.what();
    }
    EXPECT_THROW(
        linestation::config::resolve_secret_ref("line-2", "file:" + (dir / "missing").string()),
        linestation::config::ConfigError);
}

// The station config is edited by hand (deploy/station.json.in ships commented): // and
// /* */ comments are taken outside strings, and only there; a URL's "//" stays.
TEST(StationConfig, CommentsAreAllowedOutsideStringsOnly) {
    TempDir dir;
    const auto file = dir / "station.json";
    std::ofstream(file) << "// the station\n{\n  /* its name */ \"station\": {\"id\": \"st-9\", "
                           "\"name\": \"a // b /* c */\"}, // trailing\n"
                           "  \"store\": {\"path\": \"s.db\", \"max_size_mb\": 64}\n}\n// end\n";
    auto c = load_station_config(file);
    EXPECT_EQ(c.station_id, "st-9");
    EXPECT_EQ(c.station_name, "a // b /* c */");
    EXPECT_EQ(c.store_path, dir / "s.db");
    EXPECT_EQ(c.store_max_size_mb.value_or(0), 64);

    std::ofstream(file) << "{ /* never closed \"station\": {\"id\": \"x\"} }";
    try {
        load_station_config(file);
        ADD_FAILURE() << "an unclosed comment was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("comment is not closed"), std::string::npos)
            << e.what();
    }
    // Recipes and fixtures are written by programs too: plain JSON, no comments.
    EXPECT_THROW(JsonNode::parse("// no\n{}", "recipes/cam.json"), ConfigError);
}
