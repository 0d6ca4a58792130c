#include "web/sign_in.hpp"

#include <Poco/JSON/Array.h>

#include <algorithm>

#include "station/auth/password.hpp"
#include "web/http.hpp"

namespace linestation::web {

using Poco::Net::HTTPResponse;

namespace {
std::string session_cookie(const std::string& value, bool secure, bool expire) {
    std::string cookie =
        std::string(kSessionCookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict";
    if (secure) cookie += "; Secure";
    if (expire) cookie += "; Max-Age=0";
    return cookie;
}
}  // namespace

Poco::JSON::Object session_json(const auth::Session& session) {
    Poco::JSON::Object out;
    out.set("login", session.login);
    out.set("role", session.role);
    Poco::JSON::Array::Ptr products = new Poco::JSON::Array;  // Poco::SharedPtr owns it
    for (const auto& p : session.products) products->add(p);
    out.set("products", products);
    out.set("csrf_token", session.csrf_token);
    return out;
}

bool has_role(const auth::Session& s, std::initializer_list<const char*> roles) {
    return std::any_of(roles.begin(), roles.end(), [&](const char* r) { return s.role == r; });
}

SignIn::SignIn(const Clock& clock, store::Store& store, SignInOptions options)
    : store_(store),
      options_(options),
      dummy_hash_(auth::hash_password("not a password of anyone", options.password_iterations)),
      sessions_(clock, 8 * 3600.0, 12 * 3600.0, &store),
      per_pair_(clock, options.max_failures, options.window_s),
      per_address_(clock, options.max_failures_per_address, options.window_s),
      per_login_(clock, options.max_failures_per_login, options.window_s) {}

SignIn::Credentials SignIn::read_credentials(Poco::Net::HTTPServerRequest& request,
                                             std::size_t max_body_bytes) {
    if (request.getContentType().rfind("application/json", 0) != 0) {
        throw HttpError(HTTPResponse::HTTP_UNSUPPORTED_MEDIA_TYPE,
                        "send the login as application/json");
    }
    auto body = parse_object(read_body(request, max_body_bytes));
    return {required_string(*body, "login", 64), required_string(*body, "password", 1024)};
}

SignIn::Attempt SignIn::check(const std::string& login, const std::string& password,
                              const std::string& client) {
    const auto key = login + "|" + client;
    // The throttles count attempts on the name given, not on accounts.
    if (auto wait = std::max({per_pair_.retry_after_s(key), per_address_.retry_after_s(client),
                              per_login_.retry_after_s(login)});
        wait > 0) {
        return {Check::Throttled, wait, std::nullopt};
    }
    auto user = store_.find_operator(login);
    const bool ok = auth::verify_password(password, user ? user->password_hash : dummy_hash_) &&
                    user && !user->disabled;
    if (!ok) {
        per_pair_.record_failure(key);
        per_address_.record_failure(client);
        per_login_.record_failure(login);
        return {Check::Wrong, 0, std::nullopt};
    }
    per_pair_.record_success(key);
    return {Check::Ok, 0, user};
}

void SignIn::refuse(Poco::Net::HTTPServerResponse& response, const Attempt& attempt) {
    if (attempt.check == Check::Throttled) {
        response.set("Retry-After", std::to_string(static_cast<int>(attempt.retry_after_s) + 1));
        throw HttpError(HTTPResponse::HTTP_TOO_MANY_REQUESTS,
                        "too many failed logins; try again later");
    }
    if (attempt.check == Check::Wrong) {
        throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED, "wrong login or password");
    }
}

auth::Session SignIn::begin(const Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response,
                            const store::OperatorRecord& user) {
    sessions_.remove(cookie_value(request, kSessionCookie));
    auto session = sessions_.create(user.login, user.role, user.products);
    response.set("Set-Cookie", session_cookie(session.id, options_.secure_cookies, false));
    return session;
}

void SignIn::end(Poco::Net::HTTPServerResponse& response, const auth::Session& session) {
    sessions_.remove(session.id);
    response.set("Set-Cookie", session_cookie("", options_.secure_cookies, true));
}

auth::Session SignIn::require_session(const Poco::Net::HTTPServerRequest& request) {
    auto session = sessions_.find(cookie_value(request, kSessionCookie));
    if (!session) throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED, "log in first", "log_in_first");
    return *session;
}

auth::Session SignIn::require_role(const Poco::Net::HTTPServerRequest& request,
                                   std::initializer_list<const char*> roles) {
    auto session = require_session(request);
    if (!has_role(session, roles)) {
        std::string names;
        for (const char* r : roles) names += (names.empty() ? "" : " or ") + std::string(r);
        throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "this needs the role " + names, "needs_role",
                        {{"roles", names}});
    }
    const auto& method = request.getMethod();
    if (method != "GET" && method != "HEAD") require_csrf(request, session);
    return session;
}

void SignIn::require_csrf(const Poco::Net::HTTPServerRequest& request,
                          const auth::Session& session) {
    auto token = request.get(kCsrfHeader, "");
    if (!auth::constant_time_equal(token, session.csrf_token)) {
        throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "missing or wrong CSRF token", "csrf");
    }
}

}  // namespace linestation::web
