// The Tuya client against Tuya's own documented answers: a small HTTP server on loopback
// answers each endpoint with the example response copied from Tuya's documentation
// (tests/cloud/golden/*.json, each naming its document), and the real TuyaClient parses it.
// Nothing here comes from the project's cloud emulator.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "station/clock/clock.hpp"
#include "station/cloud/tuya_client.hpp"
#include "tests/cloud/cloud_failure.hpp"
#include "tests/cloud/golden_cloud.hpp"

namespace linestation::testing {
namespace {

using cloud::CloudError;
using cloud::CloudFailure;
using Poco::JSON::Object;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecret = "golden-secret-0000000000000001";

struct Golden {
    ManualClock clock;
    GoldenCloud cloud;
    double paused_s = 0;

    Golden() {
        cloud.on("GET /v1.0/token", "token_grant");
        cloud.on("GET /v1.0/token/", "token_refresh");
    }
    std::unique_ptr<cloud::TuyaClient> client(config::CloudApi api = config::CloudApi::Pairing) {
        cloud::TuyaClientOptions o;
        o.endpoint = cloud.endpoint();
        o.client_id = "golden-client-id";
        o.secret = kSecret;
        o.api = api;
        if (api == config::CloudApi::DeviceRegistration) o.asset_id = "1233213123123";
        o.time_zone_id = "Asia/Shanghai";
        o.timeout_s = 2;
        o.pause = [this](double s) {
            paused_s += s;
            clock.advance(s);
        };
        return std::make_unique<cloud::TuyaClient>(o, clock);
    }
};

Object::Ptr json_of(const std::string& text) {
    return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
}

// The failed device both polls' examples carry ("Query Pairing Result": 2001).
void expect_the_documented_offline_failure(const cloud::TokenDevices& devices) {
    ASSERT_EQ(devices.failed.size(), 1u);
    EXPECT_EQ(devices.failed[0].device_id, "vdevo163815529739***");
    EXPECT_EQ(devices.failed[0].name, "Device name");
    EXPECT_EQ(devices.failed[0].code, "2001");
    EXPECT_EQ(devices.failed[0].message, "device is offline");
}

TEST(CloudGolden, TokenGrantGivesTheDocumentedUidAndTheRefreshFollowsItsAnswer) {
    Golden g;
    auto client = g.client();
    EXPECT_EQ(client->connect(), "ay******");
    ASSERT_EQ(g.cloud.seen().size(), 1u);
    EXPECT_EQ(g.cloud.seen()[0].uri, "/v1.0/token?grant_type=1");
    EXPECT_EQ(g.cloud.seen()[0].access_token, "");  // the grant is signed without a token
    g.clock.advance(7200 - 60);                     // inside the renewal margin
    EXPECT_EQ(client->connect(), "bay1597986816998****");
    EXPECT_EQ(g.cloud.seen().back().uri, "/v1.0/token/******");  // the grant's refresh token
    g.cloud.on("DELETE /v1.0/devices/", "remove_device_pairing");
    client->remove_device("6cf0ca9a****ab76bfjntj");
    EXPECT_EQ(g.cloud.seen().back().access_token, "38fea0afc52b4b94dfd8225c89e9****");
    EXPECT_EQ(client->counters().token_grants, 1);
    EXPECT_EQ(client->counters().token_refreshes, 1);
}

TEST(CloudGolden, PairingFamilyAsksTheTokenForTheUidAndReadsTheDocumentedAnswer) {
    Golden g;
    g.cloud.on("POST /v1.0/device/paring/token", "pairing_token_pairing");
    auto client = g.client();
    auto token = client->pairing_token("ay1597986816998****");
    EXPECT_EQ(token.region, "AY");
    EXPECT_EQ(token.token, "H73H****");
    EXPECT_EQ(token.secret, "pr_0");
    EXPECT_EQ(token.expire_time_s, 300);
    EXPECT_EQ(token.combined(), "AYH73H****pr_0");
    auto sent = g.cloud.business();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].access_token, "******");
    auto body = json_of(sent[0].body);
    EXPECT_EQ(body->getValue<std::string>("uid"), "ay1597986816998****");
    EXPECT_EQ(body->getValue<std::string>("paring_type"), "EZ");  // the /v1.0 spelling
    EXPECT_EQ(body->getValue<std::string>("time_zone_id"), "Asia/Shanghai");
    EXPECT_FALSE(body->has("asset_id"));
}

TEST(CloudGolden, PairingFamilyTokenPollReadsSuccessAndFailed) {
    Golden g;
    g.cloud.on("GET /v1.0/device/paring/tokens/", "token_devices_pairing");
    auto devices = g.client()->token_devices("H73H****");
    EXPECT_EQ(g.cloud.business().at(0).uri, "/v1.0/device/paring/tokens/H73H****");
    ASSERT_EQ(devices.succeeded.size(), 1u);
    EXPECT_EQ(devices.succeeded[0].device_id, "6c4b088a4116ae16c****");
    EXPECT_EQ(devices.succeeded[0].product_id, "sfclyxhrfnys****");
    EXPECT_EQ(devices.succeeded[0].category, "cz");
    EXPECT_EQ(devices.succeeded[0].name, "ASUS");
    expect_the_documented_offline_failure(devices);
}

TEST(CloudGolden, RegistrationFamilyAsksTheTokenForTheAssetAndReadsTheDocumentedAnswer) {
    Golden g;
    g.cloud.on("POST /v1.0/iot-03/device-registration/token", "pairing_token_registration");
    auto client = g.client(config::CloudApi::DeviceRegistration);
    auto token = client->pairing_token("ignored-uid");
    EXPECT_EQ(token.combined(), "AYH73H****pr_0");
    EXPECT_EQ(token.expire_time_s, 300);
    auto body = json_of(g.cloud.business().at(0).body);
    EXPECT_EQ(body->getValue<std::string>("asset_id"), "1233213123123");
    EXPECT_EQ(body->getValue<std::string>("pairing_type"), "EZ");
    EXPECT_EQ(body->getValue<std::string>("time_zone_id"), "Asia/Shanghai");
    EXPECT_FALSE(body->has("uid"));
    EXPECT_FALSE(body->has("paring_type"));
}

TEST(CloudGolden, RegistrationFamilyTokenPollReadsSuccessDevicesAndErrorDevices) {
    Golden g;
    g.cloud.on("GET /v1.1/iot-03/device-registration/tokens/",
               {Reply{200, golden("token_devices_registration")},
                Reply{200, golden("token_devices_registration_failed")}});
    auto client = g.client(config::CloudApi::DeviceRegistration);
    auto devices = client->token_devices("H73H****");
    EXPECT_EQ(g.cloud.business().at(0).uri, "/v1.1/iot-03/device-registration/tokens/H73H****");
    ASSERT_EQ(devices.succeeded.size(), 1u);
    EXPECT_EQ(devices.succeeded[0].device_id, "6c4b088a4116ae16c****");
    EXPECT_EQ(devices.succeeded[0].product_id, "sfclyxhrfnys****");
    EXPECT_EQ(devices.succeeded[0].name, "ASUS");
    EXPECT_TRUE(devices.failed.empty());
    devices = client->token_devices("H73H****");
    EXPECT_TRUE(devices.succeeded.empty());
    expect_the_documented_offline_failure(devices);
}

TEST(CloudGolden, FactoryInformationOfBothFamilies) {
    Golden g;
    g.cloud.on("GET /v1.0/devices/factory-infos", "factory_infos_pairing");
    g.cloud.on("GET /v1.0/iot-03/devices/factory-infos", "factory_infos_registration");
    auto infos = g.client()->factory_infos({"6cf0ca9a****ab76bfjntj", "65057368c44f3381****"});
    EXPECT_EQ(g.cloud.business().back().uri,
              "/v1.0/devices/factory-infos?device_ids=6cf0ca9a****ab76bfjntj,65057368c44f3381****");
    ASSERT_EQ(infos.size(), 1u);
    EXPECT_EQ(infos[0].device_id, "6cf0ca9a****ab76bfjntj");
    EXPECT_EQ(infos[0].uuid, "tuyaac****14d253");
    EXPECT_EQ(infos[0].sn, "6dsd****ddse");
    EXPECT_EQ(infos[0].mac, "DC:23:**:**:26:48");
    infos = g.client(config::CloudApi::DeviceRegistration)->factory_infos({"002008535ccf7f53****"});
    EXPECT_EQ(g.cloud.business().back().uri,
              "/v1.0/iot-03/devices/factory-infos?device_ids=002008535ccf7f53****");
    ASSERT_EQ(infos.size(), 1u);
    EXPECT_EQ(infos[0].uuid, "002008535ccf7f53****");
    EXPECT_EQ(infos[0].sn, "");  // the documented example has none
    EXPECT_EQ(infos[0].mac, "5c:cf:7f:53:**:**");
}

TEST(CloudGolden, RemoveDeviceOfBothFamilies) {
    Golden g;
    g.cloud.on("DELETE /v1.0/devices/", "remove_device_pairing");
    g.cloud.on("DELETE /v1.0/iot-03/devices/", "remove_device_registration");
    g.client()->remove_device("65057368c44f3380****");
    EXPECT_EQ(g.cloud.business().back().method, "DELETE");
    EXPECT_EQ(g.cloud.business().back().uri, "/v1.0/devices/65057368c44f3380****");
    g.client(config::CloudApi::DeviceRegistration)->remove_device("xxxid");
    EXPECT_EQ(g.cloud.business().back().uri, "/v1.0/iot-03/devices/xxxid");
}

TEST(CloudGolden, RemoveThatAnswersFalseIsNotTakenForDone) {
    Golden g;
    g.cloud.on("DELETE /v1.0/devices/",
               {Reply{200, R"({"result":false,"t":1615795297327,"success":true})"}});
    std::string message;
    EXPECT_EQ(failure_of([&] { g.client()->remove_device("dev-1"); }, &message),
              CloudFailure::Other);
    EXPECT_THAT(message, HasSubstr("dev-1"));
}

TEST(CloudGolden, RegistrationFamilyDeviceLogsUseEventTypes) {
    Golden g;
    g.cloud.on("GET /v1.0/iot-03/devices/", "device_logs_registration");
    auto logs = g.client(config::CloudApi::DeviceRegistration)->device_logs("75500780ecfabc9a****");
    const auto uri = g.cloud.business().at(0).uri;
    EXPECT_EQ(uri.rfind("/v1.0/iot-03/devices/75500780ecfabc9a****/logs?", 0), 0u) << uri;
    EXPECT_THAT(uri, HasSubstr("event_types="));
    EXPECT_THAT(uri, HasSubstr("start_time="));
    auto result = json_of(logs);
    EXPECT_EQ(result->getValue<std::string>("device_id"), "75500780ecfabc9a****");
    EXPECT_EQ(result->getArray("logs")->getObject(0)->getValue<std::string>("code"), "switch_1");
}

TEST(CloudGolden, TokenIsExpiredTakesTheRefreshTokenAndTheRequestIsRepeated) {
    Golden g;
    g.cloud.on("DELETE /v1.0/devices/",
               {Reply{200, golden("error_1010")}, Reply{200, golden("remove_device_pairing")}});
    auto client = g.client();
    client->remove_device("dev-1");
    EXPECT_EQ(client->counters().token_grants, 1);
    EXPECT_EQ(client->counters().token_refreshes, 1);
    auto sent = g.cloud.business();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].access_token, "******");
    EXPECT_EQ(sent[1].access_token, "38fea0afc52b4b94dfd8225c89e9****");
}

TEST(CloudGolden, TokenInvalidTakesANewGrant) {
    Golden g;
    g.cloud.on("DELETE /v1.0/devices/",
               {Reply{200, golden("error_1011")}, Reply{200, golden("remove_device_pairing")}});
    auto client = g.client();
    client->remove_device("dev-1");
    EXPECT_EQ(client->counters().token_grants, 2);
    EXPECT_EQ(client->counters().token_refreshes, 0);
}

TEST(CloudGolden, ATokenRefusedAgainAfterRenewalIsTokenExpired) {
    Golden g;
    g.cloud.on("DELETE /v1.0/devices/", "error_1010");
    std::string message;
    EXPECT_EQ(failure_of([&] { g.client()->remove_device("dev-1"); }, &message),
              CloudFailure::TokenExpired);
    EXPECT_THAT(message, HasSubstr("token is expired"));
}

TEST(CloudGolden, DocumentedRefusalsInTheStationsWords) {
    struct Case {
        const char* golden;
        CloudFailure failure;
        const char* words;
    };
    const Case cases[] = {
        {"error_1013", CloudFailure::ClockSkew, "clock"},
        {"error_1106", CloudFailure::PermissionDenied, "permission deny"},
        {"error_2001", CloudFailure::DeviceOffline, "device is offline"},
        {"error_500", CloudFailure::Unavailable, "system error"},
        {"error_28841004", CloudFailure::QuotaExceeded, "quota"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.golden);
        Golden g;
        g.cloud.on("DELETE /v1.0/devices/", c.golden);
        std::string message;
        EXPECT_EQ(failure_of([&] { g.client()->remove_device("dev-1"); }, &message), c.failure);
        EXPECT_THAT(message, HasSubstr(c.words));
        EXPECT_THAT(message, Not(HasSubstr(kSecret)));
        EXPECT_THAT(message, Not(HasSubstr("******")));  // the access token
    }
}

TEST(CloudGolden, Http500IsRetriedThenUnavailable) {
    Golden g;
    g.cloud.on("DELETE /v1.0/devices/", {Reply{500, "<html>error</html>"}});
    auto client = g.client();
    std::string message;
    EXPECT_EQ(failure_of([&] { client->remove_device("dev-1"); }, &message),
              CloudFailure::Unavailable);
    EXPECT_THAT(message, HasSubstr("HTTP 500"));
    EXPECT_EQ(client->counters().retries, 2);
    EXPECT_EQ(g.cloud.business().size(), 3u);
    g.cloud.on("DELETE /v1.0/devices/",
               {Reply{500, "<html>error</html>"}, Reply{200, golden("remove_device_pairing")}});
    EXPECT_NO_THROW(client->remove_device("dev-1"));  // one 500, then the documented answer
}

TEST(CloudGolden, RegistrationFamilyNeedsItsAsset) {
    ManualClock clock;
    cloud::TuyaClientOptions o;
    o.endpoint = "http://127.0.0.1:9";
    o.client_id = "c";
    o.secret = "s";
    o.api = config::CloudApi::DeviceRegistration;
    EXPECT_THROW(cloud::TuyaClient(o, clock), std::invalid_argument);
    o.asset_id = "1233213123123";
    EXPECT_NO_THROW(cloud::TuyaClient(o, clock));
}

TEST(CloudGolden, ClientOptionsCarryTheConfiguredFamily) {
    config::CloudSettings settings;
    settings.endpoint = "https://openapi.tuyaeu.com";
    settings.client_id = "c";
    settings.secret = "s";
    settings.api = config::CloudApi::DeviceRegistration;
    settings.asset_id = "1233213123123";
    auto o = cloud::client_options(settings);
    EXPECT_EQ(o.api, config::CloudApi::DeviceRegistration);
    EXPECT_EQ(o.asset_id, "1233213123123");
}

}  // namespace
}  // namespace linestation::testing
