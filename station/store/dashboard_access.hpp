#pragma once
// Who may see the dashboard across restarts: login sessions and the QR screens' display
// tokens, kept in the store (migration "dashboard sessions and display tokens"). Neither a
// session id nor a display token is stored, only its SHA-256: a copy of the file opens no
// screen. Every function takes the store's lock.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "station/store/store.hpp"

namespace linestation::store {

struct SessionRecord {
    std::string id_sha256;
    std::string csrf_token;
    std::string login;
    std::string role;
    std::vector<std::string> products;
    std::int64_t created_ms = 0;
    std::int64_t last_seen_ms = 0;
};

void save_session(Store& store, const SessionRecord& session);
void touch_session(Store& store, const std::string& id_sha256, std::int64_t last_seen_ms);
void delete_session(Store& store, const std::string& id_sha256);
void delete_sessions_of(Store& store, const std::string& login);
// Sessions idle since before `idle_before_ms` or made before `made_before_ms` go.
void delete_expired_sessions(Store& store, std::int64_t idle_before_ms,
                             std::int64_t made_before_ms);
std::vector<SessionRecord> sessions(Store& store);

// A QR screen's credential: it reads this station's QR code and nothing else.
struct DisplayTokenRecord {
    std::int64_t id = 0;
    std::string token_sha256;
    std::string station_id;
    std::string label;
    std::string created_by;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> revoked_ms;
};

std::int64_t add_display_token(Store& store, const DisplayTokenRecord& token);
// The token with this hash for this station, unless it was revoked.
std::optional<DisplayTokenRecord> live_display_token(Store& store, const std::string& token_sha256,
                                                     const std::string& station_id);
std::vector<DisplayTokenRecord> display_tokens(Store& store);
// False when there is no such token (or it was already revoked).
bool revoke_display_token(Store& store, std::int64_t id, std::int64_t at_ms);

}  // namespace linestation::store
