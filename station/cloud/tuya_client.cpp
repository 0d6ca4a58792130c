#include "station/cloud/tuya_client.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "station/cloud/answers.hpp"
#include "station/cloud/signing.hpp"

namespace linestation::cloud {

std::string to_string(CloudFailure failure) {
    switch (failure) {
        case CloudFailure::SignInvalid:
            return "sign_invalid";
        case CloudFailure::TokenExpired:
            return "token_expired";
        case CloudFailure::ClockSkew:
            return "clock_skew";
        case CloudFailure::PermissionDenied:
            return "permission_denied";
        case CloudFailure::DeviceOffline:
            return "device_offline";
        case CloudFailure::QuotaExceeded:
            return "quota_exceeded";
        case CloudFailure::Unavailable:
            return "unavailable";
        case CloudFailure::Other:
            return "other";
        case CloudFailure::HostUnknown:
            return "host_unknown";
    }
    return "other";
}

namespace {

using Query = std::multimap<std::string, std::string>;
using Poco::JSON::Object;

bool is_loopback_host(const std::string& host) {
    if (host == "localhost") return true;
    Poco::Net::IPAddress address;
    return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

// An id that goes into a URL path: no separators, so it cannot reach another endpoint.
const std::string& path_part(const std::string& id, const std::string& what) {
    if (id.empty() || id.find_first_of("/?#&= ") != std::string::npos) {
        throw std::invalid_argument(what + " \"" + id + "\": not a valid id");
    }
    return id;
}

// Where each call goes in the chosen API family (the answers' names differ too; see
// token_devices).
struct ApiPaths {
    const char* pairing_token;  // POST
    const char* token_devices;  // GET, + token
    const char* devices;        // DELETE + id; GET + id + "/logs"
    const char* factory_infos;  // GET ?device_ids=
    const char* log_types;      // the query parameter naming the event types
};

// Documents: "Pair Device Management" (the /v1.0 pairing APIs), "Remove device", "Query device
// log" and "Query Factory Information in Bulk".
constexpr ApiPaths kPairingPaths{"/v1.0/device/paring/token", "/v1.0/device/paring/tokens/",
                                 "/v1.0/devices/", "/v1.0/devices/factory-infos", "type"};
// Industry documents: "Generate Pairing Token", "Query device activation result based on
// network distribution token", "Delete a device" (Industrial General Device Management), "Get
// Device Event Log" and "Query the factory information of multiple devices".
constexpr ApiPaths kRegistrationPaths{
    "/v1.0/iot-03/device-registration/token", "/v1.1/iot-03/device-registration/tokens/",
    "/v1.0/iot-03/devices/", "/v1.0/iot-03/devices/factory-infos", "event_types"};

}  // namespace

struct TuyaClient::Impl {
    struct AccessToken {
        std::string access;
        std::string refresh;
        std::string uid;
        double expires_at_s = 0;  // on the injected clock
        double lifetime_s = 0;
    };
    struct Answer {
        int status = 0;
        std::string body;
    };

    TuyaClientOptions options;
    const Clock& clock;
    Poco::URI base;
    std::string path_prefix;  // the endpoint's path without its trailing slash (usually empty)
    Poco::Net::Context::Ptr tls;
    Poco::Logger& log = Poco::Logger::get("cloud");
    std::mutex mutex;  // one request at a time: the token state is shared
    std::optional<AccessToken> token;
    Counters counters;
    std::int64_t last_sent_ms = 0;  // t of the latest request

    const ApiPaths& paths() const {
        return options.api == config::CloudApi::DeviceRegistration ? kRegistrationPaths
                                                                   : kPairingPaths;
    }

    Impl(TuyaClientOptions o, const Clock& c) : options(std::move(o)), clock(c) {
        try {
            base = Poco::URI(options.endpoint);
        } catch (const Poco::Exception& e) {
            throw std::invalid_argument("cloud endpoint \"" + options.endpoint + "\": not a URL (" +
                                        e.displayText() + ")");
        }
        path_prefix = base.getPath();
        while (!path_prefix.empty() && path_prefix.back() == '/') path_prefix.pop_back();
        if (base.getScheme() == "https") {
            // Poco's Context is reference counted; Ptr owns it.
            tls = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, options.ca_file,
                                         Poco::Net::Context::VERIFY_STRICT, 9, true);
        } else if (base.getScheme() == "http") {
            if (!is_loopback_host(base.getHost())) {
                throw std::invalid_argument("cloud endpoint \"" + options.endpoint +
                                            "\": plain http is allowed only to loopback "
                                            "(the emulator); use https");
            }
        } else {
            throw std::invalid_argument("cloud endpoint \"" + options.endpoint +
                                        "\": expected https://HOST or http://127.0.0.1:PORT");
        }
        if (options.client_id.empty()) throw std::invalid_argument("cloud client id is empty");
        if (options.secret.empty()) throw std::invalid_argument("cloud secret is empty");
        if (options.api == config::CloudApi::DeviceRegistration && options.asset_id.empty()) {
            throw std::invalid_argument(
                "cloud api device-registration needs an asset id (the asset devices register to)");
        }
        if (options.attempts < 1) options.attempts = 1;
        if (!options.pause) {
            options.pause = [](double s) {
                std::this_thread::sleep_for(std::chrono::duration<double>(s));
            };
        }
    }

    // One kept-alive connection (a TLS handshake per request would cost more than the
    // request); dropped after any failure so the next try starts clean.
    std::unique_ptr<Poco::Net::HTTPClientSession> connection;

    Poco::Net::HTTPClientSession& session() {
        if (connection) return *connection;
        std::unique_ptr<Poco::Net::HTTPClientSession> s;
        if (tls) {
            s = std::make_unique<Poco::Net::HTTPSClientSession>(base.getHost(), base.getPort(),
                                                                tls);
        } else {
            s = std::make_unique<Poco::Net::HTTPClientSession>(base.getHost(), base.getPort());
        }
        auto timeout = Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(
            options.timeout_s * static_cast<double>(Poco::Timespan::SECONDS)));
        s->setTimeout(timeout, timeout, timeout);
        s->setKeepAlive(true);
        // Reconnect rather than reuse a connection the server may have closed while idle.
        s->setKeepAliveTimeout(Poco::Timespan(5, 0));
        connection = std::move(s);
        return *connection;
    }

    // One signed HTTP exchange. `shown` is the path as it may appear in a log line.
    Answer send(const std::string& method, const std::string& api_url, const std::string& body,
                const std::string& access_token, const std::string& shown) {
        const auto t = clock.wall_ms();
        last_sent_ms = t;
        const auto nonce = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
        // The cloud checks the signature over the path it receives, prefix included.
        const auto url = path_prefix + api_url;
        SignedRequest signed_request{method, url, body, {}};
        Poco::Net::HTTPRequest request(method, url, Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("client_id", options.client_id);
        request.set("sign", tuya_sign(options.client_id, options.secret, access_token, t, nonce,
                                      signed_request));
        request.set("t", std::to_string(t));
        request.set("sign_method", "HMAC-SHA256");
        request.set("nonce", nonce);
        if (!access_token.empty()) request.set("access_token", access_token);
        if (!body.empty()) {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        const double started = clock.now_s();
        Answer answer;
        try {
            auto& s = session();
            s.sendRequest(request) << body;
            Poco::Net::HTTPResponse response;
            auto& in = s.receiveResponse(response);
            answer.status = static_cast<int>(response.getStatus());
            Poco::StreamCopier::copyToString(in, answer.body);
        } catch (...) {
            connection.reset();
            throw;
        }
        log.debug("%s %s -> %d (%.0f ms)", method, shown, answer.status,
                  (clock.now_s() - started) * 1000.0);
        return answer;
    }

    // Sends with retries for 5xx and transport failures; returns the parsed JSON answer.
    Object::Ptr exchange(const std::string& method, const std::string& url, const std::string& body,
                         const std::string& access_token, const std::string& shown) {
        std::string last_problem;
        bool host_unknown = false;  // the last try failed to resolve the endpoint's host
        for (int attempt = 1; attempt <= options.attempts; ++attempt) {
            host_unknown = false;
            if (attempt > 1) {
                ++counters.retries;
                options.pause(options.backoff_s * std::pow(2.0, attempt - 2));
            }
            Answer answer;
            try {
                answer = send(method, url, body, access_token, shown);
            } catch (const Poco::Net::SSLException& e) {
                // Not transient: a certificate the station does not trust stays untrusted.
                throw CloudError(CloudFailure::Other, "",
                                 "TLS with " + base.getHost() + " failed: " + e.displayText() +
                                     " (is the endpoint right, is the system CA store current?)");
            } catch (const Poco::TimeoutException&) {
                char text[64];
                std::snprintf(text, sizeof text, "no answer within %g s", options.timeout_s);
                last_problem = text;
                log.warning("%s %s: %s (try %d of %d)", method, shown, last_problem, attempt,
                            options.attempts);
                continue;
            } catch (const Poco::Net::DNSException& e) {
                // A resolver may be away for a moment too: asked again like a 5xx.
                host_unknown = true;
                last_problem =
                    "the host " + base.getHost() + " does not resolve (" + e.displayText() + ")";
                log.warning("%s %s: %s (try %d of %d)", method, shown, last_problem, attempt,
                            options.attempts);
                continue;
            } catch (const Poco::Exception& e) {
                last_problem = e.displayText();
                log.warning("%s %s: %s (try %d of %d)", method, shown, last_problem, attempt,
                            options.attempts);
                continue;
            }
            if (answer.status >= 500) {
                last_problem = "HTTP " + std::to_string(answer.status);
                log.warning("%s %s: %s (try %d of %d)", method, shown, last_problem, attempt,
                            options.attempts);
                continue;
            }
            return answer_object(answer.status, answer.body, method + " " + shown);
        }
        // A name that does not resolve says where to look (the endpoint in the config, the
        // station's DNS), not that the cloud is down.
        throw CloudError(host_unknown ? CloudFailure::HostUnknown : CloudFailure::Unavailable, "",
                         "cloud " + options.endpoint + " unavailable: " + method + " " + shown +
                             " failed " + std::to_string(options.attempts) +
                             " times; last: " + last_problem);
    }

    void take_token(const Object& answer, const std::string& what) {
        auto grant = token_grant(answer, what, last_sent_ms);
        AccessToken fresh;
        fresh.access = std::move(grant.access);
        fresh.refresh = std::move(grant.refresh);
        fresh.uid = std::move(grant.uid);
        fresh.lifetime_s = grant.lifetime_s;
        fresh.expires_at_s = clock.now_s() + fresh.lifetime_s;
        token = std::move(fresh);
    }

    // "Get a token" (获取令牌), GET /v1.0/token?grant_type=1, simple mode; the answer's result
    // is {access_token, expire_time (s), refresh_token, uid}. The same for both API families.
    void grant() {
        ++counters.token_grants;
        auto answer =
            exchange("GET", "/v1.0/token?grant_type=1", "", "", "/v1.0/token?grant_type=1");
        take_token(*answer, "access token");
        log.information("access token obtained (valid %.0f s)",
                        token->expires_at_s - clock.now_s());
    }

    // "Refresh token" (刷新令牌), GET /v1.0/token/{refresh_token}: the same result as a grant.
    // A refresh token works once ("Authorization management": 只能生效一次).
    void refresh() {
        ++counters.token_refreshes;
        auto answer =
            exchange("GET", "/v1.0/token/" + token->refresh, "", "", "/v1.0/token/<refresh token>");
        try {
            take_token(*answer, "access token refresh");
            log.information("access token refreshed (valid %.0f s)",
                            token->expires_at_s - clock.now_s());
        } catch (const CloudError& e) {
            // A refresh token works once; when it is refused, start over.
            log.notice("access token refresh refused (%s); asking for a new one", e.code());
            token.reset();
            grant();
        }
    }

    void ensure_token() {
        if (!token) {
            grant();
        } else if (clock.now_s() >= token->expires_at_s -
                                        std::min(options.refresh_margin_s, token->lifetime_s / 2)) {
            refresh();
        }
    }

    // A business request: token handled, one renewal and retry when the cloud refuses the
    // access token: 1010 "token is expired" takes the refresh token, 1011 "token invalid" a
    // new grant (the refresh token of an unknown access token is no better).
    Poco::Dynamic::Var call(const std::string& method, const std::string& url,
                            const std::string& body, const std::string& what) {
        std::lock_guard lock(mutex);
        for (int round = 0;; ++round) {
            ensure_token();
            auto answer = exchange(method, url, body, token->access, url);
            if (answer_succeeded(*answer)) return answer->get("result");
            auto code = answer_code(*answer);
            if (round == 0 && (code == codes::kTokenInvalid || code == codes::kTokenExpired)) {
                log.notice("%s: access token refused (%s); renewing it and trying again", what,
                           code);
                if (code == codes::kTokenExpired) {
                    refresh();
                } else {
                    token.reset();
                }
                continue;
            }
            throw error_from(*answer, what, last_sent_ms);
        }
    }
};

TuyaClientOptions client_options(const config::CloudSettings& settings) {
    TuyaClientOptions options;
    options.endpoint = settings.endpoint;
    options.client_id = settings.client_id;
    options.secret = settings.secret;
    options.api = settings.api;
    options.asset_id = settings.asset_id;
    options.timeout_s = settings.timeout_s;
    return options;
}

TuyaClient::TuyaClient(TuyaClientOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

TuyaClient::~TuyaClient() = default;

std::string TuyaClient::connect() {
    std::lock_guard lock(impl_->mutex);
    impl_->ensure_token();
    return impl_->token->uid;
}

TuyaClient::Counters TuyaClient::counters() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counters;
}

// Pairing: "Generate a paring token" (Pair Device Management), POST /v1.0/device/paring/token
// with {uid, time_zone_id, paring_type}. Industry: "Generate Pairing Token", POST
// /v1.0/iot-03/device-registration/token with {asset_id, time_zone_id, pairing_type}. Both
// answer {region, token, secret, expire_time (s)}.
PairingToken TuyaClient::pairing_token(const std::string& uid) {
    const auto& o = impl_->options;
    Object body(Poco::JSON_PRESERVE_KEY_ORDER);
    if (o.api == config::CloudApi::DeviceRegistration) {
        body.set("asset_id", o.asset_id);
        body.set("time_zone_id", o.time_zone_id);
        body.set("pairing_type", o.pairing_type);
    } else {
        body.set("uid", uid);
        body.set("time_zone_id", o.time_zone_id);
        body.set("paring_type", o.pairing_type);  // sic: the /v1.0 API spells it so
    }
    std::ostringstream text;
    body.stringify(text);
    return pairing_token_from(
        impl_->call("POST", impl_->paths().pairing_token, text.str(), "pairing token"));
}

// Pairing: "Get the list of devices to be paired" (获取配网设备列表), GET
// /v1.0/device/paring/tokens/{token}: {"success":[{device_id, product_id, category, name}],
// "failed":[{device_id, name, code, msg}]}.
// Industry: "Query device activation result based on network distribution token", GET
// /v1.1/iot-03/device-registration/tokens/{token}: {"success_devices":[{id, name, product_id,
// ...}], "error_devices":[{id, name, error_code, error_msg}]}.
TokenDevices TuyaClient::token_devices(const std::string& token) {
    const bool industry = impl_->options.api == config::CloudApi::DeviceRegistration;
    auto result =
        impl_->call("GET", impl_->paths().token_devices + path_part(token, "pairing token"), "",
                    "token devices");
    return token_devices_from(result, industry);
}

// Pairing: "Remove device", DELETE /v1.0/devices/{device_id}. Industry: "Delete a device",
// DELETE /v1.0/iot-03/devices/{device_id}. Both answer {"result": true}.
void TuyaClient::remove_device(const std::string& device_id) {
    auto result = impl_->call("DELETE", impl_->paths().devices + path_part(device_id, "device id"),
                              "", "remove device " + device_id);
    if (!device_removed(result)) {
        throw CloudError(
            CloudFailure::Other, "",
            "remove device " + device_id + ": the cloud answered success without \"result\": true");
    }
}

// Pairing: "Get Device Details" (获取设备详情), GET /v1.0/devices/{device_id}, whose result
// carries the owner's `uid` and `active_time` (last paired, s); industry: "Get the detailed
// information of a specified device", GET /v1.0/iot-03/devices/{device_id}, with `asset_id`.
DeviceDetails TuyaClient::device_details(const std::string& device_id) {
    return device_details_from(
        impl_->call("GET", impl_->paths().devices + path_part(device_id, "device id"), "",
                    "device details " + device_id),
        device_id);
}

// Pairing: "Query device log", GET /v1.0/devices/{device_id}/logs?type=...; industry: "Get
// Device Event Log", GET /v1.0/iot-03/devices/{device_id}/logs?event_types=...; both with
// start_time, end_time (13-digit ms) and size. The result is returned as the cloud wrote it.
std::string TuyaClient::device_logs(const std::string& device_id) {
    path_part(device_id, "device id");
    const auto now = impl_->clock.wall_ms();
    Query query{{"start_time", std::to_string(now - 7LL * 24 * 3600 * 1000)},
                {"end_time", std::to_string(now)},
                {impl_->paths().log_types, "1,2,3,4,5,6,7,8,9,10"},
                {"size", "100"}};
    auto result =
        impl_->call("GET", sorted_url(impl_->paths().devices + device_id + "/logs", query), "",
                    "device logs " + device_id);
    std::ostringstream text;
    Poco::JSON::Stringifier::stringify(result, text);
    return text.str();
}

// Pairing: "Query Factory Information in Bulk" (批量查询设备出厂信息), GET
// /v1.0/devices/factory-infos?device_ids=a,b; industry: "Query the factory information of
// multiple devices", GET /v1.0/iot-03/devices/factory-infos. Both: a list of {id, uuid, sn, mac}.
std::vector<FactoryInfo> TuyaClient::factory_infos(const std::vector<std::string>& device_ids) {
    // Tuya documents at most 20 ids per request ("Query the factory information of multiple
    // devices").
    constexpr std::size_t kIdsPerRequest = 20;
    std::vector<FactoryInfo> out;
    for (std::size_t first = 0; first < device_ids.size(); first += kIdsPerRequest) {
        std::string ids;
        const auto last = std::min(device_ids.size(), first + kIdsPerRequest);
        for (auto i = first; i < last; ++i) {
            if (!ids.empty()) ids += ',';
            ids += path_part(device_ids[i], "device id");
        }
        auto result =
            impl_->call("GET", sorted_url(impl_->paths().factory_infos, Query{{"device_ids", ids}}),
                        "", "factory information");
        auto infos = factory_infos_from(result);
        out.insert(out.end(), infos.begin(), infos.end());
    }
    return out;
}

}  // namespace linestation::cloud
