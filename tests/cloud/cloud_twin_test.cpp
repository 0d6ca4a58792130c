// The Tuya cloud twin against Tuya's documentation, over real HTTP on loopback. The requests
// are signed by a small client written here from "Sign Requests" (OpenSSL's HMAC, not the
// twin's and not the station's), so the twin, the station and this test share no code.
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "fixtures/virtual/cloud/tuya_cloud_twin.hpp"

namespace linestation::testing {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;
using virtual_line::Binding;
using virtual_line::JoinResult;
using virtual_line::ResetKind;
using virtual_line::TuyaCloudTwin;
using virtual_line::TuyaCloudTwinOptions;
using virtual_line::TwinDevice;

constexpr const char* kStationUid = "ay1700000000000station";
constexpr const char* kStationClient = "station-client-0001";
constexpr const char* kStationSecret = "station-secret-0000000000000001";
constexpr const char* kConsumerUid = "ay1600000000000consumer";
constexpr const char* kCamera = "camera-pid-0001";
constexpr const char* kLock = "lock-pid-0001";  // the station's account has no permission

std::string hex(const unsigned char* bytes, std::size_t n, bool upper) {
    std::string out;
    char two[3];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(two, sizeof two, upper ? "%02X" : "%02x", bytes[i]);
        out += two;
    }
    return out;
}

std::string sha256(const std::string& data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    return hex(digest, sizeof digest, false);
}

// "Sign Requests": str = client_id [+ access_token] + t + nonce + stringToSign,
// sign = HMAC-SHA256(str, secret).toUpperCase(); stringToSign = Method \n Content-SHA256 \n
// Headers \n Url (query sorted by key).
std::string tuya_sign(const std::string& client_id, const std::string& secret,
                      const std::string& access, const std::string& t, const std::string& nonce,
                      const std::string& method, const std::string& body,
                      const std::string& headers, const std::string& url) {
    const auto str =
        client_id + access + t + nonce + method + "\n" + sha256(body) + "\n" + headers + "\n" + url;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(str.data()), str.size(), mac, &length);
    return hex(mac, length, true);
}

struct Answer {
    int status = 0;
    std::string text;
    Object::Ptr json;
    bool success() const { return json && json->getValue<bool>("success"); }
    int code() const { return json && json->has("code") ? json->getValue<int>("code") : 0; }
    std::string msg() const {
        return json && json->has("msg") ? json->getValue<std::string>("msg") : "";
    }
    Object::Ptr object() const { return json->getObject("result"); }
    Array::Ptr array() const { return json->getArray("result"); }
};

// Field names of a JSON object, to compare with a document's table.
std::set<std::string> keys(const Object::Ptr& o) {
    std::set<std::string> out;
    for (const auto& [k, v] : *o) out.insert(k);
    return out;
}

struct Request {
    std::string method = "GET";
    std::string url;  // path and query, query already sorted as the document demands
    std::string body;
    bool token_api = false;
    std::int64_t t_offset_ms = 0;
    std::string sign;  // empty: computed
    std::map<std::string, std::string> signed_headers;
    std::string access;  // empty: the client's own
};

Request business(std::string url) {
    Request r;
    r.url = std::move(url);
    return r;
}

Request token_request(std::string url) {
    auto r = business(std::move(url));
    r.token_api = true;
    return r;
}

template <typename Field, typename Value>
Request with(Request r, Field Request::*field, Value value) {
    r.*field = std::move(value);
    return r;
}

class Client {
  public:
    Client(const TuyaCloudTwin& twin, const Clock& clock, std::string id, std::string secret)
        : twin_(twin), clock_(clock), id_(std::move(id)), secret_(std::move(secret)) {}

    Answer call(Request r) {
        const Poco::URI base(twin_.endpoint());
        Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(r.method, r.url, Poco::Net::HTTPMessage::HTTP_1_1);
        const auto t = std::to_string(clock_.wall_ms() + r.t_offset_ms);
        const auto nonce = "nonce-" + std::to_string(++nonces_);
        const auto access = r.token_api ? "" : (r.access.empty() ? access_ : r.access);
        std::string headers, names;
        for (const auto& [k, v] : r.signed_headers) {
            headers += k + ":" + v + "\n";
            names += (names.empty() ? "" : ":") + k;
            request.set(k, v);
        }
        if (!names.empty()) request.set("Signature-Headers", names);
        request.set("client_id", id_);
        request.set("t", t);
        request.set("nonce", nonce);
        request.set("sign_method", "HMAC-SHA256");
        if (!access.empty()) request.set("access_token", access);
        request.set("sign", r.sign.empty() ? tuya_sign(id_, secret_, access, t, nonce, r.method,
                                                       r.body, headers, sorted(r.url))
                                           : r.sign);
        if (!r.body.empty()) {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(r.body.size()));
        }
        session.sendRequest(request) << r.body;
        Poco::Net::HTTPResponse response;
        Answer answer;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), answer.text);
        answer.status = response.getStatus();
        if (answer.status == 200) {
            answer.json = Poco::JSON::Parser().parse(answer.text).extract<Object::Ptr>();
        }
        return answer;
    }

    Answer login() {
        auto a = call(token_request("/v1.0/token?grant_type=1"));
        if (a.success()) {
            access_ = a.object()->getValue<std::string>("access_token");
            refresh_ = a.object()->getValue<std::string>("refresh_token");
        }
        return a;
    }
    Answer get(const std::string& url) { return call(business(url)); }
    Answer post(const std::string& url, const std::string& body) {
        return call(
            with(with(business(url), &Request::method, std::string("POST")), &Request::body, body));
    }
    Answer remove(const std::string& device_id) {
        return call(
            with(business("/v1.0/devices/" + device_id), &Request::method, std::string("DELETE")));
    }
    // The 14-character "t" of the pairing JSON from a "Generate a pairing token" answer.
    std::string pairing_t(const Answer& a) {
        const auto r = a.object();
        return r->getValue<std::string>("region") + r->getValue<std::string>("token") +
               r->getValue<std::string>("secret");
    }
    std::string token_v10() {
        return pairing_t(post("/v1.0/device/paring/token",
                              std::string(R"({"paring_type":"EZ","uid":")") + kStationUid +
                                  R"(","time_zone_id":"Europe/Paris"})"));
    }
    std::string token_iot03() {
        return pairing_t(post(
            "/v1.0/iot-03/device-registration/token",
            R"({"pairing_type":"EZ","time_zone_id":"Europe/Paris","asset_id":"1233213123123"})"));
    }
    const std::string& refresh_token() const { return refresh_; }
    const std::string& access_token() const { return access_; }

  private:
    static std::string sorted(const std::string& url) {
        const Poco::URI uri(url);
        auto params = uri.getQueryParameters();
        std::stable_sort(params.begin(), params.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::string out = uri.getPath();
        for (std::size_t i = 0; i < params.size(); ++i) {
            out += (i ? "&" : "?") + params[i].first + "=" + params[i].second;
        }
        return out;
    }

    const TuyaCloudTwin& twin_;
    const Clock& clock_;
    std::string id_, secret_, access_, refresh_;
    int nonces_ = 0;
};

std::string qr(const std::string& t) {
    return R"({"s":"line-wifi","p":"wifi-pass-1","t":")" + t + R"("})";
}

TwinDevice camera(int n, const std::string& product = kCamera) {
    const auto id = std::to_string(n);
    return {"vdevo" + id, "uuid" + id, "sn" + id,      "dc:23:00:00:00:" + id,
            product,      "sp",        "camera " + id, Binding::Strong};
}

struct World {
    ManualClock clock;
    TuyaCloudTwin twin;
    Client station;

    explicit World(TuyaCloudTwinOptions options = {})
        : twin(clock, options), station(twin, clock, kStationClient, kStationSecret) {
        twin.add_account({kStationUid, kStationClient, kStationSecret, {kCamera}});
        twin.start();
        EXPECT_TRUE(station.login().success());
    }
};

TEST(CloudTwin, AcceptsTuyasPublishedSigningExample) {
    // "Sign Requests" (developer.tuya.com/en/docs/iot/new-singnature?id=Kbw0q34cs2e5g).
    const std::map<std::string, std::string> headers{
        {"area_id", "29a33e8796834b1efa6"}, {"call_id", "8afdb70ab2ed11eb85290242ac130003"}};
    const std::string doc_headers =
        "area_id:29a33e8796834b1efa6\ncall_id:8afdb70ab2ed11eb85290242ac130003\n";
    const std::string id = "1KAD46OrT9HafiKdsXeg", secret = "4OHBOnWOqaEC1mWXOpVL3yV50s0qGSRC";
    const std::string t = "1588925778000", nonce = "5138cc3a9033d69856923fd07b491173";
    // This test's own signer against the document first, so that a failure below is the twin's.
    ASSERT_EQ(
        tuya_sign(id, secret, "", t, nonce, "GET", "", doc_headers, "/v1.0/token?grant_type=1"),
        "9E48A3E93B302EEECC803C7241985D0A34EB944F40FB573C7B5C2A82158AF13E");
    ASSERT_EQ(tuya_sign(id, secret, "3f4eda2bdec17232f67c0b188af3eec1", t, nonce, "GET", "",
                        doc_headers, "/v2.0/apps/schema/users?page_no=1&page_size=50"),
              "AE4481C692AA80B25F3A7E12C3A5FD9BBF6251539DD78E565A1A72A508A88784");

    ManualClock clock(1588925778000);
    TuyaCloudTwin twin(clock);
    twin.add_account({"ay-doc", id, secret, {}});
    twin.start();
    // The documented request with the documented sign, nonce and t: the twin hears it as the
    // document's own example.
    const Poco::URI base(twin.endpoint());
    auto send = [&](const std::string& url, const std::string& sign, const std::string& access) {
        Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
        Poco::Net::HTTPRequest request("GET", url, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : headers) request.set(k, v);
        request.set("Signature-Headers", "area_id:call_id");
        request.set("client_id", id);
        request.set("t", t);
        request.set("nonce", nonce);
        request.set("sign_method", "HMAC-SHA256");
        request.set("sign", sign);
        if (!access.empty()) request.set("access_token", access);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string text;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
        return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
    };
    auto grant = send("/v1.0/token?grant_type=1",
                      "9E48A3E93B302EEECC803C7241985D0A34EB944F40FB573C7B5C2A82158AF13E", "");
    EXPECT_TRUE(grant->getValue<bool>("success"));
    // The business example, sent with its query unsorted as a caller might: the signature
    // holds (the twin sorts), so the refusal is the unknown access token, 1011, not 1004.
    auto business = send("/v2.0/apps/schema/users?page_size=50&page_no=1",
                         "AE4481C692AA80B25F3A7E12C3A5FD9BBF6251539DD78E565A1A72A508A88784",
                         "3f4eda2bdec17232f67c0b188af3eec1");
    EXPECT_EQ(business->getValue<int>("code"), 1011);
    EXPECT_EQ(business->getValue<std::string>("msg"), "token invalid");
    auto bad = send("/v1.0/token?grant_type=1",
                    "9E48A3E93B302EEECC803C7241985D0A34EB944F40FB573C7B5C2A82158AF13F", "");
    EXPECT_FALSE(bad->getValue<bool>("success"));
    EXPECT_EQ(bad->getValue<int>("code"), 1004);
    EXPECT_EQ(bad->getValue<std::string>("msg"), "sign invalid");
}

TEST(CloudTwin, TokenGrantAndRefreshAsDocumented) {
    World w;
    auto grant = w.station.login();
    ASSERT_TRUE(grant.success());
    // "Get a token": result has access_token, expire_time, refresh_token, uid.
    EXPECT_EQ(keys(grant.object()),
              (std::set<std::string>{"access_token", "expire_time", "refresh_token", "uid"}));
    EXPECT_EQ(grant.object()->getValue<int>("expire_time"), 7200);
    EXPECT_EQ(grant.object()->getValue<std::string>("uid"), kStationUid);
    EXPECT_TRUE(grant.json->has("t"));

    const auto old_access = w.station.access_token();
    const auto refresh = w.station.refresh_token();
    auto renewed = w.station.call(token_request("/v1.0/token/" + refresh));
    ASSERT_TRUE(renewed.success());
    EXPECT_NE(renewed.object()->getValue<std::string>("access_token"), old_access);
    // "Refresh a token": a refresh token works once, and the old access token is retired.
    EXPECT_EQ(w.station.call(token_request("/v1.0/token/" + refresh)).code(), 1011);
    EXPECT_EQ(w.station
                  .call(with(business("/v1.0/devices/factory-infos?device_ids=x"), &Request::access,
                             old_access))
                  .code(),
              1011);
    EXPECT_EQ(w.station.call(token_request("/v1.0/token?grant_type=2")).code(), 1003);

    ASSERT_TRUE(w.station.login().success());
    w.twin.expire_access_tokens();
    auto expired = w.station.get("/v1.0/devices/factory-infos?device_ids=x");
    EXPECT_EQ(expired.code(), 1010);
    EXPECT_EQ(expired.msg(), "token is expired");
    w.twin.revoke_access_tokens();
    auto revoked = w.station.get("/v1.0/devices/factory-infos?device_ids=x");
    EXPECT_EQ(revoked.code(), 1011);
    EXPECT_EQ(revoked.msg(), "token invalid");
    EXPECT_EQ(w.station.call(token_request("/v1.0/token/" + w.station.refresh_token())).code(),
              1011);
}

TEST(CloudTwin, RequestTimeOffByMoreThanTheWindowIs1013WithTheCloudsTime) {
    World w;
    EXPECT_TRUE(w.station
                    .call(with(token_request("/v1.0/token?grant_type=1"), &Request::t_offset_ms,
                               std::int64_t{299'000}))
                    .success());
    auto late = w.station.call(with(token_request("/v1.0/token?grant_type=1"),
                                    &Request::t_offset_ms, std::int64_t{-301'000}));
    EXPECT_EQ(late.code(), 1013);
    EXPECT_EQ(late.msg(), "request time is invalid");
    // The cloud's own clock runs 10 minutes ahead: every request is refused, and the answer
    // carries the cloud's t so that a client can correct its offset.
    w.twin.set_clock_offset_ms(600'000);
    auto skewed = w.station.get("/v1.0/devices/factory-infos?device_ids=x");
    EXPECT_EQ(skewed.code(), 1013);
    EXPECT_NEAR(static_cast<double>(skewed.json->getValue<std::int64_t>("t")),
                static_cast<double>(w.clock.wall_ms() + 600'000), 1000.0);
    EXPECT_TRUE(w.station
                    .call(with(business("/v1.0/devices/factory-infos?device_ids=x"),
                               &Request::t_offset_ms, std::int64_t{600'000}))
                    .success());
}

TEST(CloudTwin, PairingTokensOfBothFamiliesHaveTheDocumentedShape) {
    World w;
    auto v10 = w.station.post("/v1.0/device/paring/token",
                              std::string(R"({"paring_type":"EZ","uid":")") + kStationUid +
                                  R"(","time_zone_id":"Europe/Paris"})");
    ASSERT_TRUE(v10.success()) << v10.text;
    EXPECT_EQ(keys(v10.object()),
              (std::set<std::string>{"expire_time", "region", "secret", "token"}));
    EXPECT_EQ(v10.object()->getValue<std::string>("region"), "AY");
    EXPECT_EQ(v10.object()->getValue<std::string>("token").size(), 8u);
    EXPECT_EQ(v10.object()->getValue<std::string>("secret").size(), 4u);
    EXPECT_EQ(v10.object()->getValue<int>("expire_time"), 300);
    auto iot = w.station.post(
        "/v1.0/iot-03/device-registration/token",
        R"({"pairing_type":"EZ","time_zone_id":"Asia/Shanghai","asset_id":"1233213123123"})");
    ASSERT_TRUE(iot.success()) << iot.text;
    EXPECT_EQ(keys(iot.object()),
              (std::set<std::string>{"expire_time", "region", "secret", "token"}));

    EXPECT_EQ(w.station.post("/v1.0/device/paring/token", R"({"paring_type":"EZ"})").code(), 1100);
    EXPECT_EQ(
        w.station.post("/v1.0/device/paring/token", R"({"paring_type":"EZ","uid":"someone-else"})")
            .code(),
        1106);
    EXPECT_EQ(w.station
                  .post("/v1.0/iot-03/device-registration/token",
                        R"({"pairing_type":"EZ","time_zone_id":"Asia/Shanghai"})")
                  .code(),
              1100);
    EXPECT_EQ(w.station.post("/v1.0/device/paring/token", "not json").code(), 1109);
}

TEST(CloudTwin, TokenPollsAnswerEachEndpointsOwnDocumentedShape) {
    World w;
    w.twin.add_device(camera(1));                       // free: activates
    w.twin.add_device(camera(2, kLock), kConsumerUid);  // no permission: failed
    const auto t10 = w.station.token_v10();
    EXPECT_EQ(w.twin.device_read_code("vdevo1", qr(t10), true).result, JoinResult::Activated);
    EXPECT_EQ(w.twin.device_read_code("vdevo2", qr(t10), true).result, JoinResult::NoPermission);

    // "Get the list of devices to be paired": success [{device_id, product_id, category,
    // name}], failed [{device_id, name, code, msg}].
    auto poll = w.station.get("/v1.0/device/paring/tokens/" + t10.substr(2, 8));
    ASSERT_TRUE(poll.success()) << poll.text;
    EXPECT_EQ(keys(poll.object()), (std::set<std::string>{"success", "failed"}));
    auto success = poll.object()->getArray("success");
    auto failed = poll.object()->getArray("failed");
    ASSERT_EQ(success->size(), 1u);
    ASSERT_EQ(failed->size(), 1u);
    EXPECT_EQ(keys(success->getObject(0)),
              (std::set<std::string>{"device_id", "product_id", "category", "name"}));
    EXPECT_EQ(success->getObject(0)->getValue<std::string>("device_id"), "vdevo1");
    EXPECT_EQ(success->getObject(0)->getValue<std::string>("category"), "sp");
    EXPECT_EQ(keys(failed->getObject(0)),
              (std::set<std::string>{"device_id", "name", "code", "msg"}));
    EXPECT_EQ(failed->getObject(0)->getValue<std::string>("device_id"), "vdevo2");
    EXPECT_EQ(failed->getObject(0)->getValue<std::string>("code"), "1106");
    EXPECT_EQ(failed->getObject(0)->getValue<std::string>("msg"), "permission deny");

    // "Query device activation result based on network distribution token":
    // success_devices [{id, name, product_id, lon, lat, ip, online, uuid}],
    // error_devices [{id, name, error_code, error_msg}].
    w.twin.add_device(camera(3));
    w.twin.add_device(camera(4, kLock));
    const auto t03 = w.station.token_iot03();
    w.twin.device_read_code("vdevo3", qr(t03), true);
    w.twin.device_read_code("vdevo4", qr(t03), true);
    auto poll11 = w.station.get("/v1.1/iot-03/device-registration/tokens/" + t03.substr(2, 8));
    ASSERT_TRUE(poll11.success()) << poll11.text;
    EXPECT_EQ(keys(poll11.object()), (std::set<std::string>{"success_devices", "error_devices"}));
    auto ok = poll11.object()->getArray("success_devices");
    auto bad = poll11.object()->getArray("error_devices");
    ASSERT_EQ(ok->size(), 1u);
    ASSERT_EQ(bad->size(), 1u);
    EXPECT_EQ(keys(ok->getObject(0)), (std::set<std::string>{"id", "name", "product_id", "lon",
                                                             "lat", "ip", "online", "uuid"}));
    EXPECT_EQ(ok->getObject(0)->getValue<std::string>("id"), "vdevo3");
    EXPECT_EQ(ok->getObject(0)->getValue<std::string>("uuid"), "uuid3");
    EXPECT_EQ(keys(bad->getObject(0)),
              (std::set<std::string>{"id", "name", "error_code", "error_msg"}));
    EXPECT_EQ(bad->getObject(0)->getValue<std::string>("error_code"), "1106");

    // Another account's token is not this project's to read.
    w.twin.add_account({"ay-other", "other-client", "other-secret", {}});
    Client other(w.twin, w.clock, "other-client", "other-secret");
    ASSERT_TRUE(other.login().success());
    EXPECT_EQ(other.get("/v1.0/device/paring/tokens/" + t10.substr(2, 8)).code(), 1106);
    EXPECT_EQ(w.station.get("/v1.0/device/paring/tokens/NOSUCHTK").code(), 1000);
}

TEST(CloudTwin, StrongBoundDeviceIsUnboundThenBoundToTheTokensAccount) {
    World w;
    w.twin.add_device(camera(1), kConsumerUid);
    const auto t = w.station.token_v10();
    auto outcome = w.twin.device_read_code("vdevo1", qr(t), true);
    EXPECT_EQ(outcome.result, JoinResult::Rebound);
    EXPECT_EQ(outcome.owner_uid, kStationUid);
    EXPECT_EQ(w.twin.bound_to("vdevo1"), kStationUid);
    EXPECT_EQ(w.twin.devices_bound_to(kStationUid), std::vector<std::string>{"vdevo1"});
    EXPECT_TRUE(w.twin.devices_bound_to(kConsumerUid).empty());
    auto poll = w.station.get("/v1.0/device/paring/tokens/" + t.substr(2, 8));
    EXPECT_EQ(poll.object()->getArray("success")->size(), 1u);
    const auto unbinds = w.twin.unbinds();
    ASSERT_EQ(unbinds.size(), 1u);
    EXPECT_EQ(unbinds[0].from_uid, kConsumerUid);
    EXPECT_EQ(unbinds[0].by_uid, kStationUid);
    EXPECT_EQ(unbinds[0].utc_day, w.twin.utc_day());
    EXPECT_EQ(w.twin.unbinds_today_for_account(kStationUid), 1);
    EXPECT_EQ(w.twin.unbinds_today_for_product(kCamera), 1);
    const auto attempts = w.twin.join_attempts();
    ASSERT_EQ(attempts.size(), 1u);
    EXPECT_EQ(attempts[0].previous_owner, kConsumerUid);
    EXPECT_EQ(attempts[0].account_uid, kStationUid);

    // A weak-binding device re-pairs directly: no unbind is counted.
    auto plug = camera(2);
    plug.binding = Binding::Weak;
    w.twin.add_device(plug, kConsumerUid);
    EXPECT_EQ(w.twin.device_read_code("vdevo2", qr(t), true).result, JoinResult::Activated);
    EXPECT_EQ(w.twin.unbinds_today_for_account(kStationUid), 1);
}

TEST(CloudTwin, WhatNeverReachesTheCloudLeavesTheWorldAsItWas) {
    World w;
    w.twin.add_device(camera(1), kConsumerUid);
    const auto t = w.station.token_v10();
    EXPECT_EQ(w.twin.device_read_code("vdevo1", "https://example.com/x", true).result,
              JoinResult::NotACode);
    EXPECT_EQ(w.twin.device_read_code("vdevo1", R"({"s":"a","p":"b"})", true).result,
              JoinResult::NotACode);
    EXPECT_EQ(w.twin.device_read_code("vdevo1", qr("EU" + t.substr(2)), true).result,
              JoinResult::UnknownToken);
    EXPECT_EQ(w.twin.device_read_code("vdevo1", qr(t.substr(0, 10) + "zzzz"), true).result,
              JoinResult::UnknownToken);
    EXPECT_EQ(w.twin.device_read_code("vdevo1", qr(t), false).result, JoinResult::WifiFailed);
    EXPECT_EQ(w.twin.bound_to("vdevo1"), kConsumerUid);
    auto poll = w.station.get("/v1.0/device/paring/tokens/" + t.substr(2, 8));
    EXPECT_EQ(poll.object()->getArray("success")->size(), 0u);
    EXPECT_EQ(poll.object()->getArray("failed")->size(), 0u);
    EXPECT_EQ(w.twin.join_attempts().size(), 5u);
    EXPECT_THROW(w.twin.device_read_code("nobody", qr(t), true), std::invalid_argument);
}

TEST(CloudTwin, DailyUnbindQuotasPerAccountAndPerProduct) {
    TuyaCloudTwinOptions o;
    o.daily_unbinds_per_account = 2;
    o.daily_unbinds_per_product = 3;
    World w(o);
    w.twin.add_account({"ay-partner", "partner-client", "partner-secret", {kCamera}});
    Client partner(w.twin, w.clock, "partner-client", "partner-secret");
    ASSERT_TRUE(partner.login().success());
    for (int i = 1; i <= 5; ++i) w.twin.add_device(camera(i), kConsumerUid);
    const auto t = w.station.token_v10();
    EXPECT_EQ(w.twin.device_read_code("vdevo1", qr(t), true).result, JoinResult::Rebound);
    EXPECT_EQ(w.twin.device_read_code("vdevo2", qr(t), true).result, JoinResult::Rebound);
    EXPECT_EQ(w.twin.device_read_code("vdevo3", qr(t), true).result, JoinResult::QuotaExceeded);
    EXPECT_EQ(w.twin.bound_to("vdevo3"), kConsumerUid);
    auto poll = w.station.get("/v1.0/device/paring/tokens/" + t.substr(2, 8));
    ASSERT_EQ(poll.object()->getArray("failed")->size(), 1u);
    EXPECT_EQ(poll.object()->getArray("failed")->getObject(0)->getValue<std::string>("device_id"),
              "vdevo3");
    // The product's quota is shared by every account: the partner gets one more, then none.
    const auto tp = partner.pairing_t(
        partner.post("/v1.0/device/paring/token", R"({"paring_type":"EZ","uid":"ay-partner"})"));
    EXPECT_EQ(w.twin.device_read_code("vdevo3", qr(tp), true).result, JoinResult::Rebound);
    EXPECT_EQ(w.twin.device_read_code("vdevo4", qr(tp), true).result, JoinResult::QuotaExceeded);
    EXPECT_EQ(w.twin.unbinds_today_for_product(kCamera), 3);
    // A new UTC day, new quotas.
    const auto today = w.twin.utc_day();
    w.clock.advance(24 * 3600);
    ASSERT_TRUE(w.station.login().success());
    const auto t2 = w.station.token_v10();
    EXPECT_EQ(w.twin.device_read_code("vdevo4", qr(t2), true).result, JoinResult::Rebound);
    EXPECT_EQ(w.twin.unbinds_on_day(kStationUid, today), 2);
    EXPECT_EQ(w.twin.unbinds_on_day(kStationUid, today + 1), 1);
}

TEST(CloudTwin, TokenServesThirtyDevicesAndExpires) {
    World w;
    for (int i = 1; i <= 32; ++i) w.twin.add_device(camera(i));
    const auto t = w.station.token_v10();
    for (int i = 1; i <= 30; ++i) {
        ASSERT_EQ(w.twin.device_read_code("vdevo" + std::to_string(i), qr(t), true).result,
                  JoinResult::Activated)
            << i;
    }
    EXPECT_EQ(w.twin.device_read_code("vdevo31", qr(t), true).result, JoinResult::TokenFull);
    // One of its thirty reading it again is still served.
    EXPECT_EQ(w.twin.device_read_code("vdevo7", qr(t), true).result, JoinResult::Activated);
    auto poll = w.station.get("/v1.0/device/paring/tokens/" + t.substr(2, 8));
    EXPECT_EQ(poll.object()->getArray("success")->size(), 30u);
    EXPECT_EQ(poll.object()->getArray("failed")->size(), 1u);

    const auto fresh = w.station.token_v10();
    w.clock.advance(300);
    EXPECT_EQ(w.twin.device_read_code("vdevo32", qr(fresh), true).result, JoinResult::TokenExpired);
    EXPECT_FALSE(w.twin.bound_to("vdevo32"));
    auto expired = w.station.get("/v1.0/device/paring/tokens/" + fresh.substr(2, 8));
    ASSERT_EQ(expired.object()->getArray("failed")->size(), 1u);
    EXPECT_EQ(expired.object()->getArray("failed")->getObject(0)->getValue<std::string>("code"),
              "1010");
}

TEST(CloudTwin, FactoryInfosAnswersIdUuidSnMacForAtMostTwentyIds) {
    World w;
    std::string ids;
    for (int i = 1; i <= 21; ++i) {
        w.twin.add_device(camera(i));
        if (i <= 20) ids += (ids.empty() ? "" : ",") + ("vdevo" + std::to_string(i));
    }
    w.twin.add_device(camera(99, kLock), kConsumerUid);  // not this project's to see
    auto twenty = w.station.get("/v1.0/devices/factory-infos?device_ids=" + ids);
    ASSERT_TRUE(twenty.success()) << twenty.text;
    ASSERT_EQ(twenty.array()->size(), 20u);
    EXPECT_EQ(keys(twenty.array()->getObject(0)),
              (std::set<std::string>{"id", "uuid", "sn", "mac"}));
    EXPECT_EQ(twenty.array()->getObject(0)->getValue<std::string>("uuid"), "uuid1");
    auto batch21 = w.station.get("/v1.0/devices/factory-infos?device_ids=" + ids + ",vdevo21");
    EXPECT_EQ(batch21.code(), 1109);
    EXPECT_EQ(batch21.msg(), "param is illegal, please check it");
    EXPECT_EQ(
        w.station.get("/v1.0/iot-03/devices/factory-infos?device_ids=" + ids + ",vdevo21").code(),
        1109);
    auto some = w.station.get("/v1.0/devices/factory-infos?device_ids=vdevo2,vdevo99,ghost");
    ASSERT_EQ(some.array()->size(), 1u);
    EXPECT_EQ(some.array()->getObject(0)->getValue<std::string>("sn"), "sn2");
    EXPECT_EQ(w.station.get("/v1.0/devices/factory-infos?device_ids=").code(), 1100);
}

TEST(CloudTwin, RemoveDeviceIsRefusedWhileItIsOfflineAndResetsItFree) {
    World w;
    w.twin.add_device(camera(1));
    std::atomic<int> told{0};
    w.twin.on_removed([&](const std::string& id) {
        if (id == "vdevo1") ++told;
    });
    const auto t = w.station.token_v10();
    ASSERT_TRUE(w.twin.device_read_code("vdevo1", qr(t), true).ok());
    w.twin.device_reset("vdevo1", ResetKind::PowerCycle);
    auto offline = w.station.remove("vdevo1");
    EXPECT_EQ(offline.code(), 2001);
    EXPECT_EQ(offline.msg(), "device is offline");
    EXPECT_EQ(w.twin.bound_to("vdevo1"), kStationUid);
    w.clock.advance(20);
    auto removed = w.station.remove("vdevo1");
    ASSERT_TRUE(removed.success()) << removed.text;
    EXPECT_TRUE(removed.json->getValue<bool>("result"));
    EXPECT_FALSE(w.twin.bound_to("vdevo1"));
    EXPECT_EQ(w.twin.times_removed("vdevo1"), 1);
    EXPECT_EQ(told.load(), 1);
    EXPECT_FALSE(w.twin.online("vdevo1"));  // reset by the cloud, in pairing mode
    const auto removals = w.twin.removals();
    ASSERT_EQ(removals.size(), 2u);
    EXPECT_FALSE(removals[0].ok);
    EXPECT_EQ(removals[0].code, "2001");
    EXPECT_TRUE(removals[1].ok);
    EXPECT_EQ(removals[1].bound_before, kStationUid);
    // A removal of its own device is no unbind from someone else.
    EXPECT_EQ(w.twin.unbinds_today_for_account(kStationUid), 0);
    // The code is still on the screen: the freshly reset device reads it and pairs again.
    EXPECT_EQ(w.twin.device_read_code("vdevo1", qr(t), true).result, JoinResult::Activated);
    EXPECT_EQ(w.twin.bound_to("vdevo1"), kStationUid);

    // Another owner's device: removing it takes permission for its product, and is an unbind.
    w.twin.add_device(camera(2), kConsumerUid);
    w.twin.add_device(camera(3, kLock), kConsumerUid);
    EXPECT_EQ(w.station.remove("vdevo3").code(), 1106);
    EXPECT_TRUE(w.station.remove("vdevo2").success());
    EXPECT_EQ(w.twin.unbinds().back().cause, virtual_line::UnbindCause::Delete);
    EXPECT_EQ(w.station.remove("ghost").code(), 2010);
}

TEST(CloudTwin, DeviceLogsTellActivationAndReset) {
    World w;
    w.twin.add_device(camera(1));
    const auto start = w.clock.wall_ms();
    const auto t = w.station.token_v10();
    w.twin.device_reset("vdevo1", ResetKind::Factory);
    w.clock.advance(5);
    ASSERT_TRUE(w.twin.device_read_code("vdevo1", qr(t), true).ok());
    const auto url = "/v1.0/devices/vdevo1/logs?end_time=" + std::to_string(w.clock.wall_ms()) +
                     "&start_time=" + std::to_string(start) + "&type=1,2,3,4";
    auto logs = w.station.get(url);
    ASSERT_TRUE(logs.success()) << logs.text;
    std::vector<int> events;
    auto list = logs.object()->getArray("logs");
    for (std::size_t i = 0; i < list->size(); ++i) {
        events.push_back(list->getObject(static_cast<unsigned>(i))->getValue<int>("event_id"));
    }
    EXPECT_EQ(events, (std::vector<int>{2, 4, 1, 3}));
    EXPECT_EQ(w.station.get("/v1.0/devices/vdevo1/logs?type=1").code(), 1100);
}

TEST(CloudTwin, FaultsBurstsAndStallsAreThoseAsked) {
    World w;
    w.twin.fail_next(2, 503);
    auto first = w.station.get("/v1.0/devices/factory-infos?device_ids=x");
    EXPECT_EQ(first.status, 503);
    EXPECT_EQ(first.text.find('{'), std::string::npos);  // HTML, not JSON
    EXPECT_EQ(w.station.get("/v1.0/devices/factory-infos?device_ids=x").status, 503);
    EXPECT_TRUE(w.station.get("/v1.0/devices/factory-infos?device_ids=x").success());

    w.twin.stall_next(1, 0.4);
    const auto before = std::chrono::steady_clock::now();
    EXPECT_TRUE(w.station.get("/v1.0/devices/factory-infos?device_ids=x").success());
    const auto held = std::chrono::duration<double>(std::chrono::steady_clock::now() - before);
    EXPECT_GE(held.count(), 0.4);

    virtual_line::TwinFaults f;
    f.burst_probability = 0.2;
    f.burst_length = 2;
    f.latency_min_s = 0.05;
    f.latency_max_s = 0.06;
    f.seed = 7;
    w.twin.set_faults(f);
    int failures = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        failures += w.station.get("/v1.0/devices/factory-infos?device_ids=x").status == 503;
    }
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    EXPECT_GT(failures, 0);
    EXPECT_LT(failures, 20);
    EXPECT_GE(took.count(), 20 * 0.05);
    virtual_line::TwinFaults expiry;
    expiry.token_expiry_probability = 1;
    w.twin.set_faults(expiry);
    EXPECT_EQ(w.station.get("/v1.0/devices/factory-infos?device_ids=x").code(), 1010);
    w.twin.set_faults({});
    EXPECT_EQ(w.station.get("/v1.0/devices/factory-infos?device_ids=x").code(), 1010);
    ASSERT_TRUE(w.station.login().success());
    EXPECT_TRUE(w.station.get("/v1.0/devices/factory-infos?device_ids=x").success());
    const auto world = virtual_line::TwinFaults::world();
    EXPECT_DOUBLE_EQ(world.latency_min_s, 0.05);
    EXPECT_DOUBLE_EQ(world.latency_max_s, 3.0);
}

TEST(CloudTwin, SecretsNeverInAnAnswer) {
    World w;
    auto bad = w.station.call(
        with(token_request("/v1.0/token?grant_type=1"), &Request::sign, std::string("00")));
    EXPECT_EQ(bad.text.find(kStationSecret), std::string::npos);
    EXPECT_EQ(w.station.get("/v1.0/no/such/api").code(), 1108);
}

// The twins are written apart from the station: no header of its cloud, QR, vision or flow
// parts in the cloud twin nor in the virtual device that reads the screen.
TEST(CloudTwin, IncludesNothingOfTheStationsCloudQrVisionOrFlow) {
    const std::filesystem::path root = LS_SOURCE_DIR;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(root / "fixtures/virtual/cloud")) {
        files.push_back(e.path());
    }
    files.push_back(root / "fixtures/virtual/line/virtual_device.hpp");
    files.push_back(root / "fixtures/virtual/line/virtual_device.cpp");
    for (const auto& file : files) {
        std::ifstream in(file);
        ASSERT_TRUE(in) << file;
        int n = 0;
        for (std::string line; std::getline(in, line);) {
            ++n;
            if (line.rfind("#include", 0) != 0) continue;
            for (const char* part :
                 {"station/cloud", "station/qr", "station/vision", "station/flow"}) {
                EXPECT_EQ(line.find(part), std::string::npos) << file << ":" << n << ": " << line;
            }
        }
    }
}

}  // namespace
}  // namespace linestation::testing
