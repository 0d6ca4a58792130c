#include "web/api.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/URI.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "drivers/camera/frame_source.hpp"
#include "station/auth/password.hpp"
#include "station/qr/pairing_qr.hpp"
#include "web/http.hpp"
#include "web/recipe_files.hpp"
#include "web/table_json.hpp"

namespace linestation::web {

namespace {

using Poco::Net::HTTPResponse;

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(path);
    while (std::getline(in, part, '/')) {
        if (!part.empty()) parts.push_back(part);
    }
    return parts;
}

Poco::JSON::Array::Ptr string_array(const std::vector<std::string>& items) {
    Poco::JSON::Array::Ptr out = new Poco::JSON::Array;  // Poco::SharedPtr owns it
    for (const auto& item : items) out->add(item);
    return out;
}

std::vector<std::string> optional_strings(const Poco::JSON::Object& body,
                                          const std::string& field) {
    std::vector<std::string> out;
    if (!body.has(field) || body.get(field).isEmpty()) return out;
    auto array = body.getArray(field);
    if (!array) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"" + field + "\": expected an array of strings");
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        if (!array->get(static_cast<unsigned>(i)).isString()) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "field \"" + field + "\": expected an array of strings");
        }
        out.push_back(array->getElement<std::string>(static_cast<unsigned>(i)));
    }
    return out;
}

// "units": [{"slot":"A1","serial":"LBL-1"}, ...]: each unit names its slot, so no scan is
// ever given to a slot by its position in a list.
std::vector<UnitLoad> unit_loads(const Poco::JSON::Object& body) {
    std::vector<UnitLoad> out;
    if (!body.has("units") || body.get("units").isEmpty()) return out;
    auto array = body.getArray("units");
    if (!array) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"units\": expected an array of {\"slot\",\"serial\"} objects");
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        auto one = array->getObject(static_cast<unsigned>(i));
        const auto at = "units[" + std::to_string(i) + "]";
        if (!one) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "field \"" + at + "\": expected an object {\"slot\",\"serial\"}");
        }
        UnitLoad load;
        try {
            load.slot = required_string(*one, "slot", 64);
            if (one->has("serial") && !one->get("serial").isEmpty()) {
                load.serial = required_string(*one, "serial", 128);
            }
        } catch (const HttpError& e) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, at + ": " + e.what(), e.code(),
                            e.params());
        }
        out.push_back(std::move(load));
    }
    return out;
}

}  // namespace

struct Api::Call {
    Poco::Net::HTTPServerRequest& request;
    Poco::Net::HTTPServerResponse& response;
    std::string method;
    std::string path;
    std::vector<std::string> parts;
    Poco::URI::QueryParameters query;
    std::string client;

    std::string query_value(const std::string& name, const std::string& fallback) const {
        for (const auto& [k, v] : query) {
            if (k == name) return v;
        }
        return fallback;
    }
    void only(const char* allowed) const {
        if (method != allowed) {
            throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED,
                            std::string("use ") + allowed + " on " + path);
        }
    }
};

Api::Api(StationService& station, const Clock& clock, ApiOptions options)
    : station_(station),
      clock_(clock),
      options_(std::move(options)),
      store_(options_.store_path),
      reads_(options_.store_path, options_.read_connections),
      sign_in_(clock, store_,
               {options_.login_max_failures, options_.login_max_failures_per_address,
                options_.login_max_failures_per_login, options_.login_window_s,
                options_.secure_cookies}),
      displays_(
          store_, clock, [this] { return station_.health().station_id; },
          [this](const std::string& actor, const std::string& action, const std::string& detail) {
              store_.audit(clock_.wall_ms(), actor, action, detail);
          }),
      live_(station, [this](const std::string& id) { return sign_in_.sessions().alive(id); }) {
    std::ifstream in(options_.openapi_file);
    std::ostringstream text;
    text << in.rdbuf();
    openapi_ = text.str();
    refresher_ = std::thread([this] { refresh_loop(); });
}

Api::~Api() {
    {
        std::lock_guard lock(summary_mutex_);
        stopping_ = true;
    }
    summary_wake_.notify_all();
    refresher_.join();
}

void Api::handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    Call call{request, response, request.getMethod(), "", {}, {}, ""};
    try {
        try {
            Poco::URI uri(request.getURI());
            call.path = uri.getPath();
            call.query = uri.getQueryParameters();
        } catch (const Poco::Exception&) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed URI");
        }
        call.parts = split_path(call.path);
        call.client = request.clientAddress().host().toString();
        route(call);
    } catch (const HttpError& e) {
        if (!response.sent()) send_error(response, e.status(), e.what(), e.code(), e.params());
    } catch (const Refusal& e) {
        // The station refused an operation: its code for the screens' words, its message
        // for any other client.
        if (!response.sent())
            send_error(response, HTTPResponse::HTTP_CONFLICT, e.what(), e.code(), e.params());
    } catch (const std::invalid_argument& e) {
        // The station refused an operation: its message says why, for the operator.
        if (!response.sent()) send_error(response, HTTPResponse::HTTP_CONFLICT, e.what());
    } catch (const std::exception& e) {
        Poco::Logger::get("web").error("%s %s failed: %s", call.method, call.path,
                                       std::string(e.what()));
        if (!response.sent()) {
            send_error(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal error");
        }
    }
}

auth::Session Api::require_session(Call& call) {
    return sign_in_.require_session(call.request);
}

auth::Session Api::require_role(Call& call, std::initializer_list<const char*> roles) {
    return sign_in_.require_role(call.request, roles);
}

void Api::require_csrf(Call& call, const auth::Session& session) {
    SignIn::require_csrf(call.request, session);
}

// Where every result sink (the fleet, each MES sink) stands: what it has not taken yet, its
// last error, and the results its far side refused for good with the reason, so a
// supervisor sees a stuck or refusing MES before the factory misses its records.
std::string Api::outbox_json() {
    constexpr std::size_t kParkedShown = 50;
    Poco::JSON::Array sinks;
    for (const auto& [name, backlog] : store_.outbox_backlogs()) {
        Poco::JSON::Object sink;
        sink.set("name", name);
        sink.set("backlog", backlog.count);
        if (backlog.oldest_ms) sink.set("oldest_ms", *backlog.oldest_ms);
        if (!backlog.last_error.empty()) sink.set("last_error", backlog.last_error);
        sink.set("parked", backlog.parked);
        Poco::JSON::Array parked;
        auto entries = store_.outbox_parked(name);
        // The newest refusals first: the ones a supervisor is asked about.
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.parked_ms > b.parked_ms; });
        if (entries.size() > kParkedShown) entries.resize(kParkedShown);
        for (const auto& e : entries) {
            Poco::JSON::Object o;
            o.set("result_id", e.result_id);
            o.set("unit_id", e.unit_id);
            o.set("parked_ms", e.parked_ms);
            o.set("reason", e.reason);
            parked.add(o);
        }
        sink.set("parked_results", parked);
        sinks.add(sink);
    }
    Poco::JSON::Object out;
    out.set("sinks", sinks);
    return to_json(out);
}

// Nothing left bound: the devices the store records bound to the station's accounts and
// not removed yet, what each is (device, the unit and batch it was, the code it activated
// with) and since when; the station keeps trying to remove them.
std::string Api::left_bound_json() {
    Poco::JSON::Array devices;
    for (const auto& d : store_.left_bound()) {
        Poco::JSON::Object o;
        o.set("device_id", d.device_id);
        o.set("account_id", d.account_id);
        if (d.token) o.set("token", *d.token);
        if (d.unit_id) o.set("unit_id", *d.unit_id);
        if (d.serial) o.set("serial", *d.serial);
        if (d.batch_id) o.set("batch_id", *d.batch_id);
        o.set("since_ms", d.first_seen_ms);
        devices.add(o);
    }
    Poco::JSON::Object out;
    out.set("count", static_cast<int>(devices.size()));
    out.set("devices", devices);
    return to_json(out);
}

void Api::audit(const std::string& actor, const std::string& action,
                const Poco::JSON::Object& detail) {
    store_.audit(clock_.wall_ms(), actor, action, to_json(detail));
}

void Api::route(Call& call) {
    const auto& p = call.parts;
    const auto& m = call.method;
    auto ok_json = [&](const std::string& json) {
        send_json(call.response, HTTPResponse::HTTP_OK, json);
    };

    if (p.size() == 1 && p[0] == "metrics") {
        call.only("GET");
        return send_text(call.response, HTTPResponse::HTTP_OK,
                         "text/plain; version=0.0.4; charset=utf-8", metrics_text());
    }
    if (p.size() < 2 || p[0] != "api") {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no such endpoint");
    }
    const auto& what = p[1];
    if (p.size() == 2 && what == "openapi.json") {
        call.only("GET");
        return send_text(call.response, HTTPResponse::HTTP_OK, "application/json; charset=utf-8",
                         openapi_);
    }
    if (p.size() == 2 && what == "session") {
        if (m == "POST") return login(call);
        if (m == "DELETE") return logout(call);
        call.only("GET");
        return me(call);
    }
    if (p.size() == 2 && what == "first-run") {
        call.only("GET");
        // Says how to make the first admin, and only while there is no user at all.
        Poco::JSON::Object out;
        const bool needed = store_.operators().empty();
        out.set("needed", needed);
        if (needed) {
            out.set("command", options_.first_admin_command);
            out.set("store", std::filesystem::absolute(options_.store_path).string());
        }
        return ok_json(to_json(out));
    }
    if (p.size() == 2 && what == "live") {
        call.only("GET");
        return live(call);
    }
    if (p.size() == 2 && what == "slots") {
        call.only("GET");
        require_session(call);
        std::string json = "[";
        for (const auto& s : station_.slots()) json += (json.size() > 1 ? "," : "") + slot_json(s);
        return ok_json(json + "]");
    }
    if (p.size() == 4 && what == "slots" && p[3] == "load") {
        call.only("POST");
        auto session = require_role(call, {"operator", "admin"});
        auto body = parse_object(read_body(call.request, options_.max_body_bytes));
        UnitLoad load{p[2], std::nullopt};
        if (body->has("serial") && !body->get("serial").isEmpty()) {
            load.serial = required_string(*body, "serial", 128);
        }
        auto slots = station_.slots();
        if (std::none_of(slots.begin(), slots.end(),
                         [&](const SlotView& s) { return s.slot == load.slot; })) {
            throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no slot \"" + load.slot + "\"",
                            "no_slot", {{"slot", load.slot}});
        }
        station_.load_unit(load, session.login);  // audited by the station
        return ok_json("{\"ok\":true}");
    }
    if (p.size() == 4 && what == "slots" && (p[3] == "abort" || p[3] == "reload")) {
        call.only("POST");
        auto session = require_role(call, {"operator", "admin"});
        auto body = read_body(call.request, options_.max_body_bytes);
        bool retest = false;
        if (p[3] == "reload" && !body.empty()) {
            auto obj = parse_object(body);
            if (obj->has("retest")) {
                if (!obj->get("retest").isBoolean()) {
                    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                                    "field \"retest\": expected true or false");
                }
                retest = obj->getValue<bool>("retest");
            }
        }
        const auto& slot = p[2];
        auto slots = station_.slots();
        if (std::none_of(slots.begin(), slots.end(),
                         [&](const SlotView& s) { return s.slot == slot; })) {
            throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no slot \"" + slot + "\"", "no_slot",
                            {{"slot", slot}});
        }
        // The station audits line actions itself, with the actor passed here.
        if (p[3] == "abort") {
            station_.abort_slot(slot, session.login);
        } else {
            station_.reload_slot(slot, retest, session.login);
        }
        return ok_json("{\"ok\":true}");
    }
    if (p.size() == 2 && what == "batch") {
        if (m == "POST") return start_batch(call);
        call.only("GET");
        require_session(call);
        return ok_json(batch_json(station_.batch()));
    }
    if (p.size() == 3 && what == "batch" && p[2] == "stop") {
        call.only("POST");
        auto session = require_role(call, {"operator", "admin"});
        station_.stop_batch(session.login);
        return ok_json("{\"ok\":true}");
    }
    if (p.size() == 2 && what == "recipes") {
        call.only("GET");
        auto session = require_session(call);
        Poco::JSON::Array out;
        for (const auto& r : station_.recipes()) {
            Poco::JSON::Object o;
            o.set("id", r);
            bool permitted = session.role == "admin" ||
                             (session.role == "operator" &&
                              std::find(session.products.begin(), session.products.end(), r) !=
                                  session.products.end());
            o.set("permitted", permitted);
            Poco::JSON::Array kinds;
            for (const auto& k : station_.batch_kinds(r)) kinds.add(k);
            o.set("kinds", kinds);
            out.add(o);
        }
        return ok_json(to_json(out));
    }
    if (p.size() == 2 && what == "qr") {
        call.only("GET");
        if (!displays_.may_read_qr(call.request)) require_session(call);
        return ok_json(qr_meta_json(station_.qr()));
    }
    if (p.size() == 2 && (what == "qr.png" || what == "qr.svg")) {
        call.only("GET");
        return qr_image(call, what == "qr.png");
    }
    if (p.size() == 2 && what == "camera.png") {
        call.only("GET");
        require_session(call);
        auto png = station_.camera_snapshot_png();
        if (png.empty()) throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no camera on this station");
        return send_text(call.response, HTTPResponse::HTTP_OK, "image/png", png);
    }
    if (p.size() == 3 && what == "reports") {
        call.only("GET");
        return report(call, p[2]);
    }
    if (p.size() == 3 && what == "units") {
        call.only("GET");
        return unit_history(call, p[2]);
    }
    if ((p.size() == 3 || p.size() == 4) && what == "evidence") {
        call.only("GET");
        return unit_evidence(call);
    }
    if (p.size() == 2 && what == "left-bound") {
        call.only("GET");
        require_role(call, {"supervisor", "admin"});
        return ok_json(left_bound_json());
    }
    if (p.size() == 2 && what == "outbox") {
        call.only("GET");
        require_role(call, {"supervisor", "admin"});
        return ok_json(outbox_json());
    }
    if (p.size() == 2 && (what == "users" || what == "users.csv")) {
        if (m == "POST" && what == "users") return add_user(call);
        call.only("GET");
        return users(call);
    }
    if (p.size() == 4 && what == "users" && p[3] == "disable") {
        call.only("POST");
        return disable_user(call, p[2]);
    }
    if (p.size() == 2 && (what == "cloud-accounts" || what == "cloud-accounts.csv")) {
        if (m == "POST" && what == "cloud-accounts") return add_cloud_account(call);
        call.only("GET");
        return cloud_accounts(call);
    }
    if (p.size() >= 3 && what == "admin") {
        if (p.size() == 3 && p[2] == "recipes") {
            call.only("GET");
            return admin_recipes(call);
        }
        if (p.size() == 4 && p[2] == "recipes") {
            if (m == "PUT") return save_recipe(call, p[3]);
            call.only("GET");
            return admin_recipe(call, p[3]);
        }
        if (p.size() == 3 && p[2] == "fixture") {
            call.only("GET");
            return admin_fixture(call);
        }
        if (p.size() == 4 && p[2] == "fixture" && p[3] == "validate") {
            call.only("POST");
            return validate_fixture(call);
        }
    }
    if (what == "display-tokens" && (p.size() == 2 || p.size() == 4)) {
        auto session = require_role(call, {"admin"});
        return displays_.handle(call.request, call.response, p, session.login,
                                options_.max_body_bytes);
    }
    if (p.size() == 2 && (what == "audit" || what == "audit.csv")) {
        call.only("GET");
        return audit_log(call);
    }
    throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no such endpoint");
}

void Api::login(Call& call) {
    const auto [login, password] = SignIn::read_credentials(call.request, options_.max_body_bytes);
    const auto attempt = sign_in_.check(login, password, call.client);
    Poco::JSON::Object detail;
    detail.set("client", call.client);
    if (attempt.check == SignIn::Check::Throttled) {
        detail.set("login", login);
        if (first_refusal_in_a_minute(login + "|" + call.client)) {
            audit(login, "session.login_throttled", detail);
        }
    } else if (attempt.check == SignIn::Check::Wrong) {
        audit(login, "session.login_failed", detail);
    }
    SignIn::refuse(call.response, attempt);
    live_.end_session(cookie_value(call.request, kSessionCookie));
    auto session = sign_in_.begin(call.request, call.response, *attempt.user);
    audit(session.login, "session.login", detail);
    send_json(call.response, HTTPResponse::HTTP_OK, session_json(session));
}

// A client hammering a throttled login must not fill the disk with audit rows: one row per
// login+address a minute says the same.
bool Api::first_refusal_in_a_minute(const std::string& key) {
    const double now = clock_.now_s();
    std::lock_guard lock(throttle_audit_mutex_);
    if (throttle_audited_.size() > 10000) {
        std::erase_if(throttle_audited_, [&](const auto& kv) { return now - kv.second >= 60; });
    }
    auto [it, fresh] = throttle_audited_.try_emplace(key, now);
    if (!fresh && now - it->second < 60) return false;
    it->second = now;
    return true;
}

void Api::logout(Call& call) {
    auto session = require_session(call);
    require_csrf(call, session);
    sign_in_.end(call.response, session);
    live_.end_session(session.id);
    audit(session.login, "session.logout", Poco::JSON::Object());
    send_json(call.response, HTTPResponse::HTTP_OK, "{\"ok\":true}");
}

void Api::me(Call& call) {
    auto session = require_session(call);
    send_json(call.response, HTTPResponse::HTTP_OK, session_json(session));
}

void Api::start_batch(Call& call) {
    auto session = require_role(call, {"operator", "admin"});
    if (session.role == "operator" && session.products.empty()) {
        // Said before any field is checked: the page had no product to send.
        audit(session.login, "batch.start_refused", Poco::JSON::Object());
        throw HttpError(HTTPResponse::HTTP_FORBIDDEN,
                        "no product is permitted to you — ask an admin", "no_product_permitted");
    }
    auto body = parse_object(read_body(call.request, options_.max_body_bytes));
    StartBatchRequest req;
    req.recipe = required_string(*body, "recipe", 128);
    if (body->has("kind")) req.kind = required_string(*body, "kind", 32);
    if (req.kind != "unbind" && req.kind != "pre_activation" && req.kind != "wired") {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"kind\": expected unbind, pre_activation or wired");
    }
    if (body->has("serials")) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"serials\": serials are not given to slots by position; send "
                        "\"units\": [{\"slot\":\"A1\",\"serial\":\"...\"}, ...]");
    }
    req.units = unit_loads(*body);
    for (const auto& slot : optional_strings(*body, "slots")) {
        if (std::none_of(req.units.begin(), req.units.end(),
                         [&](const UnitLoad& u) { return u.slot == slot; })) {
            req.units.push_back({slot, std::nullopt});
        }
    }
    if (session.role != "admin" && std::find(session.products.begin(), session.products.end(),
                                             req.recipe) == session.products.end()) {
        Poco::JSON::Object detail;
        detail.set("recipe", req.recipe);
        audit(session.login, "batch.start_refused", detail);
        throw HttpError(HTTPResponse::HTTP_FORBIDDEN,
                        "no permission for product \"" + req.recipe + "\"", "product_not_permitted",
                        {{"recipe", req.recipe}});
    }
    req.operator_login = session.login;
    auto id = station_.start_batch(req);  // audited by the station, with the slots it chose
    Poco::JSON::Object out;
    out.set("batch_id", id);
    send_json(call.response, HTTPResponse::HTTP_CREATED, out);
}

void Api::qr_image(Call& call, bool png) {
    if (!displays_.may_read_qr(call.request)) require_session(call);
    auto qr = station_.qr();
    if (!qr.active || qr.payload.empty()) {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no QR code is showing");
    }
    std::shared_ptr<const qr::VerifiedQr> code;
    {
        std::lock_guard lock(qr_mutex_);
        if (!qr_code_ || qr_code_->payload != qr.payload) {
            // Rendered and read back once per code: a code that does not read back as its
            // payload is never shown (make_verified_qr throws).
            qr_code_ =
                std::make_shared<const qr::VerifiedQr>(qr::make_verified_qr(qr.payload, 1024));
        }
        code = qr_code_;
    }
    call.response.set("X-QR-Generation", std::to_string(qr.generation));
    if (png) {
        auto bytes = code->png();
        return send_text(call.response, HTTPResponse::HTTP_OK, "image/png",
                         std::string(bytes.begin(), bytes.end()));
    }
    send_text(call.response, HTTPResponse::HTTP_OK, "image/svg+xml", code->svg);
}

reports::Table Api::table_named(store::Database& db, const std::string& name,
                                const reports::Period& period) {
    if (name == "throughput_station") return reports::throughput(db, period, "station");
    if (name == "throughput_operator") return reports::throughput(db, period, "operator");
    if (name == "throughput_product") return reports::throughput(db, period, "product");
    if (name == "hourly") return reports::hourly(db, period);
    if (name == "yield") return reports::yield(db, period);
    if (name == "pareto") return reports::pareto(db, period);
    if (name == "cycle_time") return reports::cycle_times(db, period);
    if (name == "quota") {
        return reports::quota_today(db, reports::utc_day(clock_.wall_ms()), options_.quota);
    }
    throw HttpError(HTTPResponse::HTTP_NOT_FOUND,
                    "no report \"" + name +
                        "\"; expected summary, throughput_station, throughput_operator, "
                        "throughput_product, hourly, yield, pareto, cycle_time or quota");
}

namespace {
constexpr std::array kSummaryTables{"throughput_station",
                                    "throughput_operator",
                                    "throughput_product",
                                    "hourly",
                                    "yield",
                                    "pareto",
                                    "cycle_time",
                                    "quota"};
}

namespace {

// The summary cache's key for a period and a scope: "week|station|operator|product|batch".
// The scope's values never hold '|' (scope_of refuses it).
std::string summary_key(const std::string& period, const reports::Scope& scope) {
    if (scope.empty()) return period;
    return period + "|" + scope.station + "|" + scope.operator_login + "|" + scope.product + "|" +
           std::to_string(scope.batch_id);
}

reports::Period period_of_key(const std::string& key, std::int64_t now_ms) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (auto bar = key.find('|'); bar != std::string::npos; bar = key.find('|', start)) {
        parts.push_back(key.substr(start, bar - start));
        start = bar + 1;
    }
    parts.push_back(key.substr(start));
    auto period = reports::period_named(parts[0], now_ms);
    if (parts.size() == 5) {
        period.scope = {parts[1], parts[2], parts[3], std::stoll(parts[4])};
    }
    return period;
}

// ?station=&operator=&product=&batch=: what the supervisor narrows the reports to.
reports::Scope scope_of(const Poco::URI::QueryParameters& query) {
    reports::Scope scope;
    for (const auto& [k, v] : query) {
        std::string* field = k == "station"    ? &scope.station
                             : k == "operator" ? &scope.operator_login
                             : k == "product"  ? &scope.product
                                               : nullptr;
        if (k == "batch" && !v.empty()) {
            if (v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
                throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                                "query \"batch\": expected a batch number, got \"" + v + "\"");
            }
            scope.batch_id = std::stoll(v);
        }
        if (!field) continue;
        if (v.size() > 128 || v.find('|') != std::string::npos) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "query \"" + k + "\": expected up to 128 characters without '|'");
        }
        *field = v;
    }
    return scope;
}

}  // namespace

std::string Api::compute_summary(const std::string& period_name) {
    if (period_name == "metrics") {
        auto db = reads_.lease();
        return store_metrics(*db, reports::utc_day(clock_.wall_ms()), options_.quota);
    }
    auto period = period_of_key(period_name, clock_.wall_ms());
    auto db = reads_.lease();
    Poco::JSON::Object out;
    out.set("period", period.name);
    out.set("from_ms", period.from_ms);
    out.set("to_ms", period.to_ms);
    out.set("computed_ms", clock_.wall_ms());
    Poco::JSON::Object::Ptr tables = new Poco::JSON::Object;  // Poco::SharedPtr owns it
    for (const char* name : kSummaryTables)
        tables->set(name, table_object(table_named(*db, name, period)));
    out.set("tables", tables);
    return to_json(out);
}

std::string Api::summary_json(const std::string& period) {
    {
        std::lock_guard lock(summary_mutex_);
        auto it = summaries_.find(period);
        if (it != summaries_.end()) {
            if (clock_.now_s() - it->second.computed_s > options_.summary_max_age_s &&
                std::find(stale_.begin(), stale_.end(), period) == stale_.end()) {
                stale_.push_back(period);
                summary_wake_.notify_one();
            }
            return it->second.json;
        }
    }
    auto json = compute_summary(period);
    std::lock_guard lock(summary_mutex_);
    summaries_[period] = {json, clock_.now_s()};
    return json;
}

void Api::refresh_loop() {
    std::unique_lock lock(summary_mutex_);
    while (true) {
        summary_wake_.wait(lock, [&] { return stopping_ || !stale_.empty(); });
        if (stopping_) return;
        auto period = stale_.front();
        lock.unlock();
        std::string json;
        try {
            json = compute_summary(period);
        } catch (const std::exception& e) {
            Poco::Logger::get("web").error("summary %s: %s", period, std::string(e.what()));
        }
        lock.lock();
        if (!json.empty()) summaries_[period] = {json, clock_.now_s()};
        std::erase(stale_, period);
    }
}

void Api::report(Call& call, const std::string& name_in) {
    require_role(call, {"supervisor", "admin"});
    auto name = name_in;
    bool csv = call.query_value("format", "json") == "csv";
    if (name.size() > 4 && name.ends_with(".csv")) {
        name.resize(name.size() - 4);
        csv = true;
    }
    auto period_name = call.query_value("period", "shift");
    reports::Period period;
    try {
        period = reports::period_named(period_name, clock_.wall_ms());
    } catch (const std::invalid_argument& e) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, e.what());
    }
    period.scope = scope_of(call.query);
    if (name == "summary") {
        if (csv)
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "the summary has no CSV; export its tables");
        return send_json(call.response, HTTPResponse::HTTP_OK,
                         summary_json(summary_key(period_name, period.scope)));
    }
    auto db = reads_.lease();
    auto table = table_named(*db, name, period);
    if (csv) {
        call.response.set("Content-Disposition",
                          "attachment; filename=\"" + name + "-" + period_name + ".csv\"");
        return send_text(call.response, HTTPResponse::HTTP_OK, "text/csv; charset=utf-8",
                         reports::to_csv(table));
    }
    send_json(call.response, HTTPResponse::HTTP_OK, to_json(*table_object(table)));
}

void Api::unit_history(Call& call, const std::string& serial_in) {
    require_role(call, {"supervisor", "admin"});
    auto serial = serial_in;
    bool csv = call.query_value("format", "json") == "csv";
    if (serial.size() > 4 && serial.ends_with(".csv")) {
        serial.resize(serial.size() - 4);
        csv = true;
    }
    auto db = reads_.lease();
    auto attempts = reports::unit_history(*db, serial);
    if (csv) {
        call.response.set("Content-Disposition", "attachment; filename=\"unit-history.csv\"");
        return send_text(call.response, HTTPResponse::HTTP_OK, "text/csv; charset=utf-8",
                         reports::to_csv(attempts));
    }
    if (attempts.rows.empty()) {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no unit with serial \"" + serial + "\"",
                        "no_unit", {{"serial", serial}});
    }
    Poco::JSON::Object out;
    out.set("serial", serial);
    out.set("attempts", table_object(attempts));
    Poco::JSON::Object::Ptr events = new Poco::JSON::Object;  // Poco::SharedPtr owns them
    Poco::JSON::Object::Ptr measurements = new Poco::JSON::Object;
    for (const auto& row : attempts.rows) {
        auto id = std::get<std::int64_t>(row[0]);
        events->set(std::to_string(id), table_object(reports::unit_events(*db, id)));
        measurements->set(std::to_string(id), table_object(reports::unit_measurements(*db, id)));
    }
    Poco::JSON::Object::Ptr evidence = new Poco::JSON::Object;
    for (const auto& row : attempts.rows) {
        auto id = std::get<std::int64_t>(row[0]);
        evidence->set(std::to_string(id), evidence_array(*db, id));
    }
    out.set("events", events);
    out.set("measurements", measurements);
    out.set("evidence", evidence);
    send_json(call.response, HTTPResponse::HTTP_OK, out);
}

Poco::JSON::Array::Ptr Api::evidence_array(store::Database& db, std::int64_t unit_id) {
    Poco::JSON::Array::Ptr out = new Poco::JSON::Array;
    for (const auto& row : reports::unit_evidence(db, unit_id).rows) {
        const auto& moment = std::get<std::string>(row[0]);
        Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
        o->set("moment", moment);
        o->set("t_ms", std::get<std::int64_t>(row[1]));
        o->set("led", Poco::JSON::Parser().parse(std::get<std::string>(row[2])));
        if (std::get<std::int64_t>(row[3]) != 0) {
            o->set("image", "/api/evidence/" + std::to_string(unit_id) + "/" + moment + ".png");
        } else {
            o->set("image", Poco::Dynamic::Var());
        }
        if (const auto* pruned = std::get_if<std::int64_t>(&row[4])) o->set("pruned_ms", *pruned);
        out->add(o);
    }
    return out;
}

void Api::unit_evidence(Call& call) {
    require_session(call);
    std::int64_t unit_id = 0;
    const auto& id = call.parts[2];
    const auto end = id.data() + id.size();
    if (id.empty() || std::from_chars(id.data(), end, unit_id).ptr != end || unit_id <= 0) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "unit id \"" + id + "\": expected a positive integer");
    }
    auto db = reads_.lease();
    if (call.parts.size() == 3) {
        Poco::JSON::Object out;
        out.set("unit_id", unit_id);
        out.set("evidence", evidence_array(*db, unit_id));
        return send_json(call.response, HTTPResponse::HTTP_OK, out);
    }
    const auto& file = call.parts[3];
    const std::string moment = file.ends_with(".png") ? file.substr(0, file.size() - 4) : "";
    if (moment != "ready" && moment != "green" && moment != "final") {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND,
                        "evidence \"" + file + "\": expected ready.png, green.png or final.png");
    }
    auto png = reports::evidence_png(*db, unit_id, moment);
    if (!png) {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND,
                        "unit " + id + " has no " + moment + " crop (none taken, or dropped)");
    }
    call.response.set("Cache-Control", "private, max-age=3600");
    send_text(call.response, HTTPResponse::HTTP_OK, "image/png", *png);
}

void Api::users(Call& call) {
    require_role(call, {"admin"});
    if (call.parts[1] == "users.csv") {
        reports::Table table{"users", {"login", "role", "products", "disabled"}, {}};
        for (const auto& op : store_.operators()) {  // never the password hash
            std::string products;
            for (const auto& p : op.products) products += (products.empty() ? "" : ",") + p;
            table.rows.push_back({op.login, op.role, products, std::int64_t{op.disabled ? 1 : 0}});
        }
        return send_csv(call, table);
    }
    Poco::JSON::Array out;
    for (const auto& op : store_.operators()) {
        Poco::JSON::Object o;  // never the password hash
        o.set("login", op.login);
        o.set("role", op.role);
        o.set("products", string_array(op.products));
        o.set("disabled", op.disabled);
        out.add(o);
    }
    send_json(call.response, HTTPResponse::HTTP_OK, to_json(out));
}

void Api::send_csv(Call& call, const reports::Table& table) {
    call.response.set("Content-Disposition", "attachment; filename=\"" + table.name + ".csv\"");
    send_text(call.response, HTTPResponse::HTTP_OK, "text/csv; charset=utf-8",
              reports::to_csv(table));
}

void Api::add_user(Call& call) {
    auto session = require_role(call, {"admin"});
    auto body = parse_object(read_body(call.request, options_.max_body_bytes));
    store::OperatorRecord op;
    op.login = required_string(*body, "login", 64);
    op.role = required_string(*body, "role", 16);
    if (op.role != "operator" && op.role != "supervisor" && op.role != "admin") {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"role\": expected operator, supervisor or admin");
    }
    op.products = optional_strings(*body, "products");
    auto password = required_string(*body, "password", 1024);
    if (password.size() < 8) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"password\": expected at least 8 characters");
    }
    if (store_.find_operator(op.login)) {
        throw HttpError(HTTPResponse::HTTP_CONFLICT, "a user \"" + op.login + "\" already exists");
    }
    op.password_hash = auth::hash_password(password, options_.password_iterations);
    store_.add_operator(op);
    Poco::JSON::Object detail;
    detail.set("login", op.login);
    detail.set("role", op.role);
    detail.set("products", string_array(op.products));
    audit(session.login, "user.add", detail);
    send_json(call.response, HTTPResponse::HTTP_CREATED, "{\"ok\":true}");
}

void Api::disable_user(Call& call, const std::string& login) {
    auto session = require_role(call, {"admin"});
    if (login == session.login) {
        throw HttpError(HTTPResponse::HTTP_CONFLICT, "an admin cannot disable their own login");
    }
    if (!store_.disable_operator(login)) {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no user \"" + login + "\"");
    }
    sign_in_.sessions().remove_login(login);
    Poco::JSON::Object detail;
    detail.set("login", login);
    audit(session.login, "user.disable", detail);
    send_json(call.response, HTTPResponse::HTTP_OK, "{\"ok\":true}");
}

void Api::audit_log(Call& call) {
    require_role(call, {"supervisor", "admin"});
    std::int64_t since = 0;
    try {
        since = std::stoll(call.query_value("since_ms", "0"));
    } catch (const std::exception&) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "since_ms: expected an integer");
    }
    reports::Table table{"audit", {"id", "at_ms", "actor", "action", "detail"}, {}};
    for (const auto& a : store_.audit_log(since, 5000)) {
        table.rows.push_back({a.id, a.at_ms, a.actor, a.action, a.detail_json});
    }
    if (call.parts[1] == "audit.csv" || call.query_value("format", "json") == "csv") {
        call.response.set("Content-Disposition", "attachment; filename=\"audit.csv\"");
        return send_text(call.response, HTTPResponse::HTTP_OK, "text/csv; charset=utf-8",
                         reports::to_csv(table));
    }
    send_json(call.response, HTTPResponse::HTTP_OK, to_json(*table_object(table)));
}

void Api::cloud_accounts(Call& call) {
    require_role(call, {"admin"});
    auto db = reads_.lease();
    auto table = reports::cloud_accounts(*db);
    if (call.parts[1] == "cloud-accounts.csv") return send_csv(call, table);
    send_json(call.response, HTTPResponse::HTTP_OK, to_json(*table_object(table)));
}

void Api::add_cloud_account(Call& call) {
    auto session = require_role(call, {"admin"});
    auto body = parse_object(read_body(call.request, options_.max_body_bytes));
    if (body->has("secret")) {
        // Secrets stay out of the store: it keeps only where the secret lives.
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"secret\": not accepted; give \"secret_ref\" (the environment "
                        "variable or file that holds it)");
    }
    store::CloudAccountRecord a;
    a.name = required_string(*body, "name", 64);
    a.endpoint = required_string(*body, "endpoint", 256);
    if (a.endpoint.rfind("https://", 0) != 0 && a.endpoint.rfind("http://127.0.0.1", 0) != 0) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"endpoint\": expected an https:// URL (or http://127.0.0.1 for "
                        "the emulator)");
    }
    a.client_id = required_string(*body, "client_id", 128);
    a.uid = required_string(*body, "uid", 128);
    if (body->has("relation")) a.relation = required_string(*body, "relation", 16);
    if (a.relation != "owner" && a.relation != "partner" && a.relation != "org") {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"relation\": expected owner, partner or org");
    }
    a.secret_ref = required_string(*body, "secret_ref", 256);
    std::int64_t id = 0;
    try {
        id = store_.add_cloud_account(a);
    } catch (const store::SqliteError&) {
        throw HttpError(HTTPResponse::HTTP_CONFLICT, "a cloud account \"" + a.name + "\" exists");
    }
    Poco::JSON::Object detail;
    detail.set("id", id);
    detail.set("name", a.name);
    detail.set("endpoint", a.endpoint);
    audit(session.login, "cloud_account.add", detail);
    Poco::JSON::Object out;
    out.set("id", id);
    // The line reads its accounts, and their secrets from where secret_ref says, when the
    // station starts.
    out.set("applies", "next start");
    send_json(call.response, HTTPResponse::HTTP_CREATED, out);
}

namespace {

// The station loads recipes only when it starts: the line has no reload hook, so a saved
// recipe is used by batches after the next start.
constexpr const char* kRecipesApply = "next start";

void require_recipes_dir(const std::filesystem::path& dir) {
    if (dir.empty()) {
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "this station has no recipes folder");
    }
}

void require_product_id(const std::string& id) {
    if (!valid_product_id(id)) {
        throw HttpError(
            HTTPResponse::HTTP_BAD_REQUEST,
            "product id \"" + id.substr(0, 80) + "\": expected [a-z0-9][a-z0-9._-]{0,63}");
    }
}

}  // namespace

void Api::admin_recipes(Call& call) {
    require_role(call, {"admin"});
    require_recipes_dir(options_.recipes_dir);
    Poco::JSON::Array out;
    for (const auto& row : list_recipe_files(options_.recipes_dir)) {
        Poco::JSON::Object o;
        o.set("file", row.file.filename().string());
        if (row.error.empty()) {
            o.set("product_id", row.product_id);
            o.set("name", row.name);
            o.set("binding", row.binding);
        } else {
            o.set("error", row.error);
        }
        out.add(o);
    }
    send_json(call.response, HTTPResponse::HTTP_OK, to_json(out));
}

void Api::admin_recipe(Call& call, const std::string& id) {
    require_role(call, {"admin"});
    require_recipes_dir(options_.recipes_dir);
    require_product_id(id);
    auto file = recipe_file_for(options_.recipes_dir, id);
    if (!file) throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "no recipe \"" + id + "\"");
    send_text(call.response, HTTPResponse::HTTP_OK, "application/json; charset=utf-8",
              read_text_file(*file));
}

void Api::save_recipe(Call& call, const std::string& id) {
    auto session = require_role(call, {"admin"});
    require_recipes_dir(options_.recipes_dir);
    require_product_id(id);
    auto body = read_body(call.request, options_.max_body_bytes);
    std::lock_guard lock(recipes_mutex_);
    // Saved over the file that holds this product, so the folder never gets two of it.
    auto existing = recipe_file_for(options_.recipes_dir, id);
    auto file = existing ? *existing : options_.recipes_dir / (id + ".json");
    config::Recipe recipe;
    try {
        recipe = parse_recipe_text(body, "recipes/" + file.filename().string());
    } catch (const config::ConfigError& e) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, e.what());
    }
    if (recipe.product_id != id) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "recipes/" + file.filename().string() +
                                                            ": $.product.id: expected \"" + id +
                                                            "\" (the id in the URL), got \"" +
                                                            recipe.product_id.substr(0, 80) + "\"");
    }
    if (!existing && std::filesystem::exists(file)) {
        // <id>.json holds another product: saving would silently replace that recipe.
        throw HttpError(HTTPResponse::HTTP_CONFLICT,
                        "recipes/" + file.filename().string() + " holds another product");
    }
    write_file_atomically(file, body);
    Poco::JSON::Object detail;
    detail.set("product_id", id);
    detail.set("file", file.filename().string());
    detail.set("created", !existing);
    audit(session.login, "recipe.save", detail);
    Poco::JSON::Object out;
    out.set("ok", true);
    out.set("product_id", id);
    out.set("file", file.filename().string());
    out.set("applies", kRecipesApply);
    send_json(call.response, existing ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_CREATED, out);
}

void Api::admin_fixture(Call& call) {
    require_role(call, {"admin"});
    if (options_.fixture_file.empty()) {
        return send_json(call.response, HTTPResponse::HTTP_OK, "{\"virtual\":true}");
    }
    // The camera's password is the camera's business, not the page's.
    send_text(call.response, HTTPResponse::HTTP_OK, "application/json; charset=utf-8",
              drivers::without_url_passwords(read_text_file(options_.fixture_file)));
}

void Api::validate_fixture(Call& call) {
    require_role(call, {"admin"});
    auto body = read_body(call.request, options_.max_body_bytes);
    auto label = options_.fixture_file.empty() ? std::string("fixture.json")
                                               : options_.fixture_file.filename().string();
    config::FixtureConfig fixture;
    try {
        fixture = parse_fixture_text(body, label);
    } catch (const config::ConfigError& e) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, e.what());
    }
    Poco::JSON::Object out;
    out.set("ok", true);
    out.set("slots", static_cast<int>(fixture.slots.size()));
    // Validation only: the live fixture's boards are opened at start.
    out.set("applies", "restart");
    send_json(call.response, HTTPResponse::HTTP_OK, out);
}

void Api::live(Call& call) {
    auto session = require_session(call);
    // Each client costs a socket and a share of every send: a bound, answered plainly.
    if (live_.clients() >= options_.max_live_clients) {
        throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "too many live clients");
    }
    // Browsers send Origin on WebSocket upgrades; a foreign page must not ride the cookie.
    auto origin = call.request.get("Origin", "");
    if (!origin.empty()) {
        std::string origin_host;
        try {
            Poco::URI o(origin);
            origin_host = o.getAuthority();
        } catch (const Poco::Exception&) {
        }
        if (origin_host != call.request.getHost()) {
            throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "WebSocket from a foreign origin");
        }
    }
    try {
        Poco::Net::WebSocket socket(call.request, call.response);
        live_.add(socket, session.id);
    } catch (const Poco::Net::WebSocketException&) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "expected a WebSocket upgrade");
    }
}

}  // namespace linestation::web
