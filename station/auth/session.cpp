#include "station/auth/session.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "station/store/dashboard_access.hpp"

namespace linestation::auth {

std::string random_token(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
        throw std::runtime_error("the random number generator failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (auto b : raw) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0x0f]);
    }
    return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const auto n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

std::string sha256_hex(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 0x0f]);
    }
    return out;
}

namespace {

// A request touches its session; the store hears of it at most this often, so a busy
// dashboard does not write on every call. After a restart a session may look this much
// less idle than it was.
constexpr double kTouchWriteEvery_s = 60;

std::int64_t to_ms(double s) {
    return static_cast<std::int64_t>(std::llround(s * 1000.0));
}

}  // namespace

SessionTable::SessionTable(const Clock& clock, double idle_timeout_s, double max_age_s,
                           store::Store* store)
    : clock_(clock), idle_timeout_s_(idle_timeout_s), max_age_s_(max_age_s), store_(store) {
    if (!store_) return;
    const double now = now_s();
    store::delete_expired_sessions(*store_, to_ms(now - idle_timeout_s_), to_ms(now - max_age_s_));
    for (auto& r : store::sessions(*store_)) {
        Session s{"",
                  r.csrf_token,
                  r.login,
                  r.role,
                  r.products,
                  r.created_ms / 1000.0,
                  r.last_seen_ms / 1000.0};
        sessions_[r.id_sha256] = Kept{std::move(s), r.last_seen_ms / 1000.0};
    }
}

double SessionTable::now_s() const {
    return static_cast<double>(clock_.wall_ms()) / 1000.0;
}

Session SessionTable::create(const std::string& login, const std::string& role,
                             const std::vector<std::string>& products) {
    Session s;
    s.id = random_token();
    s.csrf_token = random_token();
    s.login = login;
    s.role = role;
    s.products = products;
    s.created_s = s.last_seen_s = now_s();
    const auto key = sha256_hex(s.id);
    std::lock_guard lock(mutex_);
    expire_locked(s.created_s);
    if (store_) {
        store::save_session(*store_, {key, s.csrf_token, login, role, products, to_ms(s.created_s),
                                      to_ms(s.last_seen_s)});
    }
    Kept kept{s, s.last_seen_s};
    kept.session.id.clear();
    sessions_[key] = std::move(kept);
    return s;
}

std::optional<Session> SessionTable::find(const std::string& id) {
    if (id.empty()) return std::nullopt;
    auto now = now_s();
    const auto key = sha256_hex(id);
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return std::nullopt;
    auto& kept = it->second;
    auto& s = kept.session;
    if (now - s.last_seen_s > idle_timeout_s_ || now - s.created_s > max_age_s_) {
        if (store_) store::delete_session(*store_, key);
        sessions_.erase(it);
        return std::nullopt;
    }
    s.last_seen_s = now;
    if (store_ && now - kept.stored_seen_s >= kTouchWriteEvery_s) {
        store::touch_session(*store_, key, to_ms(now));
        kept.stored_seen_s = now;
    }
    Session out = s;
    out.id = id;
    return out;
}

bool SessionTable::alive(const std::string& id) {
    if (id.empty()) return false;
    const auto now = now_s();
    const auto key = sha256_hex(id);
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return false;
    const auto& s = it->second.session;
    return now - s.last_seen_s <= idle_timeout_s_ && now - s.created_s <= max_age_s_;
}

void SessionTable::remove(const std::string& id) {
    if (id.empty()) return;
    const auto key = sha256_hex(id);
    std::lock_guard lock(mutex_);
    if (store_) store::delete_session(*store_, key);
    sessions_.erase(key);
}

void SessionTable::remove_login(const std::string& login) {
    std::lock_guard lock(mutex_);
    if (store_) store::delete_sessions_of(*store_, login);
    std::erase_if(sessions_,
                  [&](const auto& entry) { return entry.second.session.login == login; });
}

std::size_t SessionTable::size() {
    std::lock_guard lock(mutex_);
    expire_locked(now_s());
    return sessions_.size();
}

void SessionTable::expire_locked(double now) {
    const auto before = sessions_.size();
    std::erase_if(sessions_, [&](const auto& entry) {
        return now - entry.second.session.last_seen_s > idle_timeout_s_ ||
               now - entry.second.session.created_s > max_age_s_;
    });
    // The store's rows go by the times it has; one still alive in memory (touched since its
    // last write) is at most kTouchWriteEvery_s fresher there, so the cut-off allows for it.
    if (store_ && sessions_.size() != before) {
        store::delete_expired_sessions(*store_, to_ms(now - idle_timeout_s_ - kTouchWriteEvery_s),
                                       to_ms(now - max_age_s_));
    }
}

LoginThrottle::LoginThrottle(const Clock& clock, int max_failures, double window_s)
    : clock_(clock), max_failures_(max_failures), window_s_(window_s) {}

void LoginThrottle::prune_locked(std::vector<double>& failures, double now) const {
    std::erase_if(failures, [&](double t) { return now - t >= window_s_; });
}

double LoginThrottle::retry_after_s(const std::string& key) {
    auto now = clock_.now_s();
    std::lock_guard lock(mutex_);
    auto it = failures_.find(key);
    if (it == failures_.end()) return 0;
    prune_locked(it->second, now);
    if (static_cast<int>(it->second.size()) < max_failures_) return 0;
    return std::max(0.001, it->second.front() + window_s_ - now);
}

void LoginThrottle::record_failure(const std::string& key) {
    auto now = clock_.now_s();
    std::lock_guard lock(mutex_);
    auto& failures = failures_[key];
    prune_locked(failures, now);
    failures.push_back(now);
    // Bound the table: an attacker cycling keys must not grow it forever.
    if (failures_.size() > 10000) {
        for (auto it = failures_.begin(); it != failures_.end();) {
            prune_locked(it->second, now);
            it = it->second.empty() ? failures_.erase(it) : std::next(it);
        }
    }
}

void LoginThrottle::record_success(const std::string& key) {
    std::lock_guard lock(mutex_);
    failures_.erase(key);
}

}  // namespace linestation::auth
