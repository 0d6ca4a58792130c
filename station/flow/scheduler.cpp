#include "station/flow/scheduler.hpp"

#include <algorithm>
#include <cctype>
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
using Lane = CloudCalls::Lane;

std::optional<cloud::CloudFailure> failure_of(const std::exception& e) {
    if (const auto* c = dynamic_cast<const cloud::CloudError*>(&e)) return c->failure();
    return std::nullopt;
}
}  // namespace

std::string reason_for_cloud_code(const std::string& code) {
    namespace pf = cloud::pairing_failure;
    namespace tc = cloud::codes;
    // Tuya documents no list of codes for a device's failed attempt; a failed entry carries
    // codes of the global table: 1106 permission deny, 1010 token is expired, 1101 (a code
    // that served its devices: params range invalid), or the quota refusal.
    if (code == pf::kNoPermission || code == tc::kPermissionDenied) return reason::kNoPermission;
    // A full token is a stale code too: the device retries with a fresh one.
    if (code == pf::kTokenExpired || code == pf::kTokenFull || code == tc::kTokenExpired ||
        code == tc::kTokenRangeInvalid) {
        return reason::kTokenExpired;
    }
    if (code == pf::kQuotaExceeded || code == tc::kQuotaExceeded) return reason::kQuotaExceeded;
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
      options_(options),
      calls_(make_cloud_calls(options.background_cloud)) {
    watch_left_bound();
}

void QrScheduler::watch_left_bound() {
    // Checked at the next tick and removed, as the sweep does for this run's own.
    for (const auto& left : store_.left_bound()) {
        if (auto w = strays_.find(left.device_id); w != strays_.end() && w->second.bound) continue;
        for (std::size_t i = 0; i < accounts_.size(); ++i) {
            if (accounts_[i].store_id != left.account_id || !accounts_[i].cloud) continue;
            watch_device(i, left.device_id, 0, left.token.value_or(""));
            strays_[left.device_id].bound = true;
            // Not a stranger to the next answers that list it: it is watched already.
            strangers_seen_.insert(left.device_id);
        }
    }
}

fleet::QuotaRequest QrScheduler::shared_request(std::size_t account, const std::string& product,
                                                const std::string& day) const {
    const auto& a = accounts_[account];
    // The account's uid is the same on every station that shares it; its store id is not.
    return {a.uid.empty() ? a.name : a.uid, product, day, a.quota_per_account, a.quota_per_product};
}

std::optional<QrScheduler::Reserved> QrScheduler::reserve(std::size_t account,
                                                          const std::string& slot,
                                                          const std::string& product,
                                                          const std::string& day,
                                                          bool& unreachable) {
    const auto& a = accounts_[account];
    const auto id = store_.open_reservation({a.store_id, product, day, slot, clock_.wall_ms(),
                                             a.quota_per_account, a.quota_per_product});
    if (!id) return {};
    if (!options_.shared_quota) return Reserved{*id, "-"};
    const auto grant = options_.shared_quota->reserve(shared_request(account, product, day));
    if (grant.answer == fleet::QuotaAnswer::Granted) {
        store_.set_shared_reservation(*id, grant.reservation_id);
        return Reserved{*id, grant.reservation_id};
    }
    // Not asked yet or not answerable: the unit waits either way.
    unreachable = grant.answer == fleet::QuotaAnswer::Unreachable ||
                  grant.answer == fleet::QuotaAnswer::Pending;
    store_.settle_reservations(
        {{*id, false, std::nullopt,
          unreachable ? "the fleet's quota has not answered" : "the fleet's quota refused it"}},
        clock_.wall_ms());
    return {};
}

bool QrScheduler::has_room(std::size_t account, const std::string& product,
                           const std::string& day) {
    const auto& a = accounts_[account];
    auto p = store_.quota(kAllAccounts, product, day);
    auto all = store_.quota(a.store_id, kAllProducts, day);
    const bool local =
        p.used + p.reserved < a.quota_per_product && all.used + all.reserved < a.quota_per_account;
    if (!local || !options_.shared_quota) return local;
    return options_.shared_quota->has_room(shared_request(account, product, day)).value_or(true);
}

Admission QrScheduler::admit(const std::string& slot, const std::string& product) {
    // Stopping: nothing new is reserved (the stop would have to settle it too).
    if (stopping_) return Admission::Wait;
    Member m;
    m.product = product;
    m.day = options_.quota_day ? options_.quota_day(clock_.wall_ms()) : utc_day(clock_.wall_ms());
    if (accounts_.empty()) {
        members_[slot] = std::move(m);
        return Admission::Admitted;
    }
    bool unreachable = false;
    if (auto id = reserve(active_, slot, product, m.day, unreachable)) {
        m.account = active_;
        m.reservation = id->id;
        m.shared_reservation = id->shared;
        members_[slot] = std::move(m);
        return Admission::Admitted;
    }
    // The shared quota cannot be asked and this station may not spend alone: the unit
    // waits for the fleet rather than being refused for a quota that may well be left.
    if (unreachable) return Admission::Wait;
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
    update_screen();
    auto id = reserve(active_, slot, product, m.day, unreachable);
    if (!id) return unreachable ? Admission::Wait : Admission::Exhausted;
    m.account = active_;
    m.reservation = id->id;
    m.shared_reservation = id->shared;
    members_[slot] = std::move(m);
    return Admission::Admitted;
}

bool QrScheduler::usable(const Generation& g, double now) const {
    return g.devices < options_.max_devices_per_qr &&
           now < g.expires_at - options_.refresh_margin_s / 2;
}

void QrScheduler::take_identity(Member& m, const UnitIdentity& unit) {
    m.joined = true;
    m.label = unit.label;
    m.label_kind = unit.label_kind;
    m.device_id = unit.device_id;
    if (m.device_id.empty() && m.label_kind == config::UnitLabel::DeviceId) m.device_id = m.label;
    if (!m.device_id.empty()) {
        accounted_.insert(m.device_id);
        m.identified_by = "label";
    }
}

bool QrScheduler::join(const std::string& slot, const UnitIdentity& unit) {
    auto it = members_.find(slot);
    if (it == members_.end()) return false;
    const double now = clock_.now_s();
    if (!generation_ || !usable(*generation_, now)) return false;
    auto& m = it->second;
    take_identity(m, unit);
    // Every code the device could have read since its reset, the one on screen last.
    if (unit.reading_since_s >= 0 && m.account) {
        for (const auto& shown : shown_history_) {
            if (shown.account != *m.account || shown.token == generation_->token.token) continue;
            if (shown.until && *shown.until < unit.reading_since_s) continue;
            if (std::find(m.tokens.begin(), m.tokens.end(), shown.token) == m.tokens.end()) {
                m.tokens.push_back(shown.token);
            }
        }
    }
    m.tokens.push_back(generation_->token.token);
    ++generation_->devices;
    update_screen();
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

void QrScheduler::request_removal(const std::string& slot) {
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account) return;
    auto& m = it->second;
    if (m.removal && m.removal->pending) return;
    m.removal = Removal{true, std::nullopt};
    auto* cloud = accounts_[*m.account].cloud;
    const auto device = m.device_id;
    // Journaled before it goes out: after a stop, a removal sent says the cloud had
    // confirmed the activation its reservation paid for.
    store_.journal_removal(m.reservation, device, clock_.wall_ms());
    calls_->submit(Lane::Unit, [this, cloud, device, slot]() -> CloudCalls::Completion {
        std::optional<cloud::CloudError> error;
        try {
            cloud->remove_device(device);
        } catch (const cloud::CloudError& e) {
            error = e;
        } catch (const std::exception& e) {
            error = cloud::CloudError(cloud::CloudFailure::Other, "", e.what());
        }
        return [this, slot, device, error] {
            auto member = members_.find(slot);
            // The slot moved on (aborted, settled): its answer is no one's any more.
            if (member == members_.end() || member->second.device_id != device) return;
            member->second.removal = Removal{false, error};
        };
    });
}

std::optional<std::string> QrScheduler::cloud_problem(const std::string& slot) const {
    auto it = members_.find(slot);
    if (it == members_.end()) return std::nullopt;
    return it->second.cloud_problem;
}

std::optional<QrScheduler::Removal> QrScheduler::removal(const std::string& slot) const {
    auto it = members_.find(slot);
    if (it == members_.end()) return std::nullopt;
    return it->second.removal;
}

void QrScheduler::settle(const std::string& slot) {
    auto it = members_.find(slot);
    if (it == members_.end()) return;
    if (stopping_) {
        // The stop settles it, once the cloud has said what became of the unit.
        it->second.held = true;
        settle_held();
        return;
    }
    settle_member(it->second);
    members_.erase(it);
}

void QrScheduler::settle_member(Member& m, const std::string& why_unknown) {
    if (m.account && m.joined && !m.device_id.empty()) {
        const bool removed = m.removal && !m.removal->pending && !m.removal->error;
        // During a stop, an activated device still on the station's account is looked at
        // (and removed) at once: the stop ends within seconds.
        const bool at_once = stopping_ && m.outcome && m.outcome->succeeded && !removed;
        watch_device(*m.account, m.device_id, at_once ? 0 : options_.stray_first_check_s,
                     token_of(*m.account, m.device_id));
        if (at_once) stop_activated_.emplace(m.device_id, false);
    }
    if (!m.account) return;
    // The cloud counts an unbind when it activates a device another account owned; a
    // refused activation unbinds nothing. Ambiguous: the cloud did answer for it, only
    // not recognisably; count it spent.
    // One whose device had a code and whose last question the cloud could not answer
    // may have activated: spent too (an outage's reservation counts).
    bool spent = (m.outcome && m.outcome->succeeded) || m.ambiguous ||
                 (m.joined && !m.outcome && m.cloud_problem);
    std::optional<std::string> device;
    if (spent && m.outcome && !m.ambiguous && !m.device_id.empty()) device = m.device_id;
    std::string why = "the cloud did not activate it";
    if (m.outcome && m.outcome->succeeded) why = "activated";
    if (m.ambiguous) why = "the cloud answered, not recognisably";
    if (spent && !m.outcome && !m.ambiguous) why = "the cloud could not say: " + *m.cloud_problem;
    if (!why_unknown.empty()) {
        spent = true;
        why = why_unknown;
    }
    // A stop that settles it without the cloud's word on this unit (no outcome: a code it
    // may have read in its last moment, an answer that did not come) settles it for now;
    // the next start asks again once the codes have expired, and settles it by the answer,
    // and the fleet's share with it.
    const bool recheck = stopping_ && m.joined && !m.outcome && !m.ambiguous;
    if (recheck) why += "; asked again at the next start";
    store_.settle_reservations({{m.reservation, spent, device, why, recheck}}, clock_.wall_ms());
    if (options_.shared_quota && m.shared_reservation != "-" && !recheck) {
        options_.shared_quota->settle(m.shared_reservation, spent);
    }
}

void QrScheduler::hold_for_stop() {
    if (stopping_) return;
    stopping_ = true;
    stop_since_ = clock_.now_s();
    update_screen();  // blank: no device reads a code from now on
}

void QrScheduler::may_have_read(const std::string& slot, const UnitIdentity& unit) {
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account || it->second.joined ||
        unit.reading_since_s < 0) {
        return;
    }
    auto& m = it->second;
    for (const auto& shown : shown_history_) {
        if (shown.account != *m.account || (shown.until && *shown.until < unit.reading_since_s)) {
            continue;
        }
        if (std::find(m.tokens.begin(), m.tokens.end(), shown.token) == m.tokens.end()) {
            m.tokens.push_back(shown.token);
        }
    }
    if (m.tokens.empty()) return;
    take_identity(m, unit);
}

void QrScheduler::settle_held() {
    for (auto it = members_.begin(); it != members_.end();) {
        auto& m = it->second;
        bool decided = !m.account || !m.joined || m.outcome || m.ambiguous;
        // Had a code, never read it (its LED stayed ready), and the cloud, asked after the
        // screen went blank, lists nothing for it under any code it may have read: the
        // cloud never saw it, and no code can reach it any more.
        if (!decided && !m.picked_up && !m.cloud_problem) {
            decided = answered_since(it->first, stop_since_ + options_.stop_last_read_s);
        }
        if (!m.held || !decided) {
            ++it;
            continue;
        }
        settle_member(m);
        it = members_.erase(it);
    }
}

bool QrScheduler::stop_settled() const {
    if (!members_.empty()) return false;
    return std::all_of(stop_activated_.begin(), stop_activated_.end(),
                       [](const auto& kv) { return kv.second; });
}

void QrScheduler::end_stop() {
    // Not recorded left bound: the cloud never listed it activated (a device it lists later,
    // under a code it read, is no one's to remove; the stop cannot wait for it).
    for (auto& [slot, m] : members_) {
        settle_member(m, m.picked_up ? "the station stopped before the cloud said what became of "
                                       "the code the unit read: it may have counted it"
                                     : "the station stopped before the cloud answered for the "
                                       "unit: it may have counted it");
    }
    members_.clear();
    // Activated with the station's codes and not removed (or not known to be): recorded,
    // so that the next start removes them.
    for (const auto& [device, looked] : stop_activated_) {
        auto w = strays_.find(device);
        if (looked && (w == strays_.end() || !w->second.bound)) continue;
        const auto account = w == strays_.end() ? std::size_t{0} : w->second.account;
        if (account >= accounts_.size()) continue;
        const auto token = w == strays_.end() ? std::string{} : w->second.token;
        record_left_bound(account, device, token);
    }
}

void QrScheduler::request_generation(double now) {
    if (accounts_.empty()) {
        // No cloud: a local token so the devices still see a well-formed code.
        static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        std::uint64_t x = static_cast<std::uint64_t>(clock_.wall_ms()) * 6364136223846793005ULL +
                          static_cast<std::uint64_t>(next_generation_id_);
        std::string t;
        for (int i = 0; i < 12; ++i) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            t += kAlphabet[(x >> 33) % 36];
        }
        take_generation(active_, {"EU", t.substr(0, 8), t.substr(8, 4), 600}, now);
        return;
    }
    if (token_pending_) return;
    token_pending_ = true;
    const auto account = active_;
    auto* cloud = accounts_[account].cloud;
    const auto uid = accounts_[account].uid;
    calls_->submit(Lane::Unit, [this, cloud, uid, account, now]() -> CloudCalls::Completion {
        try {
            auto token = cloud->pairing_token(uid);
            return [this, account, token, now] {
                token_pending_ = false;
                last_error_.clear();
                last_failure_.reset();
                take_generation(account, token, now);
            };
        } catch (const std::exception& e) {
            const std::string why = std::string("pairing token: ") + e.what();
            return [this, why, failure = failure_of(e)] {
                token_pending_ = false;
                last_error_ = why;
                last_failure_ = failure;
                next_token_try_ = clock_.now_s() + options_.token_retry_s;
            };
        }
    });
}

void QrScheduler::take_generation(std::size_t account, const cloud::PairingToken& token,
                                  double asked_at) {
    // The screen moved to another account while the token was on its way.
    if (account != active_) return;
    Generation g;
    g.id = next_generation_id_++;
    g.account = account;
    g.token = token;
    // Counted from when it was asked for: the cloud's lifetime may have begun then.
    g.expires_at = asked_at + static_cast<double>(g.token.expire_time_s);
    // Devices that joined but have not read a code yet may read this one.
    for (auto& [slot, m] : members_) {
        if (m.joined && !m.picked_up) {
            m.tokens.push_back(g.token.token);
            ++g.devices;
        }
    }
    generation_ = g;
    update_screen();
}

void QrScheduler::update_screen() {
    // Shown while some slot's device still has to read it (resetting devices included, so
    // the code is there the moment one becomes ready), blank as soon as none has: a device
    // that read it, was unbound or removed and rebooted into pairing mode would otherwise
    // read it again and pair to the station's account.
    const bool wanted_by_someone =
        !stopping_ && std::any_of(members_.begin(), members_.end(),
                                  [](const auto& kv) { return !kv.second.picked_up; });
    const std::int64_t wanted = wanted_by_someone && generation_ ? generation_->id : 0;
    if (wanted == shown_) return;
    const double now = clock_.now_s();
    if (!shown_history_.empty() && !shown_history_.back().until) shown_history_.back().until = now;
    std::erase_if(shown_history_, [&](const Shown& h) { return h.until && *h.until < now - 3600; });
    if (wanted) {
        shown_history_.push_back(
            {generation_->account, generation_->token.token, now, {}, generation_->expires_at});
        // Journaled before it goes on screen: after a stop, the cloud is asked what
        // activated with every code the devices may have read.
        if (!accounts_.empty()) {
            const auto wall = clock_.wall_ms();
            store_.journal_shown_token(
                {accounts_[generation_->account].store_id, generation_->token.token, wall,
                 wall + static_cast<std::int64_t>((generation_->expires_at - now) * 1000)});
        }
    }
    shown_ = wanted;
    if (screen_) screen_->show(wanted ? payload_of(*generation_) : std::string{});
}

std::string QrScheduler::payload_of(const Generation& g) const {
    return qr::pairing_payload({wifi_.ssid, wifi_.password, g.token.combined()});
}

void QrScheduler::tick() {
    for (auto& done : calls_->take_completed()) {
        if (done) done();
    }
    const double now = clock_.now_s();
    const double dt = last_tick_ < 0 ? 0 : now - last_tick_;
    last_tick_ = now;
    int ready_waiting = 0;
    bool anyone_to_read = false;
    for (const auto& [slot, m] : members_) {
        // A device still resetting will want a code: fetch it ahead, show it when ready.
        if (!m.picked_up) anyone_to_read = true;
        if (m.joined && !m.picked_up && !shown_) ++ready_waiting;
    }
    qr_wait_s_ += dt * ready_waiting;

    const bool needs_code = !generation_ || !usable(*generation_, now) ||
                            now >= generation_->expires_at - options_.refresh_margin_s;
    if (stopping_) anyone_to_read = false;  // no code is shown during a stop
    if (anyone_to_read && needs_code && now >= next_token_try_) request_generation(now);
    if (!anyone_to_read && generation_ && now >= generation_->expires_at) generation_.reset();
    if (now >= next_poll_) {
        next_poll_ = now + options_.poll_interval_s;
        poll_cloud();
    }
    if (!accounts_.empty()) sweep(now);
    // Inline requests have answered already: take them now, as a synchronous call would.
    for (auto& done : calls_->take_completed()) {
        if (done) done();
    }
    if (stopping_) settle_held();
    update_screen();
}

void QrScheduler::poll_cloud() {
    if (accounts_.empty()) return;
    std::set<std::pair<std::size_t, std::string>> wanted;
    for (auto& [slot, m] : members_) {
        if (!m.joined || m.outcome || !m.account) continue;
        for (const auto& t : m.tokens) wanted.insert({*m.account, t});
    }
    // Every code that was on the screen, until the cloud takes it no longer (and one look
    // after): a device no slot saw ready (a dead LED) may have paired with it unseen, and only
    // its listing there puts it in the sweep.
    const double now = clock_.now_s();
    for (const auto& shown : shown_history_) {
        if (now <= shown.expires_at + 2 * options_.poll_interval_s) {
            wanted.insert({shown.account, shown.token});
        }
    }
    for (const auto& key : wanted) {
        if (!polls_pending_.insert(key).second) continue;  // the last ask is still out
        auto* cloud = accounts_[key.first].cloud;
        calls_->submit(Lane::Unit, [this, cloud, key, now]() -> CloudCalls::Completion {
            try {
                auto devices = cloud->token_devices(key.second);
                return [this, key, devices, now] {
                    polls_pending_.erase(key);
                    answered_asked_at_[key] = now;
                    take_devices(key.first, key.second, devices);
                };
            } catch (const std::exception& e) {
                const std::string why = std::string("token devices: ") + e.what();
                return [this, key, why, failure = failure_of(e)] {
                    polls_pending_.erase(key);
                    last_error_ = why;
                    last_failure_ = failure;
                    for (auto& [slot, m] : members_) {
                        if (m.account == key.first && std::find(m.tokens.begin(), m.tokens.end(),
                                                                key.second) != m.tokens.end()) {
                            m.cloud_problem = why;
                        }
                    }
                };
            }
        });
    }
}

namespace {
std::string folded(const std::string& text, bool mac) {
    std::string out;
    for (char c : text) {
        if (mac && (c == ':' || c == '-' || c == '.')) continue;
        if (c == ' ') continue;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}
}  // namespace

int QrScheduler::unresolved_on(std::size_t account) const {
    return static_cast<int>(std::count_if(members_.begin(), members_.end(), [&](const auto& kv) {
        return kv.second.account == account && kv.second.device_id.empty() && !kv.second.outcome;
    }));
}

bool QrScheduler::label_matches(const Member& m, const std::string& device_id) const {
    auto it = factory_.find(device_id);
    if (it == factory_.end() || m.label.empty()) return false;
    const auto& info = it->second;
    switch (m.label_kind) {
        case config::UnitLabel::Uuid:
            return !info.uuid.empty() && folded(info.uuid, false) == folded(m.label, false);
        case config::UnitLabel::Sn:
            return !info.sn.empty() && folded(info.sn, false) == folded(m.label, false);
        case config::UnitLabel::Mac:
            return !info.mac.empty() && folded(info.mac, true) == folded(m.label, true);
        case config::UnitLabel::DeviceId:
            return false;
    }
    return false;
}

void QrScheduler::ask_factory_infos(std::size_t account, const cloud::TokenDevices& devices) {
    std::vector<std::string> unknown;
    auto want = [&](const std::string& id) {
        if (!id.empty() && !factory_.count(id) && factory_asked_.insert(id).second) {
            unknown.push_back(id);
        }
    };
    for (const auto& d : devices.succeeded) want(d.device_id);
    for (const auto& f : devices.failed) want(f.device_id);
    if (unknown.empty()) return;
    auto* cloud = accounts_[account].cloud;
    calls_->submit(Lane::Unit, [this, cloud, unknown]() -> CloudCalls::Completion {
        try {
            auto infos = cloud->factory_infos(unknown);
            return [this, infos, unknown] {
                for (const auto& i : infos) factory_[i.device_id] = i;
                // Asked for and not given: a device this account may not see (another
                // product's, or another owner's).
                for (const auto& id : unknown) {
                    if (!factory_.count(id)) factory_refused_.insert(id);
                }
                // Match again every answer kept, now that labels can be told.
                const auto kept = last_devices_;
                for (const auto& [key, answer] : kept) take_devices(key.first, key.second, answer);
            };
        } catch (const std::exception& e) {
            const std::string why = std::string("factory infos: ") + e.what();
            return [this, unknown, why, failure = failure_of(e)] {
                last_error_ = why;
                last_failure_ = failure;
                for (const auto& id : unknown) factory_asked_.erase(id);  // ask again
            };
        }
    });
}

void QrScheduler::take_devices(std::size_t account, const std::string& token,
                               const cloud::TokenDevices& devices) {
    last_devices_[{account, token}] = devices;
    // A device that activated with this code and that no unit in a slot is, or was: check
    // it at once (a unit the operator never loaded, one from a slot that gave up on it).
    for (const auto& d : devices.succeeded) {
        if (!d.device_id.empty() && !accounted_.count(d.device_id) &&
            strangers_seen_.insert(d.device_id).second) {
            watch_device(account, d.device_id, 0, token);
        }
    }
    bool labels_to_match = false;
    std::vector<Member*> members;
    for (auto& [slot, m] : members_) {
        if (!m.joined || m.outcome || m.account != account) continue;
        if (std::find(m.tokens.begin(), m.tokens.end(), token) != m.tokens.end()) {
            m.cloud_problem.reset();
            members.push_back(&m);
        }
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
    // A unit known by its uuid, sn or MAC: the device the cloud lists whose factory
    // information carries that label is this unit.
    for (auto* m : members) {
        if (!m->device_id.empty() || m->label.empty() ||
            m->label_kind == config::UnitLabel::DeviceId) {
            continue;
        }
        labels_to_match = true;
        auto match = [&](const std::string& id) {
            if (m->device_id.empty() && label_matches(*m, id)) {
                m->device_id = id;
                m->identified_by = "factory-infos " + config::to_string(m->label_kind);
                accounted_.insert(id);
            }
        };
        for (const auto& d : devices.succeeded) match(d.device_id);
        for (const auto& f : devices.failed) match(f.device_id);
    }
    if (labels_to_match) ask_factory_infos(account, devices);
    // One labelled unit left on this code, and one device the cloud refused it on whose
    // factory information this account may not see (no permission for its product): that
    // refusal is this unit's. Only a refusal: a success needs the label's match.
    {
        std::vector<Member*> unmatched;
        for (auto* m : members) {
            if (m->device_id.empty() && !m->label.empty() && !m->outcome) unmatched.push_back(m);
        }
        std::vector<std::string> unseen;
        for (const auto& f : devices.failed) {
            if (!accounted_.count(f.device_id) && factory_refused_.count(f.device_id)) {
                unseen.push_back(f.device_id);
            }
        }
        bool unknown_left = false;  // a listed device whose information has not come yet
        for (const auto& d : devices.succeeded) {
            unknown_left |= !accounted_.count(d.device_id) && !factory_.count(d.device_id);
        }
        if (unmatched.size() == 1 && unseen.size() == 1 && !unknown_left &&
            unresolved_on(account) == 1) {
            auto* m = unmatched.front();
            m->device_id = unseen.front();
            m->identified_by = "elimination (no factory information for it)";
            accounted_.insert(m->device_id);
        }
    }
    std::vector<Member*> unnamed;
    bool named_unanswered = false;
    for (auto* m : members) {
        if (m->outcome) continue;
        if (m->device_id.empty() && !m->label.empty()) {
            // Labelled, not matched yet: an id nobody claims may be this unit's.
            named_unanswered = true;
        } else if (m->device_id.empty()) {
            unnamed.push_back(m);
        } else {
            m->outcome = answer_for(m->device_id);
            named_unanswered = named_unanswered || !m->outcome;
        }
    }
    // While a named unit on this code has no answer, a device the cloud lists under an
    // id nobody claims may be that unit's (its serial is not its cloud id): naming it
    // by elimination could lend one unit another's success.
    if (unnamed.empty() || named_unanswered) return;
    // Devices the cloud saw on this code that no unit was loaded or identified as.
    std::set<std::string> strangers;
    for (const auto& d : devices.succeeded) {
        if (!accounted_.count(d.device_id)) strangers.insert(d.device_id);
    }
    for (const auto& f : devices.failed) {
        if (!accounted_.count(f.device_id)) strangers.insert(f.device_id);
    }
    if (strangers.empty()) return;
    // Every unit of this account still unknown counts, joined or not: a device may read the
    // code before the station has seen it ready.
    if (unnamed.size() == 1 && strangers.size() == 1 && unresolved_on(account) == 1) {
        // The only unit without an id on this code, and the only device the cloud saw
        // on it that no other slot holds: it is this one.
        auto* m = unnamed.front();
        m->device_id = *strangers.begin();
        m->identified_by = "elimination";
        accounted_.insert(m->device_id);
        m->outcome = answer_for(m->device_id);
    } else {
        for (auto* m : unnamed) m->ambiguous = true;
    }
}

std::string QrScheduler::device_id(const std::string& slot) const {
    auto it = members_.find(slot);
    return it == members_.end() ? std::string{} : it->second.device_id;
}

void QrScheduler::record_left_bound(std::size_t account, const std::string& device_id,
                                    const std::string& token) {
    store::LeftBoundRecord r;
    r.device_id = device_id;
    r.account_id = accounts_[account].store_id;
    if (!token.empty()) r.token = token;
    r.first_seen_ms = clock_.wall_ms();
    store_.record_left_bound(r);
}

std::string QrScheduler::token_of(std::size_t account, const std::string& device_id) const {
    for (const auto& [key, devices] : last_devices_) {
        if (key.first != account) continue;
        for (const auto& d : devices.succeeded) {
            if (d.device_id == device_id) return key.second;
        }
    }
    return {};
}

void QrScheduler::watch_device(std::size_t account, const std::string& device_id,
                               double first_check_in, std::string token) {
    const double now = clock_.now_s();
    auto& w = strays_[device_id];
    w.account = account;
    if (!token.empty()) w.token = std::move(token);
    w.interval = std::max(first_check_in, 1.0);
    if (!w.pending) w.next_check = now + first_check_in;
    w.watch_until = std::max(w.watch_until, now + options_.stray_watch_s);
}

int QrScheduler::left_bound() const {
    return static_cast<int>(std::count_if(strays_.begin(), strays_.end(),
                                          [](const auto& kv) { return kv.second.bound; }));
}

void QrScheduler::sweep_now() {
    const double now = clock_.now_s();
    for (auto& [id, w] : strays_) w.next_check = std::min(w.next_check, now);
}

void QrScheduler::sweep(double now) {
    for (auto it = strays_.begin(); it != strays_.end();) {
        // Named, not bound: clang 14 cannot capture a structured binding in a lambda.
        const std::string& id = it->first;
        auto& w = it->second;
        // A slot holds it (a re-test), or may (a unit known by its label, whose match waits
        // for this device's factory information): its flow removes it, not the sweep.
        const bool claimed = std::any_of(members_.begin(), members_.end(), [&](const auto& kv) {
            const auto& m = kv.second;
            if (m.device_id == id) return true;
            if (!m.joined || !m.device_id.empty() || m.label.empty()) return false;
            return !factory_.count(id) || label_matches(m, id);
        });
        if (claimed && !factory_.count(id)) {
            // Whose it is waits on its factory information: ask for it (once), or a device
            // that paired unseen (a dead LED) would be claimed by every unit still unmatched.
            cloud::TokenDevices unknown;
            unknown.succeeded.push_back({});
            unknown.succeeded.back().device_id = id;
            ask_factory_infos(w.account, unknown);
        }
        // Not given up while a slot may still claim it: then it is checked again.
        if (!w.pending && !w.bound && !claimed && now > w.watch_until) {
            it = strays_.erase(it);
            continue;
        }
        if (w.pending || claimed || now < w.next_check) {
            ++it;
            continue;
        }
        w.pending = true;
        w.next_check = now + w.interval;
        w.interval *= 2;
        auto* cloud = accounts_[w.account].cloud;
        const auto owner = accounts_[w.account].uid;
        const auto device = id;
        calls_->submit(Lane::Sweep, [this, cloud, owner, device]() -> CloudCalls::Completion {
            // Bound to the station's account? A device the account may not see (another's,
            // or gone) is not.
            bool bound = false;
            bool removed = false;
            std::string problem;
            try {
                bound = cloud->device_details(device).owner == owner;
            } catch (const cloud::CloudError& e) {
                if (e.failure() != cloud::CloudFailure::PermissionDenied &&
                    e.failure() != cloud::CloudFailure::Other) {
                    problem = e.what();
                }
            } catch (const std::exception& e) {
                problem = e.what();
            }
            if (bound) {
                try {
                    cloud->remove_device(device);
                    removed = true;
                } catch (const std::exception& e) {
                    problem = e.what();
                }
            }
            return [this, device, bound, removed, problem] {
                auto watched = strays_.find(device);
                if (watched == strays_.end()) return;
                watched->second.pending = false;
                if (auto a = stop_activated_.find(device); a != stop_activated_.end()) {
                    a->second = true;
                }
                if (!problem.empty()) {
                    last_error_ = "nothing left bound: " + device + ": " + problem;
                    last_failure_.reset();
                    // Unknown: it may still be bound; look again soon, keep watching.
                    if (bound && !watched->second.bound) {
                        // Found on the station's account and not removed: left bound, in the
                        // store (once, until removed), so a restart keeps removing it.
                        record_left_bound(watched->second.account, device, watched->second.token);
                    }
                    watched->second.bound = watched->second.bound || bound;
                    watched->second.watch_until =
                        std::max(watched->second.watch_until, clock_.now_s() + 60);
                    return;
                }
                if (watched->second.bound) {
                    store_.record_left_bound_removed(device, clock_.wall_ms());
                }
                watched->second.bound = false;
                if (removed) {
                    ++strays_removed_;
                    store_.audit(clock_.wall_ms(), "station", "cloud.stray_removed",
                                 "{\"device_id\":\"" + device + "\"}");
                    // Removed, it reboots into pairing mode: watch it a while longer.
                    watched->second.interval = options_.stray_first_check_s;
                    watched->second.next_check = clock_.now_s() + watched->second.interval;
                    watched->second.watch_until = clock_.now_s() + options_.stray_watch_s;
                }
            };
        });
        ++it;
    }
}

std::string QrScheduler::identified_by(const std::string& slot) const {
    auto it = members_.find(slot);
    return it == members_.end() ? std::string{} : it->second.identified_by;
}

void QrScheduler::doubt(const std::string& slot) {
    auto it = members_.find(slot);
    if (it == members_.end() || it->second.identified_by.rfind("elimination", 0) != 0) return;
    auto& m = it->second;
    accounted_.erase(m.device_id);
    m.device_id.clear();
    m.identified_by.clear();
    m.outcome.reset();
}

std::vector<std::string> QrScheduler::unmatched_ids(const std::string& slot,
                                                    bool refused_unseen) const {
    std::vector<std::string> ids;
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account) return ids;
    const auto& m = it->second;
    for (const auto& t : m.tokens) {
        auto d = last_devices_.find({*m.account, t});
        if (d == last_devices_.end()) continue;
        auto add = [&](const std::string& id) {
            if (!accounted_.count(id) && std::find(ids.begin(), ids.end(), id) == ids.end()) {
                ids.push_back(id);
            }
        };
        for (const auto& s : d->second.succeeded) add(s.device_id);
        for (const auto& f : d->second.failed) {
            if (refused_unseen || !factory_refused_.count(f.device_id)) add(f.device_id);
        }
    }
    return ids;
}

std::set<std::string> QrScheduler::unseen_refusals(const std::string& slot) const {
    std::set<std::string> codes;
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account) return codes;
    const auto& m = it->second;
    for (const auto& t : m.tokens) {
        auto d = last_devices_.find({*m.account, t});
        if (d == last_devices_.end()) continue;
        for (const auto& f : d->second.failed) {
            if (!accounted_.count(f.device_id) && factory_refused_.count(f.device_id)) {
                codes.insert(f.code);
            }
        }
    }
    return codes;
}

bool QrScheduler::answered_since(const std::string& slot, double since_s) const {
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account) return true;
    const auto& m = it->second;
    for (const auto& t : m.tokens) {
        auto asked = answered_asked_at_.find({*m.account, t});
        if (asked == answered_asked_at_.end() || asked->second < since_s) return false;
        if (m.label_kind == config::UnitLabel::DeviceId || !m.device_id.empty()) continue;
        // Known by its label: matching it waits on the listed devices' factory information.
        auto d = last_devices_.find({*m.account, t});
        if (d == last_devices_.end()) continue;
        auto awaited = [&](const std::string& id) {
            return !accounted_.count(id) && !factory_.count(id) && !factory_refused_.count(id);
        };
        for (const auto& s : d->second.succeeded) {
            if (awaited(s.device_id)) return false;
        }
        for (const auto& f : d->second.failed) {
            if (awaited(f.device_id)) return false;
        }
    }
    return true;
}

void QrScheduler::claim_unseen_refusal(const std::string& slot, const std::string& code) {
    auto it = members_.find(slot);
    if (it == members_.end() || !it->second.account) return;
    const auto& m = it->second;
    for (const auto& t : m.tokens) {
        auto d = last_devices_.find({*m.account, t});
        if (d == last_devices_.end()) continue;
        for (const auto& f : d->second.failed) {
            if (f.code == code && !accounted_.count(f.device_id) &&
                factory_refused_.count(f.device_id)) {
                accounted_.insert(f.device_id);
                return;
            }
        }
    }
}

bool QrScheduler::ambiguous(const std::string& slot) const {
    auto it = members_.find(slot);
    return it != members_.end() && it->second.ambiguous;
}

QrView QrScheduler::view() const {
    QrView v;
    v.devices_max = options_.max_devices_per_qr;
    if (!generation_ || shown_ != generation_->id) return v;
    v.active = true;
    v.payload = payload_of(*generation_);
    v.expires_in_s = std::max(0.0, generation_->expires_at - clock_.now_s());
    v.devices_used = generation_->devices;
    v.generation = generation_->id;
    return v;
}

}  // namespace linestation::flow
