#include "station/flow/ledger_recovery.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "station/cloud/cloud.hpp"

namespace linestation::flow {

namespace {

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out + "\"";
}

}  // namespace

LedgerRecovery::LedgerRecovery(Clock& clock, store::Store& store,
                               std::vector<CloudAccount> accounts, LedgerRecoveryOptions options)
    : clock_(clock),
      store_(store),
      accounts_(std::move(accounts)),
      options_(options),
      calls_(make_cloud_calls(options.background)) {
    recovered_ms_ = clock_.wall_ms();
    if (const int unrecorded = store_.spend_unrecorded_reservations(); unrecorded > 0) {
        store_.audit(recovered_ms_, "station", "quota.recovered",
                     "{\"reservations_spent\":" + std::to_string(unrecorded) +
                         ",\"why\":\"counted with no reservation recorded\"}");
    }
    open_ = store_.open_reservations();
    for (auto& r : store_.reservations_to_recheck()) open_.push_back(std::move(r));
    // Due when the last code that may have been read expires (at once when all have).
    std::map<std::int64_t, std::int64_t> since;  // by account: its first open reservation
    for (const auto& r : open_) {
        auto [it, fresh] = since.emplace(r.account_id, r.opened_ms);
        if (!fresh) it->second = std::min(it->second, r.opened_ms);
    }
    std::int64_t last_expiry_ms = recovered_ms_;
    for (const auto& [account, from] : since) {
        for (const auto& t : store_.shown_tokens(account, from, recovered_ms_)) {
            last_expiry_ms = std::max(last_expiry_ms, t.expires_ms);
        }
    }
    due_s_ = clock_.now_s() + static_cast<double>(last_expiry_ms - recovered_ms_) / 1000.0 +
             options_.expiry_margin_s;
    if (open_.empty()) {
        done_ = true;
    } else if (accounts_.empty()) {
        std::vector<store::Settlement> all;
        for (const auto& r : open_) {
            all.push_back({r.id, true, std::nullopt, "no cloud account is configured to ask"});
        }
        apply(all, {});
    }
}

LedgerRecovery::~LedgerRecovery() = default;

void LedgerRecovery::tick() {
    for (auto& completion : calls_->take_completed()) {
        if (completion) completion();
    }
    if (done_ || asked_ || clock_.now_s() < due_s_) return;
    asked_ = true;
    calls_->submit(CloudCalls::Lane::Unit, [this]() -> CloudCalls::Completion {
        std::map<std::int64_t, std::vector<store::OpenReservation>> by_account;
        for (const auto& r : open_) by_account[r.account_id].push_back(r);
        std::vector<store::Settlement> all;
        std::vector<store::LeftBoundRecord> bound;
        for (const auto& [account, open] : by_account) {
            auto decided = decide(account, open, bound);
            all.insert(all.end(), decided.begin(), decided.end());
        }
        return [this, all, bound] { apply(all, bound); };
    });
    for (auto& completion : calls_->take_completed()) {
        if (completion) completion();
    }
}

std::vector<store::Settlement> LedgerRecovery::decide(
    std::int64_t account_id, const std::vector<store::OpenReservation>& open,
    std::vector<store::LeftBoundRecord>& bound) const {
    std::vector<store::Settlement> out;
    const auto a = std::find_if(accounts_.begin(), accounts_.end(),
                                [&](const CloudAccount& c) { return c.store_id == account_id; });
    if (a == accounts_.end() || !a->cloud) {
        for (const auto& r : open) {
            out.push_back({r.id, true, std::nullopt,
                           "cloud account " + std::to_string(account_id) +
                               " is no longer configured: it cannot be asked"});
        }
        return out;
    }
    std::int64_t since_ms = open.front().opened_ms;
    for (const auto& r : open) since_ms = std::min(since_ms, r.opened_ms);

    // What activated with every code that may have been read since the first of these
    // reservations opened, shown before the stop.
    std::set<std::string> activated;
    std::map<std::string, std::string> token_of;  // the code each activated with
    std::string unanswered;  // why the cloud could not say, for the codes it did not answer
    for (const auto& t : store_.shown_tokens(account_id, since_ms, recovered_ms_)) {
        try {
            for (const auto& d : a->cloud->token_devices(t.token).succeeded) {
                if (d.device_id.empty()) continue;
                activated.insert(d.device_id);
                token_of.emplace(d.device_id, t.token);
            }
        } catch (const std::exception& e) {
            // The token text is no secret without its 4-character secret part.
            unanswered +=
                (unanswered.empty() ? "" : "; ") + std::string("code ") + t.token + ": " + e.what();
        }
    }

    // Nothing left bound: whatever activated with those codes and is on the station's
    // account now (the stop came before the station removed it, or it re-paired after) is
    // recorded left bound, which the line's sweep then removes. One the cloud cannot say
    // about is left to the sweep's own checks of the devices it watches.
    for (const auto& device : activated) {
        try {
            if (a->cloud->device_details(device).owner != a->uid) continue;
        } catch (const std::exception&) {
            continue;
        }
        store::LeftBoundRecord r;
        r.device_id = device;
        r.account_id = account_id;
        r.token = token_of[device];
        r.first_seen_ms = clock_.wall_ms();
        bound.push_back(r);
    }

    std::set<std::string> paid;  // devices whose unbind a settled reservation paid for
    for (const auto& d : store_.spent_devices(account_id)) paid.insert(d);
    std::vector<const store::OpenReservation*> undecided;
    for (const auto& r : open) {
        if (r.removal_sent && r.device_id) {
            // The station removes a unit only after the cloud listed it as activated.
            out.push_back({r.id, true, r.device_id,
                           "a removal was sent: the cloud had confirmed the activation"});
            paid.insert(*r.device_id);
            continue;
        }
        if (r.device_id && activated.count(*r.device_id) && !paid.count(*r.device_id)) {
            out.push_back({r.id, true, r.device_id, "the cloud lists it activated"});
            paid.insert(*r.device_id);
            continue;
        }
        if (r.device_id) {
            // Bound to the station's account since the reservation opened: it activated.
            // One the account may not see is bound to another (its owner's still).
            try {
                const auto details = a->cloud->device_details(*r.device_id);
                if (details.owner == a->uid && !paid.count(*r.device_id)) {
                    out.push_back({r.id, true, r.device_id,
                                   "the cloud has it bound to the station's account"});
                    paid.insert(*r.device_id);
                    continue;
                }
                if (details.owner != a->uid && unanswered.empty()) {
                    out.push_back({r.id, false, std::nullopt,
                                   "the cloud has it bound to " +
                                       std::string(details.owner.empty() ? "nobody" : "another") +
                                       " and lists no activation of it"});
                    continue;
                }
            } catch (const cloud::CloudError& e) {
                if ((e.failure() == cloud::CloudFailure::PermissionDenied ||
                     e.failure() == cloud::CloudFailure::Other) &&
                    unanswered.empty()) {
                    out.push_back({r.id, false, std::nullopt,
                                   "the account may not see it (another's) and the cloud lists "
                                   "no activation of it"});
                    continue;
                }
            } catch (const std::exception&) {
                // Not answered: the codes' answers decide, if there are any.
            }
        }
        undecided.push_back(&r);
    }
    if (!unanswered.empty()) {
        for (const auto* r : undecided) {
            out.push_back({r->id, true, std::nullopt, "the cloud could not say: " + unanswered});
        }
        return out;
    }
    // Activations no settled reservation paid for; one paid for with no device named (the
    // cloud's answer could not be told apart) stands for one of them.
    std::vector<std::string> unpaid;
    for (const auto& d : activated) {
        if (!paid.count(d)) unpaid.push_back(d);
    }
    const int unnamed =
        std::min<int>(store_.spent_unnamed(account_id, since_ms), static_cast<int>(unpaid.size()));
    unpaid.erase(unpaid.end() - unnamed, unpaid.end());
    for (const auto* r : undecided) {
        if (!unpaid.empty()) {
            out.push_back({r->id, true, unpaid.back(),
                           "the cloud lists " + unpaid.back() +
                               " activated on a code shown before the stop, paid by no one"});
            unpaid.pop_back();
        } else {
            out.push_back({r->id, false, std::nullopt,
                           "every activation the cloud lists on the codes shown is paid for"});
        }
    }
    return out;
}

void LedgerRecovery::apply(const std::vector<store::Settlement>& settlements,
                           const std::vector<store::LeftBoundRecord>& bound) {
    const auto now = clock_.wall_ms();
    store_.settle_reservations(settlements, now);
    std::string left;
    for (const auto& r : bound) {
        store_.record_left_bound(r);
        left += (left.empty() ? "" : ",") + quoted(r.device_id);
    }
    left_bound_found_ = left_bound_found_ || !bound.empty();
    int spent = 0, returned = 0;
    std::map<std::int64_t, const store::OpenReservation*> by_id;
    for (const auto& r : open_) by_id[r.id] = &r;
    std::string why;
    for (const auto& s : settlements) {
        (s.spent ? spent : returned) += 1;
        if (!why.empty()) why += ',';
        why += "{\"reservation\":" + std::to_string(s.reservation_id) +
               ",\"spent\":" + (s.spent ? "true" : "false") + ",\"why\":" + quoted(s.why) + "}";
        const auto r = by_id.find(s.reservation_id);
        if (options_.shared_quota && r != by_id.end() && r->second->shared_reservation &&
            *r->second->shared_reservation != "-") {
            try {
                options_.shared_quota->settle(*r->second->shared_reservation, s.spent);
            } catch (const std::exception&) {
                // The fleet expires a held reservation it never hears of again as spent
                // (CentralQuota's sweeper), which is what the cloud's silence calls for.
            }
        }
    }
    store_.audit(now, "station", "quota.recovered",
                 "{\"reservations_spent\":" + std::to_string(spent) +
                     ",\"reservations_returned\":" + std::to_string(returned) + ",\"settled\":[" +
                     why + "],\"left_bound\":[" + left + "]}");
    done_ = true;
}

}  // namespace linestation::flow
