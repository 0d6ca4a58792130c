#include "station/auth/session.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

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

SessionTable::SessionTable(const Clock& clock, double idle_timeout_s, double max_age_s)
    : clock_(clock), idle_timeout_s_(idle_timeout_s), max_age_s_(max_age_s) {}

Session SessionTable::create(const std::string& login, const std::string& role,
                             const std::vector<std::string>& products) {
    Session s;
    s.id = random_token();
    s.csrf_token = random_token();
    s.login = login;
    s.role = role;
    s.products = products;
    s.created_s = s.last_seen_s = clock_.now_s();
    std::lock_guard lock(mutex_);
    expire_locked(s.created_s);
    sessions_[s.id] = s;
    return s;
}

std::optional<Session> SessionTable::find(const std::string& id) {
    if (id.empty()) return std::nullopt;
    auto now = clock_.now_s();
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    auto& s = it->second;
    if (now - s.last_seen_s > idle_timeout_s_ || now - s.created_s > max_age_s_) {
        sessions_.erase(it);
        return std::nullopt;
    }
    s.last_seen_s = now;
    return s;
}

void SessionTable::remove(const std::string& id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
}

void SessionTable::remove_login(const std::string& login) {
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [&](const auto& entry) { return entry.second.login == login; });
}

std::size_t SessionTable::size() {
    std::lock_guard lock(mutex_);
    expire_locked(clock_.now_s());
    return sessions_.size();
}

void SessionTable::expire_locked(double now) {
    std::erase_if(sessions_, [&](const auto& entry) {
        return now - entry.second.last_seen_s > idle_timeout_s_ ||
               now - entry.second.created_s > max_age_s_;
    });
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
