// The Tuya client against the Tuya cloud twin (written from Tuya's documentation, apart from
// the client) over real HTTP on loopback.
#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "tests/cloud/cloud_failure.hpp"
#include "tests/cloud/cloud_test_env.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_certificate.hpp"

namespace linestation::testing {
namespace {

using cloud::CloudError;
using cloud::CloudFailure;
using ::testing::HasSubstr;

TEST(CloudClient, GetsAnAccessTokenThenAPairingToken) {
    CloudEnv env;
    auto client = env.client();
    EXPECT_EQ(client->connect(), kOwnerUid);
    auto token = client->pairing_token(kOwnerUid);
    EXPECT_EQ(token.region, "AY");
    EXPECT_EQ(token.combined().size(), 14u);
    EXPECT_EQ(token.expire_time_s, 300);
    EXPECT_EQ(client->counters().token_grants, 1);
    // The token is real: a device can use it.
    EXPECT_TRUE(env.device_reads(token.combined(), "dev-1", kCamera, true).ok());
}

TEST(CloudClient, KeepsOneConnectionForManyRequestsAndReconnectsAfterAFailure) {
    CloudEnv env;
    auto options = env.options();
    options.timeout_s = 0.3;
    auto client = std::make_unique<cloud::TuyaClient>(options, env.clock);
    for (int i = 0; i < 4; ++i) client->pairing_token(kOwnerUid);
    EXPECT_EQ(env.cloud.requests_served(), 5);  // the access token, then four tokens
    EXPECT_EQ(env.cloud.connections_accepted(), 1);
    env.cloud.stall_next(1, 1);
    client->pairing_token(kOwnerUid);  // the timed-out connection is dropped, the retry connects
    EXPECT_EQ(client->counters().retries, 1);
    EXPECT_EQ(env.cloud.connections_accepted(), 2);
}

TEST(CloudClient, AcceptsTheEndpointWithATrailingSlash) {
    CloudEnv env;
    auto options = env.options();
    options.endpoint += "/";  // as `station cloud emulator` prints it
    cloud::TuyaClient client(options, env.clock);
    EXPECT_EQ(client.connect(), kOwnerUid);
}

TEST(CloudClient, RefreshesTheAccessTokenBeforeItExpires) {
    CloudEnv env;
    auto client = env.client();
    client->pairing_token(kOwnerUid);
    env.clock.advance(7200 - 60);  // inside the refresh margin, still valid at the cloud
    client->pairing_token(kOwnerUid);
    EXPECT_EQ(client->counters().token_grants, 1);
    EXPECT_EQ(client->counters().token_refreshes, 1);
    env.clock.advance(3600);
    client->pairing_token(kOwnerUid);
    EXPECT_EQ(client->counters().token_refreshes, 1);  // the new token still has time
}

TEST(CloudClient, AfterTheAccessTokenExpiredItGetsANewOneWithTheRefreshToken) {
    CloudEnv env;
    auto client = env.client();
    client->pairing_token(kOwnerUid);
    env.cloud.expire_access_tokens();  // the cloud now answers 1010 "token is expired"
    auto token = client->pairing_token(kOwnerUid);
    EXPECT_EQ(token.combined().size(), 14u);
    EXPECT_EQ(client->counters().token_refreshes, 1);
}

TEST(CloudClient, AnUnknownAccessTokenIsReplacedByANewGrant) {
    CloudEnv env;
    auto client = env.client();
    client->pairing_token(kOwnerUid);
    env.cloud.revoke_access_tokens();  // the cloud now answers 1011 "token invalid"
    EXPECT_EQ(client->pairing_token(kOwnerUid).combined().size(), 14u);
    EXPECT_EQ(client->counters().token_grants, 2);
    EXPECT_EQ(client->counters().token_refreshes, 0);
}

TEST(CloudClient, ARefusedRefreshFallsBackToANewGrant) {
    CloudEnv env;
    auto client = env.client();
    client->pairing_token(kOwnerUid);
    env.cloud.revoke_access_tokens();
    env.clock.advance(7200 - 60);  // due for a refresh, with a refresh token the cloud forgot
    EXPECT_EQ(client->pairing_token(kOwnerUid).combined().size(), 14u);
    EXPECT_EQ(client->counters().token_refreshes, 1);
    EXPECT_EQ(client->counters().token_grants, 2);
}

TEST(CloudClient, ATokenRefusedAgainAfterRenewalIsTokenExpired) {
    virtual_line::TuyaCloudTwinOptions options;
    options.access_token_lifetime_s = 0;  // every token is dead on arrival
    CloudEnv env(options);
    auto client = env.client();
    std::string message;
    EXPECT_EQ(failure_of([&] { client->pairing_token(kOwnerUid); }, &message),
              CloudFailure::TokenExpired);
    EXPECT_THAT(message, HasSubstr("1010"));  // "token is expired", after one refresh
}

TEST(CloudClient, WrongSecretIsSignInvalid) {
    CloudEnv env;
    auto client = env.client(kOwnerClientId, "not-the-secret");
    std::string message;
    EXPECT_EQ(failure_of([&] { client->connect(); }, &message), CloudFailure::SignInvalid);
    EXPECT_THAT(message, HasSubstr("secret"));
    EXPECT_THAT(message, ::testing::Not(HasSubstr("not-the-secret")));
}

TEST(CloudClient, ClockOffByAnHourIsReportedAsClockSkew) {
    CloudEnv env;
    ManualClock station_clock(1'800'000'000'000 + 3600 * 1000);
    cloud::TuyaClient client(env.options(), station_clock);
    std::string message;
    EXPECT_EQ(failure_of([&] { client.connect(); }, &message), CloudFailure::ClockSkew);
    EXPECT_THAT(message, HasSubstr("clock"));
    EXPECT_THAT(message, HasSubstr("by about 3600 s (ahead of the cloud)"));
}

TEST(CloudClient, AnotherAccountsUidIsPermissionDenied) {
    CloudEnv env;
    auto client = env.client(kPartnerClientId, kPartnerSecret);
    EXPECT_EQ(failure_of([&] { client->pairing_token(kOwnerUid); }),
              CloudFailure::PermissionDenied);
}

TEST(CloudClient, RemovingAnOfflineDeviceIsDeviceOffline) {
    CloudEnv env;
    env.add_device("dev-off", kCamera, kOwnerUid);
    env.cloud.set_online("dev-off", false);
    auto client = env.client();
    EXPECT_EQ(failure_of([&] { client->remove_device("dev-off"); }), CloudFailure::DeviceOffline);
    EXPECT_EQ(env.cloud.bound_to("dev-off"), kOwnerUid);
}

TEST(CloudClient, RemovesDevicesUntilTheDailyQuotaThenNextDayAgain) {
    virtual_line::TuyaCloudTwinOptions options;
    options.daily_unbinds_per_account = 2;
    CloudEnv env(options);
    for (auto id : {"d1", "d2", "d3"}) env.add_device(id, kCamera, "stranger");
    auto client = env.client(kPartnerClientId, kPartnerSecret);
    client->remove_device("d1");
    client->remove_device("d2");
    EXPECT_FALSE(env.cloud.bound_to("d1"));
    EXPECT_EQ(failure_of([&] { client->remove_device("d3"); }), CloudFailure::QuotaExceeded);
    EXPECT_EQ(env.cloud.bound_to("d3"), "stranger");
    env.clock.advance(24 * 3600);
    client->remove_device("d3");
    EXPECT_FALSE(env.cloud.bound_to("d3"));
}

TEST(CloudClient, PartnerCannotRemoveAProductItIsNotAuthorizedFor) {
    CloudEnv env;
    env.add_device("lock-1", kLock, "stranger");
    auto client = env.client(kPartnerClientId, kPartnerSecret);
    EXPECT_EQ(failure_of([&] { client->remove_device("lock-1"); }), CloudFailure::PermissionDenied);
}

TEST(CloudClient, TokenPollListsSuccessesAndFailuresWithReasons) {
    virtual_line::TuyaCloudTwinOptions options;
    options.daily_unbinds_per_product = 1;
    options.wifi_failures_reach_cloud = true;
    CloudEnv env(options);
    auto client = env.client(kPartnerClientId, kPartnerSecret);
    auto token = client->pairing_token(kPartnerUid);
    env.add_device("cam-bound-1", kCamera, "stranger");
    env.add_device("cam-bound-2", kCamera, "stranger");
    const auto code = token.combined();
    EXPECT_EQ(env.device_reads(code, "cam-bound-1", kCamera, true).result,
              virtual_line::JoinResult::Rebound);
    EXPECT_EQ(env.device_reads(code, "cam-bound-2", kCamera, true).result,
              virtual_line::JoinResult::QuotaExceeded);
    EXPECT_EQ(env.device_reads(code, "cam-wifi", kCamera, false).result,
              virtual_line::JoinResult::WifiFailed);
    EXPECT_EQ(env.device_reads(code, "lock-1", kLock, true).result,
              virtual_line::JoinResult::NoPermission);
    EXPECT_EQ(env.device_reads(code, "cam-new", kCamera, true).result,
              virtual_line::JoinResult::Activated);
    env.clock.advance(301);
    EXPECT_EQ(env.device_reads(code, "cam-late", kCamera, true).result,
              virtual_line::JoinResult::TokenExpired);

    auto devices = client->token_devices(token.token);
    ASSERT_EQ(devices.succeeded.size(), 2u);
    EXPECT_EQ(devices.succeeded[0].device_id, "cam-bound-1");
    EXPECT_EQ(devices.succeeded[0].product_id, kCamera);
    EXPECT_EQ(devices.succeeded[1].device_id, "cam-new");
    // The cloud's own codes and messages, passed through as the token poll lists them.
    ASSERT_EQ(devices.failed.size(), 4u);
    EXPECT_EQ(devices.failed[0].device_id, "cam-bound-2");
    EXPECT_EQ(devices.failed[0].code, options.quota_exceeded.code);
    EXPECT_EQ(devices.failed[1].code, options.wifi_failed.code);
    EXPECT_EQ(devices.failed[2].code, options.no_permission.code);
    EXPECT_EQ(devices.failed[3].code, options.token_expired.code);
    EXPECT_EQ(devices.failed[3].device_id, "cam-late");
    EXPECT_THAT(devices.failed[0].message, HasSubstr("quota"));

    // "Query device log": event 3 is the activation.
    auto logs = client->device_logs("cam-new");
    EXPECT_THAT(logs, HasSubstr("\"event_id\":3"));
    EXPECT_THAT(client->device_logs("cam-bound-1"), HasSubstr("\"event_id\":3"));
}

TEST(CloudClient, FactoryInformationForMoreThanTwentyDevicesTakesSeveralRequests) {
    CloudEnv env;
    auto client = env.client();
    client->connect();
    std::vector<std::string> ids;
    for (int i = 0; i < 25; ++i) {
        ids.push_back("cam-" + std::to_string(i));
        env.add_device(ids.back(), kCamera, kOwnerUid);
    }
    const auto before = env.cloud.requests_served();
    auto infos = client->factory_infos(ids);  // the cloud refuses more than 20 ids at once
    EXPECT_EQ(env.cloud.requests_served() - before, 2);
    ASSERT_EQ(infos.size(), 25u);
    EXPECT_EQ(infos[24].device_id, "cam-24");
    EXPECT_EQ(infos[24].uuid, "uuid-cam-24");
    EXPECT_TRUE(client->factory_infos({}).empty());
}

TEST(CloudClient, Retries5xxWithBackoffThenSucceeds) {
    CloudEnv env;
    auto client = env.client();
    client->connect();
    env.cloud.fail_next(2, 503);
    client->pairing_token(kOwnerUid);
    EXPECT_EQ(client->counters().retries, 2);
    EXPECT_DOUBLE_EQ(env.paused_s, 0.5 + 1.0);  // backoff doubles
}

TEST(CloudClient, Persistent5xxIsUnavailableWithAClearMessage) {
    CloudEnv env;
    auto client = env.client();
    client->connect();
    env.cloud.fail_next(10, 500);
    std::string message;
    EXPECT_EQ(failure_of([&] { client->pairing_token(kOwnerUid); }, &message),
              CloudFailure::Unavailable);
    EXPECT_THAT(message, HasSubstr("failed 3 times"));
    EXPECT_THAT(message, HasSubstr("HTTP 500"));
}

TEST(CloudClient, RetriesAfterATimeout) {
    CloudEnv env;
    auto options = env.options();
    options.timeout_s = 0.3;
    cloud::TuyaClient client(options, env.clock);
    client.connect();
    env.cloud.stall_next(1, 1.5);
    auto token = client.pairing_token(kOwnerUid);
    EXPECT_EQ(token.combined().size(), 14u);
    EXPECT_EQ(client.counters().retries, 1);
}

TEST(CloudClient, MalformedAnswersAreClearErrorsNotCrashes) {
    CloudEnv env;
    auto client = env.client();
    client->connect();
    std::string message;
    env.cloud.garble_next(1);
    EXPECT_EQ(failure_of([&] { client->pairing_token(kOwnerUid); }, &message), CloudFailure::Other);
    EXPECT_THAT(message, HasSubstr("no result object"));
    const auto token = client->pairing_token(kOwnerUid).token;
    env.cloud.garble_next(1);
    EXPECT_EQ(failure_of([&] { client->token_devices(token); }, &message), CloudFailure::Other);
    EXPECT_THAT(message, HasSubstr("no result object"));
    env.cloud.fail_next(1, 200);
    EXPECT_EQ(failure_of([&] { client->pairing_token(kOwnerUid); }, &message), CloudFailure::Other);
    EXPECT_THAT(message, HasSubstr("not a JSON object"));
    EXPECT_EQ(client->pairing_token(kOwnerUid).combined().size(), 14u);  // and it recovers
}

TEST(CloudClient, UnreachableCloudIsUnavailable) {
    ManualClock clock;
    cloud::TuyaClientOptions o;
    {
        // A port that was free a moment ago: nothing listens there now.
        CloudEnv env;
        o = env.options();
    }
    o.pause = [](double) {};
    cloud::TuyaClient client(o, clock);
    EXPECT_EQ(failure_of([&] { client.connect(); }), CloudFailure::Unavailable);
}

// A name that does not resolve is asked again like a 5xx, then named as what it is: the
// endpoint or the station's DNS is wrong, not the cloud down.
TEST(CloudClient, AHostThatDoesNotResolveIsHostUnknownNamingTheHost) {
    ManualClock clock;
    cloud::TuyaClientOptions o;
    o.client_id = "c";
    o.secret = "s";
    o.endpoint = "https://linestation-cloud.invalid";  // RFC 2606: never resolves
    o.attempts = 2;
    int pauses = 0;
    o.pause = [&](double) { ++pauses; };
    cloud::TuyaClient client(o, clock);
    std::string message;
    EXPECT_EQ(failure_of([&] { client.connect(); }, &message), CloudFailure::HostUnknown);
    EXPECT_EQ(pauses, 1);
    EXPECT_THAT(message, HasSubstr("the host linestation-cloud.invalid does not resolve"));
}

TEST(CloudClient, PlainHttpOnlyToLoopback) {
    ManualClock clock;
    cloud::TuyaClientOptions o;
    o.client_id = "c";
    o.secret = "s";
    o.endpoint = "http://openapi.tuyaeu.com";
    EXPECT_THROW(cloud::TuyaClient(o, clock), std::invalid_argument);
    o.endpoint = "ftp://127.0.0.1";
    EXPECT_THROW(cloud::TuyaClient(o, clock), std::invalid_argument);
    o.endpoint = "http://127.0.0.1:9";
    EXPECT_NO_THROW(cloud::TuyaClient(o, clock));
    o.endpoint = "https://openapi.tuyaeu.com";
    EXPECT_NO_THROW(cloud::TuyaClient(o, clock));
}

// Collects every log line Poco produces while a test runs.
class CapturingChannel final : public Poco::Channel {
  public:
    void log(const Poco::Message& message) override {
        std::lock_guard lock(mutex_);
        text_ += message.getSource() + ": " + message.getText() + "\n";
    }
    std::string text() const {
        std::lock_guard lock(mutex_);
        return text_;
    }

  private:
    mutable std::mutex mutex_;
    std::string text_;
};

TEST(CloudClient, SecretsNeverReachTheLog) {
    Poco::AutoPtr<CapturingChannel> channel(new CapturingChannel);
    auto& root = Poco::Logger::root();
    auto& log = Poco::Logger::get("cloud");
    auto old_channel = log.getChannel();
    auto old_level = log.getLevel();
    log.setChannel(channel);
    log.setLevel(Poco::Message::PRIO_TRACE);
    {
        CloudEnv env;
        auto client = env.client();
        client->pairing_token(kOwnerUid);
        env.clock.advance(7200 - 10);  // refresh by refresh token
        client->pairing_token(kOwnerUid);
        env.cloud.expire_access_tokens();  // renewal after 1010
        client->pairing_token(kOwnerUid);
        env.cloud.fail_next(1);
        client->pairing_token(kOwnerUid);
        auto bad = env.client(kOwnerClientId, "wrong-secret-xyz");
        EXPECT_THROW(bad->connect(), CloudError);

        const auto text = channel->text();
        EXPECT_THAT(text, HasSubstr("/v1.0/device/paring/token"));  // the log does say things
        EXPECT_THAT(text, HasSubstr("refreshed"));
        EXPECT_THAT(text, ::testing::Not(HasSubstr(kOwnerSecret)));
        EXPECT_THAT(text, ::testing::Not(HasSubstr("wrong-secret-xyz")));
        auto issued = env.cloud.issued_secrets();
        EXPECT_GE(issued.size(), 6u);
        for (const auto& token : issued) EXPECT_THAT(text, ::testing::Not(HasSubstr(token)));
    }
    log.setChannel(old_channel);
    log.setLevel(old_level);
    (void)root;
}

}  // namespace
}  // namespace linestation::testing

namespace linestation::testing {
namespace {

TEST(CloudClient, TalksHttpsAndTrustsOnlyCertificatesItKnows) {
    TestCertificate tls;
    virtual_line::TuyaCloudTwinOptions options;
    options.tls_certificate_file = tls.certificate;
    options.tls_private_key_file = tls.key;
    CloudEnv env(options);
    ASSERT_EQ(env.cloud.endpoint().rfind("https://127.0.0.1:", 0), 0u);

    auto trusting = env.options();
    trusting.ca_file = tls.certificate;
    cloud::TuyaClient client(trusting, env.clock);
    EXPECT_EQ(client.pairing_token(kOwnerUid).combined().size(), 14u);

    cloud::TuyaClient stranger(env.options(), env.clock);  // system CAs only
    std::string message;
    EXPECT_EQ(failure_of([&] { stranger.connect(); }, &message), CloudFailure::Other);
    EXPECT_THAT(message, HasSubstr("TLS"));
    EXPECT_EQ(stranger.counters().retries, 0);
}

}  // namespace
}  // namespace linestation::testing

namespace linestation::testing {
namespace {

TEST(CloudClient, RunsFromTheStationConfigurationsCloudSection) {
    CloudEnv env;
    config::CloudSettings settings;
    settings.endpoint = env.cloud.endpoint();
    settings.client_id = kPartnerClientId;
    settings.secret = kPartnerSecret;
    settings.uid = kPartnerUid;
    cloud::TuyaClient client(cloud::client_options(settings), env.clock);
    EXPECT_EQ(client.connect(), kPartnerUid);
}

}  // namespace
}  // namespace linestation::testing
