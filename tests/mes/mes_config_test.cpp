// The station config's "mes" section: the CFX sink's settings and the errors that name the
// file, the field, the value and what was expected.
#include <gtest/gtest.h>

#include "station/config/station_config.hpp"

using namespace linestation;

namespace {

config::StationConfig parse(const std::string& mes) {
    return config::parse_station_config(
        config::JsonNode::parse(R"({"station": {"id": "st-3"}, "mes": )" + mes + "}",
                                "station.json"),
        "");
}

std::string error_of(const std::string& mes) {
    try {
        parse(mes);
    } catch (const config::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(MesConfig, CfxUrlAddressAndHandle) {
    const auto c = parse(
        R"({"cfx": {"url": "amqp://mes.plant:5672", "address": "/queue/line-3", "handle": "LineStation.RMA.st-3"}})");
    ASSERT_TRUE(c.mes && c.mes->cfx);
    EXPECT_EQ(c.mes->cfx->host, "mes.plant");
    EXPECT_EQ(c.mes->cfx->port, 5672);
    EXPECT_EQ(c.mes->cfx->address, "/queue/line-3");
    EXPECT_EQ(c.mes->cfx->handle, "LineStation.RMA.st-3");
    EXPECT_FALSE(
        parse("{\"cfx\": {\"url\": \"amqp://h:1\", \"address\": \"a\", \"handle\": \"h\"}}").fleet);
}

TEST(MesConfig, NoMesSectionMeansNoMesSink) {
    auto c = config::parse_station_config(
        config::JsonNode::parse(R"({"station": {"id": "st-3"}})", "station.json"), "");
    EXPECT_FALSE(c.mes);
}

TEST(MesConfig, ErrorsNameTheFieldTheValueAndWhatWasExpected) {
    EXPECT_EQ(error_of(R"({"cfx": {"url": "http://mes:5672", "address": "q", "handle": "h"}})"),
              "station.json: $.mes.cfx.url: expected an amqp://HOST:PORT URL, got "
              "\"http://mes:5672\"");
    EXPECT_NE(error_of(R"({"cfx": {"url": "amqp://mes", "address": "q", "handle": "h"}})")
                  .find("$.mes.cfx.url: expected an amqp://HOST:PORT URL"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"cfx": {"url": "amqp://mes:99999", "address": "q", "handle": "h"}})")
                  .find("port 1-65535"),
              std::string::npos);
    // Credentials in the URL are refused, and the error does not repeat them.
    const auto with_password =
        error_of(R"({"cfx": {"url": "amqp://u:secret@mes:5672", "address": "q", "handle": "h"}})");
    EXPECT_NE(with_password.find("$.mes.cfx.url: expected an amqp://HOST:PORT URL without"),
              std::string::npos);
    EXPECT_EQ(with_password.find("secret"), std::string::npos) << with_password;
    EXPECT_NE(
        error_of(R"({"cfx": {"url": "amqp://mes:5672", "handle": "h"}})").find("$.mes.cfx.address"),
        std::string::npos);
    EXPECT_NE(error_of(R"({"cfx": {"url": "amqp://mes:5672", "address": "q", "handle": ""}})")
                  .find("$.mes.cfx.handle"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"cfx": {"url": "amqp://mes:5672", "adress": "q", "handle": "h"}})")
                  .find("adress"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"mqtt": {}})").find("mqtt"), std::string::npos);
    EXPECT_NE(error_of("{}").find("$.mes: no sink configured"), std::string::npos);
    EXPECT_NE(error_of("[]").find("$.mes: expected an object"), std::string::npos);
}
