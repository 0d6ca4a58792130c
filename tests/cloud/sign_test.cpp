// The request signature against Tuya's published worked example and against OpenSSL's
// command-line tool, which shares no code with ours.
#include <gtest/gtest.h>

#include <algorithm>

#include "station/cloud/signing.hpp"
#include "tests/common/process.hpp"

namespace linestation::cloud {
namespace {

// The example in Tuya's "Sign Requests" documentation (developer.tuya.com, id Ka43a5mtx1gsc).
constexpr const char* kClientId = "1KAD46OrT9HafiKdsXeg";
constexpr const char* kSecret = "4OHBOnWOqaEC1mWXOpVL3yV50s0qGSRC";
constexpr const char* kAccessToken = "3f4eda2bdec17232f67c0b188af3eec1";
constexpr std::int64_t kT = 1588925778000;
constexpr const char* kNonce = "5138cc3a9033d69856923fd07b491173";

SignedRequest documented(const std::string& url) {
    return {"GET",
            url,
            "",
            {{"area_id", "29a33e8796834b1efa6"}, {"call_id", "8afdb70ab2ed11eb85290242ac130003"}}};
}

TEST(CloudSign, TokenRequestMatchesTuyasPublishedExample) {
    EXPECT_EQ(tuya_sign(kClientId, kSecret, "", kT, kNonce, documented("/v1.0/token?grant_type=1")),
              "9E48A3E93B302EEECC803C7241985D0A34EB944F40FB573C7B5C2A82158AF13E");
}

TEST(CloudSign, BusinessRequestMatchesTuyasPublishedExample) {
    const auto url = sorted_url("/v2.0/apps/schema/users", {{"page_size", "50"}, {"page_no", "1"}});
    EXPECT_EQ(url, "/v2.0/apps/schema/users?page_no=1&page_size=50");
    EXPECT_EQ(tuya_sign(kClientId, kSecret, kAccessToken, kT, kNonce, documented(url)),
              "AE4481C692AA80B25F3A7E12C3A5FD9BBF6251539DD78E565A1A72A508A88784");
}

TEST(CloudSign, StringToSignHasTheDocumentedLayout) {
    SignedRequest r{"POST", "/v1.0/device/paring/token", "{\"uid\":\"u\"}", {}};
    EXPECT_EQ(string_to_sign(r),
              "POST\n" + sha256_hex("{\"uid\":\"u\"}") + "\n\n" + "/v1.0/device/paring/token");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CloudSign, AgreesWithOpensslCommandLine) {
    const std::string body =
        "{\"uid\":\"ay1\",\"time_zone_id\":\"Europe/Paris\",\"paring_type\":\"EZ\"}";
    SignedRequest r{"POST", "/v1.0/device/paring/token", body, {}};
    const std::string secret = "s3cr3t-with-\"odd\"-chars";
    const std::string message =
        std::string("client") + "token" + "1800000000000" + "nonce-1" + string_to_sign(r);
    auto dgst =
        testing::run_process({"/usr/bin/openssl", "dgst", "-sha256", "-hmac", secret}, message);
    ASSERT_EQ(dgst.exit_code, 0) << dgst.err;
    auto hex = dgst.out.substr(dgst.out.rfind(' ') + 1, 64);
    std::transform(hex.begin(), hex.end(), hex.begin(), ::toupper);
    EXPECT_EQ(tuya_sign("client", secret, "token", 1800000000000, "nonce-1", r), hex);

    auto sum = testing::run_process({"/usr/bin/openssl", "dgst", "-sha256"}, body);
    ASSERT_EQ(sum.exit_code, 0);
    EXPECT_EQ(sum.out.substr(sum.out.rfind(' ') + 1, 64), sha256_hex(body));
}

TEST(CloudSign, AnyChangeChangesTheSign) {
    SignedRequest r{"GET", "/v1.0/devices/d1/logs?end_time=2&start_time=1", "", {}};
    const auto base = tuya_sign("c", "s", "a", kT, "n", r);
    EXPECT_NE(base, tuya_sign("c", "s", "a", kT + 1, "n", r));
    EXPECT_NE(base, tuya_sign("c", "s", "b", kT, "n", r));
    EXPECT_NE(base, tuya_sign("c", "t", "a", kT, "n", r));
    EXPECT_NE(base, tuya_sign("c", "s", "a", kT, "m", r));
    r.method = "DELETE";
    EXPECT_NE(base, tuya_sign("c", "s", "a", kT, "n", r));
}

}  // namespace
}  // namespace linestation::cloud
