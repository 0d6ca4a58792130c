// The cloud emulator's rules: signatures and request time on the HTTP side; token lifetime,
// devices per token, permissions and quotas on the devices' side.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <Poco/UUIDGenerator.h>
#include <gtest/gtest.h>

#include "station/cloud/signing.hpp"
#include "station/qr/pairing_qr.hpp"
#include "tests/cloud/cloud_test_env.hpp"

namespace linestation::testing {
namespace {

using virtual_line::JoinResult;

struct RawAnswer {
    bool success = false;
    std::string code;
    Poco::JSON::Object::Ptr result;
};

// A hand-made request, so a test can get the signature or the time wrong on purpose.
RawAnswer raw_get(CloudEnv& env, const std::string& url, std::int64_t t, const std::string& secret,
                  const std::string& access = "", std::string nonce = "") {
    if (nonce.empty()) nonce = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    Poco::URI base(env.emulator.endpoint());
    Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
    Poco::Net::HTTPRequest request("GET", url, Poco::Net::HTTPMessage::HTTP_1_1);
    cloud::SignedRequest signed_request{"GET", url, "", {}};
    request.set("client_id", kOwnerClientId);
    request.set("t", std::to_string(t));
    request.set("nonce", nonce);
    request.set("sign_method", "HMAC-SHA256");
    if (!access.empty()) request.set("access_token", access);
    request.set("sign", cloud::tuya_sign(kOwnerClientId, secret, access, t, nonce, signed_request));
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    auto object = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    RawAnswer answer;
    answer.success = object->getValue<bool>("success");
    if (object->has("code")) answer.code = object->get("code").convert<std::string>();
    answer.result = object->getObject("result");
    return answer;
}

TEST(CloudEmulator, ChecksSignatureAndRequestTime) {
    CloudEnv env;
    const auto now = env.clock.wall_ms();
    EXPECT_TRUE(raw_get(env, "/v1.0/token?grant_type=1", now, kOwnerSecret).success);
    EXPECT_EQ(raw_get(env, "/v1.0/token?grant_type=1", now, "bad").code,
              cloud::codes::kSignInvalid);
    EXPECT_EQ(raw_get(env, "/v1.0/token?grant_type=1", now - 301'000, kOwnerSecret).code,
              cloud::codes::kRequestTimeInvalid);
    EXPECT_EQ(raw_get(env, "/v1.0/token?grant_type=1", now + 301'000, kOwnerSecret).code,
              cloud::codes::kRequestTimeInvalid);
    EXPECT_TRUE(raw_get(env, "/v1.0/token?grant_type=1", now + 299'000, kOwnerSecret).success);
}

TEST(CloudEmulator, RefusesAReplayedNonce) {
    CloudEnv env;
    const auto now = env.clock.wall_ms();
    EXPECT_TRUE(raw_get(env, "/v1.0/token?grant_type=1", now, kOwnerSecret, "", "same").success);
    EXPECT_EQ(raw_get(env, "/v1.0/token?grant_type=1", now, kOwnerSecret, "", "same").code,
              cloud::codes::kSignInvalid);
    EXPECT_TRUE(raw_get(env, "/v1.0/token?grant_type=1", now, kOwnerSecret, "", "other").success);
}

TEST(CloudEmulator, BusinessRequestsNeedAValidAccessToken) {
    CloudEnv env;
    const auto now = env.clock.wall_ms();
    auto grant = raw_get(env, "/v1.0/token?grant_type=1", now, kOwnerSecret);
    ASSERT_TRUE(grant.success);
    const auto access = grant.result->getValue<std::string>("access_token");
    env.emulator.bind_device("dev-1", kCamera, kOwnerUid);
    EXPECT_TRUE(raw_get(env, "/v1.0/devices/dev-1/logs", now, kOwnerSecret, access).success);
    EXPECT_EQ(raw_get(env, "/v1.0/devices/dev-1/logs", now, kOwnerSecret, "forged").code,
              cloud::codes::kTokenInvalid);
    env.clock.advance(7200);
    EXPECT_EQ(
        raw_get(env, "/v1.0/devices/dev-1/logs", env.clock.wall_ms(), kOwnerSecret, access).code,
        cloud::codes::kTokenExpired);
}

TEST(CloudEmulator, RefreshTokenWorksOnceAndRetiresTheOldAccessToken) {
    CloudEnv env;
    const auto now = env.clock.wall_ms();
    auto grant = raw_get(env, "/v1.0/token?grant_type=1", now, kOwnerSecret);
    const auto refresh = grant.result->getValue<std::string>("refresh_token");
    const auto old_access = grant.result->getValue<std::string>("access_token");
    auto renewed = raw_get(env, "/v1.0/token/" + refresh, now, kOwnerSecret);
    ASSERT_TRUE(renewed.success);
    EXPECT_NE(renewed.result->getValue<std::string>("access_token"), old_access);
    EXPECT_EQ(raw_get(env, "/v1.0/token/" + refresh, now, kOwnerSecret).code,
              cloud::codes::kTokenInvalid);
    env.emulator.bind_device("dev-1", kCamera, kOwnerUid);
    EXPECT_EQ(raw_get(env, "/v1.0/devices/dev-1/logs", now, kOwnerSecret, old_access).code,
              cloud::codes::kTokenInvalid);
}

TEST(CloudEmulator, PairingTokenExpiresAfterItsConfiguredLifetime) {
    virtual_line::CloudEmulatorOptions options;
    options.pairing_token_lifetime_s = 120;
    CloudEnv env(options);
    auto token = env.client()->pairing_token(kOwnerUid);
    EXPECT_EQ(token.expire_time_s, 120);
    env.clock.advance(119);
    EXPECT_TRUE(env.emulator.device_joined(token.combined(), "a", kCamera, true).ok());
    env.clock.advance(1);
    EXPECT_EQ(env.emulator.device_joined(token.combined(), "b", kCamera, true).result,
              JoinResult::TokenExpired);
}

TEST(CloudEmulator, OneTokenServesAtMostThirtyDevices) {
    CloudEnv env;
    auto token = env.client()->pairing_token(kOwnerUid).combined();
    for (int i = 0; i < 30; ++i) {
        ASSERT_TRUE(
            env.emulator.device_joined(token, "dev-" + std::to_string(i), kCamera, true).ok());
    }
    // Repeating a success is the same success, not a new device.
    EXPECT_TRUE(env.emulator.device_joined(token, "dev-7", kCamera, true).ok());
    EXPECT_EQ(env.emulator.device_joined(token, "dev-30", kCamera, true).result,
              JoinResult::TokenFull);
}

TEST(CloudEmulator, UnknownTokensAndWrongSecretsAreRefusedWithoutARecord) {
    CloudEnv env;
    auto token = env.client()->pairing_token(kOwnerUid);
    auto wrong_secret = token.region + token.token + "zzzz";
    EXPECT_EQ(env.emulator.device_joined(wrong_secret, "a", kCamera, true).result,
              JoinResult::UnknownToken);
    EXPECT_EQ(
        env.emulator.device_joined("EU" + token.token + token.secret, "a", kCamera, true).result,
        JoinResult::UnknownToken);
    EXPECT_EQ(env.emulator.device_joined("short", "a", kCamera, true).result,
              JoinResult::UnknownToken);
    EXPECT_TRUE(env.emulator.join_records().empty());
}

TEST(CloudEmulator, UnbindingCountsAgainstAccountAndProductQuotasPerCalendarDay) {
    virtual_line::CloudEmulatorOptions options;
    options.daily_unbinds_per_account = 3;
    options.daily_unbinds_per_product = 2;
    CloudEnv env(options);
    auto owner = env.client();
    // Start late in the day so the day boundary comes after a few hours.
    const auto ms_into_day = env.clock.wall_ms() % (24LL * 3600 * 1000);
    env.clock.advance((24.0 * 3600 * 1000 - static_cast<double>(ms_into_day)) / 1000 - 3600);
    auto token = owner->pairing_token(kOwnerUid).combined();
    for (auto id : {"c1", "c2", "c3", "l1", "l2"}) {
        env.emulator.bind_device(id, id[0] == 'c' ? kCamera : kLock, "stranger");
    }
    auto& emu = env.emulator;
    EXPECT_EQ(emu.device_joined(token, "c1", kCamera, true).result, JoinResult::Unbound);
    EXPECT_EQ(emu.device_joined(token, "c2", kCamera, true).result, JoinResult::Unbound);
    EXPECT_EQ(emu.device_joined(token, "c3", kCamera, true).result, JoinResult::QuotaExceeded);
    EXPECT_EQ(emu.device_joined(token, "l1", kLock, true).result, JoinResult::Unbound);
    EXPECT_EQ(emu.device_joined(token, "l2", kLock, true).result, JoinResult::QuotaExceeded);
    EXPECT_EQ(emu.unbinds_today_for_account(kOwnerUid), 3);
    EXPECT_EQ(emu.unbinds_today_for_product(kCamera), 2);
    EXPECT_EQ(emu.bound_to("c3"), "stranger");
    // Activating a free device is not an unbind.
    EXPECT_EQ(emu.device_joined(token, "fresh", kCamera, true).result, JoinResult::Activated);
    EXPECT_EQ(emu.bound_to("fresh"), kOwnerUid);

    env.clock.advance(2 * 3600);  // past midnight UTC on the emulator's clock
    EXPECT_EQ(emu.unbinds_today_for_account(kOwnerUid), 0);
    token = owner->pairing_token(kOwnerUid).combined();
    EXPECT_EQ(emu.device_joined(token, "c3", kCamera, true).result, JoinResult::Unbound);
    EXPECT_FALSE(emu.bound_to("c3"));
}

TEST(CloudEmulator, PartnerMayUnbindOnlyTheProductsItIsAuthorizedFor) {
    CloudEnv env;
    auto partner = env.client(kPartnerClientId, kPartnerSecret);
    auto token = partner->pairing_token(kPartnerUid).combined();
    env.emulator.bind_device("cam", kCamera, "stranger");
    env.emulator.bind_device("lock", kLock, "stranger");
    EXPECT_EQ(env.emulator.device_joined(token, "cam", kCamera, true).result, JoinResult::Unbound);
    auto refused = env.emulator.device_joined(token, "lock", kLock, true);
    EXPECT_EQ(refused.result, JoinResult::NoPermission);
    EXPECT_EQ(env.emulator.bound_to("lock"), "stranger");
    auto records = env.emulator.join_records();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1].device_id, "lock");
    EXPECT_EQ(records[1].result, JoinResult::NoPermission);
}

TEST(CloudEmulator, InjectedBadSignatureIsAnsweredWith1004) {
    CloudEnv env;
    env.emulator.inject({.bad_sign_count = 1});
    EXPECT_EQ(raw_get(env, "/v1.0/token?grant_type=1", env.clock.wall_ms(), kOwnerSecret).code,
              cloud::codes::kSignInvalid);
    EXPECT_TRUE(
        raw_get(env, "/v1.0/token?grant_type=1", env.clock.wall_ms(), kOwnerSecret).success);
}

TEST(CloudEmulator, DevicesScanTheQrTextAndJoinOnlyTheirRouter) {
    CloudEnv env;
    auto token = env.client()->pairing_token(kOwnerUid).combined();
    const virtual_line::WifiRouter router{"line-4", "pa\"ss"};
    auto shown = qr::make_verified_qr(qr::pairing_payload({"line-4", "pa\"ss", token}), 400);
    auto text = qr::read_qr(shown.image);  // what the device's camera reads
    ASSERT_TRUE(text);
    EXPECT_EQ(env.emulator.device_scanned(*text, "cam-1", kCamera, router).result,
              JoinResult::Activated);
    auto wrong = qr::pairing_payload({"line-4", "other-pass", token});
    EXPECT_EQ(env.emulator.device_scanned(wrong, "cam-2", kCamera, router).result,
              JoinResult::WrongWifi);
    EXPECT_EQ(env.emulator.device_scanned("http://example.com", "cam-3", kCamera, router).result,
              JoinResult::UnknownToken);
}

TEST(CloudEmulator, RejectsDuplicateAccounts) {
    ManualClock clock;
    virtual_line::CloudEmulator emulator(clock);
    emulator.add_account({"u1", "c1", "s1", "", {}});
    EXPECT_THROW(emulator.add_account({"u1", "c2", "s2", "", {}}), std::invalid_argument);
    EXPECT_THROW(emulator.add_account({"u2", "c1", "s2", "", {}}), std::invalid_argument);
    EXPECT_THROW(emulator.add_account({"u3", "c3", "", "", {}}), std::invalid_argument);
}

}  // namespace
}  // namespace linestation::testing
