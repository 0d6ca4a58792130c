// `station qr` and `station cloud` from the command line, as operators and scripts use them.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <regex>

#include "station/qr/pairing_qr.hpp"
#include "tests/cloud/golden_cloud.hpp"
#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

namespace linestation::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Qr, CommandWritesAPngThatReadsBackAndAnSvg) {
    TempDir dir;
    const std::string password = "pa\"ss\\w\xc3\xb6rd";
    auto result =
        run_process({LS_STATION_BINARY, "qr", "--ssid", "Line 4 \xe2\x80\x93 test", "--password",
                     password, "--token", "AYab12CD34efGH", "--out", (dir / "code.png").string(),
                     "--size", "480", "--svg", (dir / "code.svg").string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr("read back OK"));
    EXPECT_THAT(result.out + result.err, Not(HasSubstr("w\xc3\xb6rd")));
    auto image = cv::imread((dir / "code.png").string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(image.empty());
    EXPECT_EQ(image.cols, 480);
    auto payload = qr::read_qr(image);
    ASSERT_TRUE(payload);
    auto object = Poco::JSON::Parser().parse(*payload).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(object->getValue<std::string>("s"), "Line 4 \xe2\x80\x93 test");
    EXPECT_EQ(object->getValue<std::string>("p"), password);
    EXPECT_EQ(object->getValue<std::string>("t"), "AYab12CD34efGH");
    std::ifstream svg(dir / "code.svg");
    std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr("<svg"));
    EXPECT_THAT(text, HasSubstr("width=\"480\""));
}

TEST(Qr, CommandTakesAPasswordThatStartsWithADash) {
    TempDir dir;
    auto result = run_process({LS_STATION_BINARY, "qr", "--ssid", "wifi", "--password", "-dash-pw",
                               "--token", "AYab12CD34efGH", "--out", (dir / "c.png").string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    auto payload = qr::read_qr(cv::imread((dir / "c.png").string(), cv::IMREAD_GRAYSCALE));
    ASSERT_TRUE(payload);
    EXPECT_EQ(qr::parse_pairing_payload(*payload)->password, "-dash-pw");
}

TEST(Qr, CommandRefusesABadTokenAndWritesNothing) {
    TempDir dir;
    auto result = run_process({LS_STATION_BINARY, "qr", "--ssid", "wifi", "--password", "secret12",
                               "--token", "short", "--out", (dir / "code.png").string()});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_THAT(result.err, HasSubstr("token"));
    EXPECT_FALSE(std::filesystem::exists(dir / "code.png"));
    auto no_out = run_process({LS_STATION_BINARY, "qr", "--ssid", "wifi", "--password", "x",
                               "--token", "AYab12CD34efGH"});
    EXPECT_EQ(no_out.exit_code, 2);
    EXPECT_THAT(no_out.err, HasSubstr("out"));
}

TEST(CloudClient, CommandPrintsAPairingTokenFromTheEmulator) {
    ChildProcess cloud({LS_STATION_BINARY, "cloud", "emulator", "--port", "0", "--client-id",
                        "cli-client-1", "--secret", "cli-secret-123456", "--uid", "ay-cli-1",
                        "--products", "pid-a,pid-b", "--token-lifetime", "240"});
    auto line = cloud.wait_for_line("listening on", 10);
    std::smatch match;
    ASSERT_TRUE(std::regex_search(line, match, std::regex("http://127\\.0\\.0\\.1:[0-9]+")))
        << line;
    const std::string endpoint = match.str();

    auto ok = run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint", endpoint,
                           "--client-id", "cli-client-1", "--secret", "cli-secret-123456", "--uid",
                           "ay-cli-1"});
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_TRUE(std::regex_match(ok.out, std::regex("\\{\"token\":\"AY[A-Za-z0-9]{12}\","
                                                    "\"expire_time\":240\\}\n")))
        << ok.out;

    auto bad = run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint", endpoint,
                            "--client-id", "cli-client-1", "--secret", "wrong-secret-999", "--uid",
                            "ay-cli-1"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_THAT(bad.err, HasSubstr("sign_invalid"));
    EXPECT_THAT(bad.out + bad.err, Not(HasSubstr("wrong-secret-999")));
    EXPECT_TRUE(bad.out.empty());

    setenv("LS_TEST_CLOUD_SECRET", "cli-secret-123456", 1);
    auto from_env = run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint",
                                 endpoint, "--client-id", "cli-client-1", "--secret-env",
                                 "LS_TEST_CLOUD_SECRET", "--uid", "ay-cli-1"});
    EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
    EXPECT_THAT(from_env.out, HasSubstr("\"expire_time\":240"));

    auto other_uid = run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint",
                                  endpoint, "--client-id", "cli-client-1", "--secret",
                                  "cli-secret-123456", "--uid", "someone-else"});
    EXPECT_EQ(other_uid.exit_code, 1);
    EXPECT_THAT(other_uid.err, HasSubstr("permission_denied"));
    EXPECT_EQ(cloud.stop(), 0);
}

TEST(CloudClient, CommandAsksTheIndustryFamilyForAnAssetToken) {
    GoldenCloud cloud;
    cloud.on("GET /v1.0/token", "token_grant");
    cloud.on("POST /v1.0/iot-03/device-registration/token", "pairing_token_registration");
    auto ok = run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint",
                           cloud.endpoint(), "--client-id", "c", "--secret", "s", "--api",
                           "device-registration", "--asset-id", "1233213123123"});
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(ok.out, "{\"token\":\"AYH73H****pr_0\",\"expire_time\":300}\n");
    ASSERT_EQ(cloud.seen().size(), 2u);
    EXPECT_THAT(cloud.seen()[1].body, HasSubstr("\"asset_id\":\"1233213123123\""));

    auto no_asset =
        run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint", cloud.endpoint(),
                     "--client-id", "c", "--secret", "s", "--api", "device-registration"});
    EXPECT_EQ(no_asset.exit_code, 2);
    EXPECT_THAT(no_asset.err, HasSubstr("--asset-id"));
    auto bad_api =
        run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint", cloud.endpoint(),
                     "--client-id", "c", "--secret", "s", "--api", "industry", "--uid", "u"});
    EXPECT_EQ(bad_api.exit_code, 2);
    EXPECT_THAT(bad_api.err, HasSubstr("expected pairing or device-registration"));
}

TEST(CloudClient, CommandRefusesPlainHttpToAnotherHost) {
    auto result = run_process({LS_STATION_BINARY, "cloud", "pairing-token", "--endpoint",
                               "http://openapi.tuyaeu.com", "--client-id", "c", "--secret", "s",
                               "--uid", "u"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_THAT(result.err, HasSubstr("loopback"));
}

}  // namespace
}  // namespace linestation::testing
