#pragma once
// Dashboard sessions and login throttling. With a store, sessions are kept in it, so a
// restart logs no one out (an operator mid-shift, a supervisor's screen); the store keeps
// only each id's SHA-256. Session ids and CSRF tokens are 256-bit random values from
// OpenSSL's CSPRNG. Session times are wall-clock, since they outlive the process.

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "station/clock/clock.hpp"

namespace linestation::store {
class Store;
}

namespace linestation::auth {

// Hex of `bytes` random bytes from OpenSSL's RAND_bytes; throws if the CSPRNG fails.
std::string random_token(std::size_t bytes = 32);
// Compares without an early exit, so timing does not reveal the matching prefix.
bool constant_time_equal(const std::string& a, const std::string& b);
// Lower-case hex of the SHA-256 of `text` (OpenSSL): what the store keeps of a secret.
std::string sha256_hex(const std::string& text);

struct Session {
    std::string id;
    std::string csrf_token;
    std::string login;
    std::string role;  // operator | supervisor | admin
    std::vector<std::string> products;
    double created_s = 0;
    double last_seen_s = 0;
};

class SessionTable {
  public:
    // A session ends after `idle_timeout_s` without a request or `max_age_s` in all.
    // With `store`, sessions are read from it now and written through to it.
    SessionTable(const Clock& clock, double idle_timeout_s = 8 * 3600.0,
                 double max_age_s = 12 * 3600.0, store::Store* store = nullptr);

    Session create(const std::string& login, const std::string& role,
                   const std::vector<std::string>& products);
    // The live session with this id (its idle timer restarted), or nothing.
    std::optional<Session> find(const std::string& id);
    // Whether the session with this id is still live, without counting as a request (an
    // open live socket must not keep an idle session alive).
    bool alive(const std::string& id);
    void remove(const std::string& id);
    // Ends every session of a login (its user was disabled or changed).
    void remove_login(const std::string& login);
    std::size_t size();

  private:
    struct Kept {
        Session session;       // its id is empty: the table knows only the hash
        double stored_seen_s;  // last_seen_s as the store has it
    };
    double now_s() const;
    void expire_locked(double now);

    const Clock& clock_;
    double idle_timeout_s_;
    double max_age_s_;
    store::Store* store_;
    std::mutex mutex_;
    std::map<std::string, Kept> sessions_;  // by the SHA-256 of the id
};

// Failed logins per key (login + client address): after `max_failures` within
// `window_s`, further attempts wait until the oldest failure leaves the window.
class LoginThrottle {
  public:
    LoginThrottle(const Clock& clock, int max_failures = 5, double window_s = 300.0);
    // Seconds until another attempt is allowed; 0 when it is allowed now.
    double retry_after_s(const std::string& key);
    void record_failure(const std::string& key);
    void record_success(const std::string& key);

  private:
    void prune_locked(std::vector<double>& failures, double now) const;

    const Clock& clock_;
    int max_failures_;
    double window_s_;
    std::mutex mutex_;
    std::map<std::string, std::vector<double>> failures_;
};

}  // namespace linestation::auth
