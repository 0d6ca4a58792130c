#include "station/store/dashboard_access.hpp"

namespace linestation::store {

namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

DisplayTokenRecord read_token(const Statement& s) {
    return {s.int64(0), s.text(1),  s.text(2),          s.text(3),
            s.text(4),  s.int64(5), s.optional_int64(6)};
}

constexpr const char* kTokenColumns =
    "SELECT id, token_sha256, station_id, label, created_by, created_ms, revoked_ms FROM "
    "display_tokens ";

}  // namespace

void save_session(Store& store, const SessionRecord& session) {
    std::lock_guard lock(store.mutex());
    store.database()
        .prepare(
            "INSERT OR REPLACE INTO sessions(id_sha256, csrf_token, login, role, products, "
            "created_ms, last_seen_ms) VALUES(?, ?, ?, ?, ?, ?, ?)")
        .bind_all(session.id_sha256, session.csrf_token, session.login, session.role,
                  join(session.products), session.created_ms, session.last_seen_ms)
        .run();
}

void touch_session(Store& store, const std::string& id_sha256, std::int64_t last_seen_ms) {
    std::lock_guard lock(store.mutex());
    store.database()
        .prepare("UPDATE sessions SET last_seen_ms = ? WHERE id_sha256 = ?")
        .bind_all(last_seen_ms, id_sha256)
        .run();
}

void delete_session(Store& store, const std::string& id_sha256) {
    std::lock_guard lock(store.mutex());
    store.database().prepare("DELETE FROM sessions WHERE id_sha256 = ?").bind_all(id_sha256).run();
}

void delete_sessions_of(Store& store, const std::string& login) {
    std::lock_guard lock(store.mutex());
    store.database().prepare("DELETE FROM sessions WHERE login = ?").bind_all(login).run();
}

void delete_expired_sessions(Store& store, std::int64_t idle_before_ms,
                             std::int64_t made_before_ms) {
    std::lock_guard lock(store.mutex());
    store.database()
        .prepare("DELETE FROM sessions WHERE last_seen_ms < ? OR created_ms < ?")
        .bind_all(idle_before_ms, made_before_ms)
        .run();
}

std::vector<SessionRecord> sessions(Store& store) {
    std::lock_guard lock(store.mutex());
    auto s = store.database().prepare(
        "SELECT id_sha256, csrf_token, login, role, products, created_ms, last_seen_ms FROM "
        "sessions");
    std::vector<SessionRecord> out;
    while (s.step()) {
        out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), split_product_list(s.text(4)),
                       s.int64(5), s.int64(6)});
    }
    return out;
}

std::int64_t add_display_token(Store& store, const DisplayTokenRecord& token) {
    std::lock_guard lock(store.mutex());
    store.database()
        .prepare(
            "INSERT INTO display_tokens(token_sha256, station_id, label, created_by, created_ms) "
            "VALUES(?, ?, ?, ?, ?)")
        .bind_all(token.token_sha256, token.station_id, token.label, token.created_by,
                  token.created_ms)
        .run();
    return store.database().last_insert_id();
}

std::optional<DisplayTokenRecord> live_display_token(Store& store, const std::string& token_sha256,
                                                     const std::string& station_id) {
    std::lock_guard lock(store.mutex());
    auto s = store.database().prepare(
        std::string(kTokenColumns) +
        "WHERE token_sha256 = ? AND station_id = ? AND revoked_ms IS NULL");
    s.bind_all(token_sha256, station_id);
    if (!s.step()) return std::nullopt;
    return read_token(s);
}

std::vector<DisplayTokenRecord> display_tokens(Store& store) {
    std::lock_guard lock(store.mutex());
    auto s = store.database().prepare(std::string(kTokenColumns) + "ORDER BY id");
    std::vector<DisplayTokenRecord> out;
    while (s.step()) out.push_back(read_token(s));
    return out;
}

bool revoke_display_token(Store& store, std::int64_t id, std::int64_t at_ms) {
    std::lock_guard lock(store.mutex());
    auto& db = store.database();
    db.prepare("UPDATE display_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL")
        .bind_all(at_ms, id)
        .run();
    return db.changes() > 0;
}

}  // namespace linestation::store
