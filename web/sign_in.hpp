#pragma once
// Signing in to a dashboard, shared by the station's API and the fleet's (`fleet serve`):
// users are the operators of a station store, passwords checked against their PBKDF2
// hashes, logins throttled per login and address, per address and per login, sessions kept
// in that store (a restart logs no one out) under an HttpOnly cookie, with a CSRF token
// for every request that changes something.

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <initializer_list>
#include <optional>
#include <string>

#include "drivers/core/clock.hpp"
#include "station/auth/password.hpp"
#include "station/auth/session.hpp"
#include "station/store/store.hpp"

namespace linestation::web {

inline constexpr const char* kSessionCookie = "ls_session";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

struct SignInOptions {
    int max_failures = 5;               // per login and client address
    int max_failures_per_address = 20;  // per client address, whatever login it tries
    int max_failures_per_login = 20;    // per login, from whatever address
    double window_s = 300;
    bool secure_cookies = false;
    // PBKDF2 rounds of the stand-in hash for logins that do not exist: the store's own
    // (a fuzzer or test with cheap users passes theirs, so the two cost the same).
    int password_iterations = auth::kDefaultPbkdf2Iterations;
};

// Who is logged in, as the API answers it. The CSRF token is readable by same-origin
// script on purpose: the session cookie it pairs with is HttpOnly.
Poco::JSON::Object session_json(const auth::Session& session);
bool has_role(const auth::Session& s, std::initializer_list<const char*> roles);

class SignIn {
  public:
    // Users and sessions of `store` (not owned).
    SignIn(const Clock& clock, store::Store& store, SignInOptions options);

    struct Credentials {
        std::string login;
        std::string password;
    };
    // {"login", "password"} from a JSON body (forms cannot send JSON, so a cross-site form
    // cannot log a browser in).
    static Credentials read_credentials(Poco::Net::HTTPServerRequest& request,
                                        std::size_t max_body_bytes);

    enum class Check { Ok, Throttled, Wrong };
    struct Attempt {
        Check check = Check::Wrong;
        double retry_after_s = 0;                   // Throttled: when to try again
        std::optional<store::OperatorRecord> user;  // Ok: who
    };
    // The same answer and the same hash time whether or not the login exists.
    Attempt check(const std::string& login, const std::string& password, const std::string& client);
    // Throws the HTTP answer of a refused attempt (429 with Retry-After, or 401).
    static void refuse(Poco::Net::HTTPServerResponse& response, const Attempt& attempt);
    // A new session for the attempt's user (a session the browser already had ends: one
    // planted by someone else is not promoted), its cookie set on `response`.
    auth::Session begin(const Poco::Net::HTTPServerRequest& request,
                        Poco::Net::HTTPServerResponse& response, const store::OperatorRecord& user);
    void end(Poco::Net::HTTPServerResponse& response, const auth::Session& session);

    auth::Session require_session(const Poco::Net::HTTPServerRequest& request);
    // The session, of one of `roles`; with its CSRF token unless the request only reads.
    auth::Session require_role(const Poco::Net::HTTPServerRequest& request,
                               std::initializer_list<const char*> roles);
    static void require_csrf(const Poco::Net::HTTPServerRequest& request,
                             const auth::Session& session);
    auth::SessionTable& sessions() { return sessions_; }

  private:
    store::Store& store_;
    SignInOptions options_;
    // A missing user costs the same hash time as a wrong password, so timing does not tell
    // which logins exist.
    std::string dummy_hash_;
    auth::SessionTable sessions_;
    auth::LoginThrottle per_pair_;
    auth::LoginThrottle per_address_;
    auth::LoginThrottle per_login_;
};

}  // namespace linestation::web
