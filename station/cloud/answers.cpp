#include "station/cloud/answers.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <cstdio>
#include <functional>

#include "station/cloud/signing.hpp"

namespace linestation::cloud {

namespace {

using Poco::JSON::Object;

// The "result" of an answer as a JSON object; anything else is a malformed answer.
Object::Ptr object_of(const Poco::Dynamic::Var& result, const std::string& what) {
    if (result.type() == typeid(Object::Ptr)) {
        if (auto object = result.extract<Object::Ptr>()) return object;
    }
    throw CloudError(CloudFailure::Other, "", what + ": the cloud's answer has no result object");
}

void for_each_object(const Poco::JSON::Array::Ptr& list,
                     const std::function<void(const Object&)>& visit) {
    if (!list) return;
    for (std::size_t i = 0; i < list->size(); ++i) {
        if (auto item = list->getObject(static_cast<unsigned>(i))) visit(*item);
    }
}

}  // namespace

Object::Ptr answer_object(int status, const std::string& body, const std::string& what) {
    try {
        Poco::JSON::Parser parser;
        auto parsed = parser.parse(body).extract<Object::Ptr>();
        if (parsed) return parsed;
    } catch (const Poco::Exception&) {
    }
    throw CloudError(
        CloudFailure::Other, std::to_string(status),
        what + ": HTTP " + std::to_string(status) + " with an answer that is not a JSON object");
}

bool answer_succeeded(const Object& answer) {
    return answer.optValue<bool>("success", false);
}

std::string answer_code(const Object& answer) {
    if (!answer.has("code")) return "";
    return answer.get("code").convert<std::string>();
}

CloudError error_from(const Object& answer, const std::string& what, std::int64_t sent_ms) {
    const auto code = answer_code(answer);
    const auto message = answer.optValue<std::string>("msg", "");
    const std::string said = " (cloud code " + code + ": " + message + ")";
    if (code == codes::kSignInvalid || code == codes::kClientIdInvalid) {
        return {CloudFailure::SignInvalid, code,
                what +
                    ": the cloud rejected the request signature; check the client id and "
                    "secret" +
                    said};
    }
    if (code == codes::kTokenInvalid || code == codes::kTokenExpired) {
        return {CloudFailure::TokenExpired, code,
                what + ": the access token was refused even after renewing it" + said};
    }
    if (code == codes::kSystemError) {
        return {CloudFailure::Unavailable, code,
                what + ": the cloud reports a system error; try again later" + said};
    }
    if (code == codes::kRequestTimeInvalid) {
        std::string offset;
        if (answer.has("t")) {
            const auto cloud_ms = answer.optValue<std::int64_t>("t", sent_ms);
            const auto ahead_s = static_cast<double>(sent_ms - cloud_ms) / 1000.0;
            char text[96];
            std::snprintf(text, sizeof text, " by about %.0f s (%s the cloud)",
                          ahead_s < 0 ? -ahead_s : ahead_s, ahead_s < 0 ? "behind" : "ahead of");
            offset = text;
        }
        return {CloudFailure::ClockSkew, code,
                what + ": the cloud says the request time is invalid: the station's clock is off" +
                    offset + "; set it with NTP" + said};
    }
    if (code == codes::kPermissionDenied) {
        return {CloudFailure::PermissionDenied, code,
                what + ": permission denied for this account" + said};
    }
    if (code == codes::kDeviceOffline) {
        return {CloudFailure::DeviceOffline, code, what + ": the device is offline" + said};
    }
    if (code == codes::kQuotaExceeded) {
        return {CloudFailure::QuotaExceeded, code,
                what + ": the cloud project's API quota is used up" + said};
    }
    return {CloudFailure::Other, code, what + ": the cloud refused" + said};
}

TokenGrant token_grant(const Object& answer, const std::string& what, std::int64_t sent_ms) {
    if (!answer_succeeded(answer)) throw error_from(answer, what, sent_ms);
    auto result = answer.getObject("result");
    if (!result || !result->has("access_token") || !result->has("refresh_token")) {
        throw CloudError(CloudFailure::Other, "", what + ": the answer has no access token");
    }
    TokenGrant grant;
    grant.access = result->getValue<std::string>("access_token");
    grant.refresh = result->getValue<std::string>("refresh_token");
    grant.uid = result->optValue<std::string>("uid", "");
    grant.lifetime_s = result->optValue<double>("expire_time", 7200);
    return grant;
}

PairingToken pairing_token_from(const Poco::Dynamic::Var& result) {
    auto object = object_of(result, "pairing token");
    PairingToken out;
    try {
        out.region = object->optValue<std::string>("region", "");
        out.token = object->optValue<std::string>("token", "");
        out.secret = object->optValue<std::string>("secret", "");
        out.expire_time_s = object->optValue<std::int64_t>("expire_time", 0);
    } catch (const Poco::Exception&) {
        out = {};
    }
    if (out.region.size() != 2 || out.token.size() != 8 || out.secret.size() != 4) {
        throw CloudError(CloudFailure::Other, "",
                         "pairing token: the cloud's answer does not have a 2-character region, "
                         "an 8-character token and a 4-character secret");
    }
    return out;
}

TokenDevices token_devices_from(const Poco::Dynamic::Var& result, bool industry) {
    TokenDevices out;
    auto object = object_of(result, "token devices");
    const std::string id = industry ? "id" : "device_id";
    const std::string code = industry ? "error_code" : "code";
    const std::string message = industry ? "error_msg" : "msg";
    try {
        for_each_object(
            object->getArray(industry ? "success_devices" : "success"), [&](const Object& d) {
                out.succeeded.push_back(
                    {d.optValue<std::string>(id, ""), d.optValue<std::string>("product_id", ""),
                     d.optValue<std::string>("category", ""), d.optValue<std::string>("name", "")});
            });
        for_each_object(
            object->getArray(industry ? "error_devices" : "failed"), [&](const Object& d) {
                out.failed.push_back(
                    {d.optValue<std::string>(id, ""), d.optValue<std::string>("name", ""),
                     d.optValue<std::string>(code, ""), d.optValue<std::string>(message, "")});
            });
    } catch (const Poco::Exception& e) {
        throw CloudError(
            CloudFailure::Other, "",
            "token devices: the cloud's device lists are malformed (" + e.displayText() + ")");
    }
    return out;
}

bool device_removed(const Poco::Dynamic::Var& result) {
    try {
        return result.convert<bool>();
    } catch (const Poco::Exception&) {
        return false;
    }
}

DeviceDetails device_details_from(const Poco::Dynamic::Var& result, const std::string& device_id) {
    auto object = object_of(result, "device details");
    DeviceDetails out;
    try {
        out.device_id = object->optValue<std::string>("id", device_id);
        out.owner = object->optValue<std::string>("uid", "");
        if (out.owner.empty()) out.owner = object->optValue<std::string>("asset_id", "");
        out.online = object->optValue<bool>("online", false);
        out.active_time_s = object->optValue<std::int64_t>("active_time", 0);
    } catch (const Poco::Exception& e) {
        throw CloudError(
            CloudFailure::Other, "",
            "device details: the cloud's answer is malformed (" + e.displayText() + ")");
    }
    return out;
}

std::vector<FactoryInfo> factory_infos_from(const Poco::Dynamic::Var& result) {
    if (result.type() != typeid(Poco::JSON::Array::Ptr)) {
        throw CloudError(CloudFailure::Other, "",
                         "factory information: the cloud's answer has no result list");
    }
    std::vector<FactoryInfo> out;
    try {
        for_each_object(result.extract<Poco::JSON::Array::Ptr>(), [&](const Object& d) {
            out.push_back({d.optValue<std::string>("id", ""), d.optValue<std::string>("uuid", ""),
                           d.optValue<std::string>("sn", ""), d.optValue<std::string>("mac", "")});
        });
    } catch (const Poco::Exception& e) {
        throw CloudError(
            CloudFailure::Other, "",
            "factory information: the cloud's list is malformed (" + e.displayText() + ")");
    }
    return out;
}

}  // namespace linestation::cloud
