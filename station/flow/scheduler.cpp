#include "station/flow/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>

#include "station/cloud/signing.hpp"
#include "station/qr/pairing_qr.hpp"

namespace linestation::flow {

namespace {
// The cloud counts unbinds per account (all its products) and per product (all
// accounts): the account row has product "*", the product row account 0.
constexpr const char* kAllProducts = "*";
constexpr std::int64_t kAllAccounts = 0;
}  // namespace

std::string reason_for_cloud_code(const std::string& code) {
    namespace pf = cloud::pairing_failure;
    if (code == pf::kNoPermission || code == cloud::codes::kPermissionDenied) {
        return reason::kNoPermission;
    }
    // A full token is a stale code too: the device retries with a fresh one.
    if (code == pf::kTokenExpired || code == pf::kTokenFull) return reason::kTokenExpired;
    if (code == pf::kQuotaExceeded || code == cloud::codes::kQuotaExceeded) {
        return reason::kQuotaExceeded;
    }
    if (code == pf::kWrongWifi) return reason::kWifiRejected;
    return reason::kCloudRefused;
}

std::string utc_day(std::int64_t wall_ms) {
    using namespace std::chrono;
    const auto days = floor<std::chrono::days>(sys_time<milliseconds>(milliseconds(wall_ms)));
    const year_month_day ymd{days};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text;
}

QrScheduler::QrScheduler(Clock& clock, store::Store& store, std::vector<CloudAccount> accounts,
                         config::WifiSettings wifi, QrScreen* screen, SchedulerOptions options)
    : clock_(clock),
      store_(store),
      accounts_(std::move(accounts)),
      wifi_(std::move(wifi)),
      screen_(screen),
      options_(options) {}

bool QrScheduler::reserve(std::size_t account, const std::string& product, const std::string& day) {
    const auto& a = accounts_[account];
    if (!store_.reserve_quota(kAllAccounts, product, day, a.quota_per_product)) return false;
    if (!store_.reserve_quota(a.store_id, kAllProducts, day, a.quota_per_account)) {
        store_.settle_quota(kAllAccounts, product, day, false);
        return false;
    }
    return true;
}

bool QrScheduler::has_room(std::size_t account, const std::string& product,
                           const std::string& day) {
    const auto& a = accounts_[account];
    auto p = store_.quota(kAllAccounts, product, day);
    auto all = store_.quota(a.store_id, kAllProducts, day);
    return p.used + p.reserved < a.quota_per_product &&
           all.used + all.reserved < a.quota_per_account;
}

Admission QrScheduler::admit(const std::string& slot, const std::string& product) {
    Member m;
    m.product = product;
    m.day = utc_day(clock_.wall_ms());
    if (accounts_.empty()) {
        members_[slot] = std::move(m);
        return Admission::Admitted;
    }
    if (reserve(active_, product, m.day)) {
        m.account = active_;
        members_[slot] = std::move(m);
        return Admission::Admitted;
    }
    std::optional<std::size_t> next;
    for (std::size_t i = 1; i < accounts_.size() && !next; ++i) {
        const auto candidate = (active_ + i) % accounts_.size();
        if (has_room(candidate, product, m.day)) next = candidate;
    }
    if (!next) return Admission::Exhausted;
    // Every ready device reads the one code on the screen, so the screen may change
    // account only when no device reserved on the current one still has to read it.
    const bool current_still_read = std::any_of(members_.begin(), members_.end(), [&](auto& kv) {
        return kv.second.account == active_ && !kv.second.picked_up;
    });
    if (current_still_read) return Admission::Wait;
    active_ = *next;
    generation_.reset();
    show(generation_);
    if (!reserve(active_, product, m.day)) return Admission::Exhausted;
    m.account = active_;
    members_[slot] = std::move(m);
    return Admission::Admitted;
}

bool QrScheduler::usable(const Generation& g, double now) const {
    return g.devices < options_.max_devices_per_qr &&
           now < g.expires_at - options_.refresh_margin_s / 2;
}

bool QrScheduler::join(const std::string& slot, const std::string& device_id) {
    auto it = members_.find(slot);
    if (it == members_.end()) return false;
    const double now = clock_.now_s();
    if (!generation_ || !usable(*generation_, now)) return false;
    auto& m = it->second;
    m.joined = true;
    m.device_id = device_id;
    if (!device_id.empty()) accounted_.insert(device_id);
    m.tokens.push_back(generation_->token.token);
    ++generation_->devices;
    return true;
}

void QrScheduler::picked_up(const std::string& slot) {
    if (auto it = members_.find(slot); it != members_.end()) it->second.picked_up = true;
}

std::optional<CloudOutcome> QrScheduler::outcome(const std::string& slot) const {
    auto it = members_.find(slot);
    if (it == members_.end()) return std::nullopt;
    return it->second.outcome;
}

void QrScheduler::remove_device(const std::string& slot) {
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account) return;
    accounts_[*it->second.account].cloud->remove_device(it->second.device_id);
}

void QrScheduler::settle(const std::string& slot) {
    auto it = members_.find(slot);
    if (it == members_.end()) return;
    const auto& m = it->second;
    if (m.account) {
        // Ambiguous: the cloud did answer for it, only not recognisably; count it spent.
        const bool spent = m.outcome.has_value() || m.ambiguous;
        const auto id = accounts_[*m.account].store_id;
        store_.settle_quota(kAllAccounts, m.product, m.day, spent);
        store_.settle_quota(id, kAllProducts, m.day, spent);
    }
    members_.erase(it);
}

void QrScheduler::new_generation(double now) {
    Generation g;
    g.id = next_generation_id_++;
    g.account = active_;
    if (accounts_.empty()) {
        // No cloud: a local token so the devices still see a well-formed code.
        static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        std::uint64_t x = static_cast<std::uint64_t>(clock_.wall_ms()) * 6364136223846793005ULL +
                          static_cast<std::uint64_t>(g.id);
        std::string t;
        for (int i = 0; i < 12; ++i) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            t += kAlphabet[(x >> 33) % 36];
        }
        g.token = {"EU", t.substr(0, 8), t.substr(8, 4), 600};
    } else {
        const auto& a = accounts_[active_];
        g.token = a.cloud->pairing_token(a.uid);
    }
    g.expires_at = now + static_cast<double>(g.token.expire_time_s);
    // Devices that joined but have not read a code yet may read this one.
    for (auto& [slot, m] : members_) {
        if (m.joined && !m.picked_up) {
            m.tokens.push_back(g.token.token);
            ++g.devices;
        }
    }
    generation_ = g;
    show(generation_);
}

void QrScheduler::show(const std::optional<Generation>& g) {
    if (!screen_) return;
    if (!g) {
        screen_->show("");
        return;
    }
    screen_->show(payload_of(*g));
}

std::string QrScheduler::payload_of(const Generation& g) const {
    return qr::pairing_payload({wifi_.ssid, wifi_.password, g.token.combined()});
}

void QrScheduler::tick() {
    const double now = clock_.now_s();
    const double dt = last_tick_ < 0 ? 0 : now - last_tick_;
    last_tick_ = now;
    int ready_waiting = 0;
    bool anyone_to_read = false;
    for (const auto& [slot, m] : members_) {
        if (!m.picked_up) anyone_to_read = true;
        if (m.joined && !m.picked_up && !generation_) ++ready_waiting;
    }
    qr_wait_s_ += dt * ready_waiting;

    const bool needs_code = !generation_ || !usable(*generation_, now) ||
                            now >= generation_->expires_at - options_.refresh_margin_s;
    if (anyone_to_read && needs_code && now >= next_token_try_) {
        try {
            new_generation(now);
            last_error_.clear();
        } catch (const cloud::CloudError& e) {
            last_error_ = std::string("pairing token: ") + e.what();
            next_token_try_ = now + options_.token_retry_s;
        }
    }
    if (!anyone_to_read && generation_ && now >= generation_->expires_at) {
        generation_.reset();
        show(generation_);
    }
    if (now >= next_poll_) {
        next_poll_ = now + options_.poll_interval_s;
        poll_cloud();
    }
}

void QrScheduler::poll_cloud() {
    if (accounts_.empty()) return;
    std::map<std::pair<std::size_t, std::string>, std::vector<Member*>> by_token;
    for (auto& [slot, m] : members_) {
        if (!m.joined || m.outcome || !m.account) continue;
        for (const auto& t : m.tokens) by_token[{*m.account, t}].push_back(&m);
    }
    for (auto& [key, members] : by_token) {
        cloud::TokenDevices devices;
        try {
            devices = accounts_[key.first].cloud->token_devices(key.second);
        } catch (const cloud::CloudError& e) {
            last_error_ = std::string("token devices: ") + e.what();
            continue;
        }
        auto answer_for = [&](const std::string& id) -> std::optional<CloudOutcome> {
            for (const auto& d : devices.succeeded) {
                if (d.device_id == id) return CloudOutcome{true, "", ""};
            }
            for (const auto& f : devices.failed) {
                if (f.device_id == id) return CloudOutcome{false, f.code, f.message};
            }
            return std::nullopt;
        };
        std::vector<Member*> unnamed;
        bool named_unanswered = false;
        for (auto* m : members) {
            if (m->outcome) continue;
            if (m->device_id.empty()) {
                unnamed.push_back(m);
            } else {
                m->outcome = answer_for(m->device_id);
                named_unanswered = named_unanswered || !m->outcome;
            }
        }
        // While a named unit on this code has no answer, a device the cloud lists under an
        // id nobody claims may be that unit's (its serial is not its cloud id): naming it
        // by elimination could lend one unit another's success.
        if (unnamed.empty() || named_unanswered) continue;
        // Devices the cloud saw on this code that no unit was loaded or identified as.
        std::set<std::string> strangers;
        for (const auto& d : devices.succeeded) {
            if (!accounted_.count(d.device_id)) strangers.insert(d.device_id);
        }
        for (const auto& f : devices.failed) {
            if (!accounted_.count(f.device_id)) strangers.insert(f.device_id);
        }
        if (strangers.empty()) continue;
        if (unnamed.size() == 1 && strangers.size() == 1) {
            // The only unit without an id on this code, and the only device the cloud saw
            // on it that no other slot holds: it is this one.
            auto* m = unnamed.front();
            m->device_id = *strangers.begin();
            accounted_.insert(m->device_id);
            m->outcome = answer_for(m->device_id);
        } else {
            for (auto* m : unnamed) m->ambiguous = true;
        }
    }
}

std::string QrScheduler::device_id(const std::string& slot) const {
    auto it = members_.find(slot);
    return it == members_.end() ? std::string{} : it->second.device_id;
}

bool QrScheduler::ambiguous(const std::string& slot) const {
    auto it = members_.find(slot);
    return it != members_.end() && it->second.ambiguous;
}

QrView QrScheduler::view() const {
    QrView v;
    v.devices_max = options_.max_devices_per_qr;
    if (!generation_) return v;
    v.active = true;
    v.payload = payload_of(*generation_);
    v.expires_in_s = std::max(0.0, generation_->expires_at - clock_.now_s());
    v.devices_used = generation_->devices;
    v.generation = generation_->id;
    return v;
}

}  // namespace linestation::flow
