#include "station/store/store.hpp"

#include <algorithm>

#include <sstream>

#include "station/store/schema.hpp"

namespace linestation::store {

namespace {

// Writes that may be lost on a power cut without losing a verdict (timeline events, evidence
// images) skip the fsync: FULL again when the scope ends, whether it commits or throws.
class RelaxedSync {
  public:
    explicit RelaxedSync(Database& db) : db_(db) { db_.exec("PRAGMA synchronous=NORMAL"); }
    ~RelaxedSync() {
        try {
            db_.exec("PRAGMA synchronous=FULL");
        } catch (...) {
            // A store that cannot take the pragma fails the next write and says so there.
        }
    }
    RelaxedSync(const RelaxedSync&) = delete;
    RelaxedSync& operator=(const RelaxedSync&) = delete;

  private:
    Database& db_;
};

// Leaves a cached statement reset so it holds no read snapshot between calls.
class Use {
  public:
    explicit Use(Statement& s) : s_(s) {}
    ~Use() { s_.reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    Statement* operator->() { return &s_; }
    Statement& operator*() { return s_; }

  private:
    Statement& s_;
};

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ',';
        out += item;
    }
    return out;
}

int read_user_version(Database& db) {
    auto s = db.prepare("PRAGMA user_version");
    s.step();
    return static_cast<int>(s.int64(0));
}

}  // namespace

std::map<std::string, OutboxBacklog> outbox_backlogs(Database& db) {
    auto s = db.prepare(
        "SELECT c.sink, count(o.id), min(o.created_ms), coalesce(c.last_error, ''), "
        "(SELECT count(*) FROM outbox_parked p WHERE p.sink = c.sink) FROM outbox_cursors c "
        "LEFT JOIN outbox o ON o.id > c.acked_id GROUP BY c.sink ORDER BY c.sink");
    std::map<std::string, OutboxBacklog> out;
    while (s.step()) {
        out[s.text(0)] = {s.int64(1), s.optional_int64(2), s.text(3), s.int64(4)};
    }
    return out;
}

std::vector<std::string> split_product_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

Store::Store(const std::filesystem::path& file, std::optional<int> target_version) : db_(file) {
    // WAL lets the dashboard read while the flows write; FULL makes each commit durable.
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("PRAGMA synchronous=FULL");
    db_.exec("PRAGMA foreign_keys=ON");
    migrate(target_version);
}

void Store::limit_size(std::uint64_t bytes) {
    auto page_size = db_.prepare("PRAGMA page_size");
    page_size.step();
    const auto pages =
        bytes / static_cast<std::uint64_t>(std::max<std::int64_t>(page_size.int64(0), 512));
    // SQLite keeps the count at or above the file's current size by itself.
    db_.exec("PRAGMA max_page_count=" + std::to_string(std::max<std::uint64_t>(pages, 1)));
}

void Store::migrate(std::optional<int> target_version) {
    const int latest = latest_schema_version();
    const int target = target_version.value_or(latest);
    int current = read_user_version(db_);
    if (current > latest) {
        throw SchemaTooNew("store " + db_.path().string() + " has schema version " +
                           std::to_string(current) + ", newer than this station understands (" +
                           std::to_string(latest) + "); upgrade the station software");
    }
    for (const auto& m : migrations()) {
        if (m.version <= current || m.version > target) continue;
        Transaction tx(db_);
        db_.exec(m.sql);
        // PRAGMA takes no bound values; the version is our own integer.
        db_.exec("PRAGMA user_version=" + std::to_string(m.version));
        tx.commit();
        current = m.version;
    }
}

int Store::schema_version() {
    std::lock_guard lock(mutex_);
    return read_user_version(db_);
}

std::string Store::integrity_check() {
    std::lock_guard lock(mutex_);
    auto s = db_.prepare("PRAGMA integrity_check");
    if (!s.step()) return "no answer from integrity_check";
    return s.text(0);
}

bool Store::healthy() {
    try {
        return integrity_check() == "ok";
    } catch (const std::exception&) {
        return false;
    }
}

void Store::upsert_station(const StationRecord& station) {
    std::lock_guard lock(mutex_);
    Use s(
        db_.cached("INSERT INTO stations(id, name, created_ms) VALUES(?, ?, CAST((julianday('now') "
                   "- 2440587.5) * 86400000 AS "
                   "INTEGER)) ON CONFLICT(id) DO UPDATE SET name=excluded.name"));
    s->bind_all(station.id, station.name).run();
}

std::optional<StationRecord> Store::station(const std::string& id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("SELECT id, name FROM stations WHERE id = ?"));
    s->bind_all(id);
    if (!s->step()) return std::nullopt;
    return StationRecord{s->text(0), s->text(1)};
}

std::int64_t Store::add_operator(const OperatorRecord& op) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT INTO operators(login, role, products, password_hash, disabled, created_ms) "
        "VALUES(?, ?, ?, ?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"));
    s->bind_all(op.login, op.role, join(op.products), op.password_hash, op.disabled ? 1 : 0).run();
    return db_.last_insert_id();
}

std::optional<OperatorRecord> Store::find_operator(const std::string& login) {
    std::lock_guard lock(mutex_);
    Use s(
        db_.cached("SELECT id, login, role, products, password_hash, disabled FROM operators WHERE "
                   "login = ?"));
    s->bind_all(login);
    if (!s->step()) return std::nullopt;
    return OperatorRecord{s->int64(0), s->text(1),      s->text(2), split_product_list(s->text(3)),
                          s->text(4),  s->int64(5) != 0};
}

std::vector<OperatorRecord> Store::operators() {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT id, login, role, products, password_hash, disabled FROM operators ORDER BY login"));
    std::vector<OperatorRecord> out;
    while (s->step()) {
        out.push_back({s->int64(0), s->text(1), s->text(2), split_product_list(s->text(3)),
                       s->text(4), s->int64(5) != 0});
    }
    return out;
}

bool Store::disable_operator(const std::string& login) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("UPDATE operators SET disabled = 1 WHERE login = ?"));
    s->bind_all(login).run();
    return db_.changes() > 0;
}

std::int64_t Store::add_cloud_account(const CloudAccountRecord& a) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT INTO cloud_accounts(name, endpoint, client_id, uid, relation, secret_ref, "
        "created_ms) VALUES(?, ?, ?, ?, ?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS "
        "INTEGER))"));
    s->bind_all(a.name, a.endpoint, a.client_id, a.uid, a.relation, a.secret_ref).run();
    return db_.last_insert_id();
}

std::optional<CloudAccountRecord> Store::cloud_account(std::int64_t id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT id, name, endpoint, client_id, uid, relation, secret_ref FROM cloud_accounts "
        "WHERE id = ?"));
    s->bind_all(id);
    if (!s->step()) return std::nullopt;
    return CloudAccountRecord{s->int64(0), s->text(1), s->text(2), s->text(3),
                              s->text(4),  s->text(5), s->text(6)};
}

std::vector<CloudAccountRecord> Store::cloud_accounts() {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT id, name, endpoint, client_id, uid, relation, secret_ref FROM cloud_accounts "
        "ORDER BY id"));
    std::vector<CloudAccountRecord> out;
    while (s->step()) {
        out.push_back(CloudAccountRecord{s->int64(0), s->text(1), s->text(2), s->text(3),
                                         s->text(4), s->text(5), s->text(6)});
    }
    return out;
}

void Store::upsert_product(const ProductRecord& p) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT INTO products(id, name, category, binding_mode, recipe) VALUES(?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET name=excluded.name, category=excluded.category, "
        "binding_mode=excluded.binding_mode, recipe=excluded.recipe"));
    s->bind_all(p.id, p.name, p.category, p.binding_mode, p.recipe).run();
}

std::optional<ProductRecord> Store::product(const std::string& id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("SELECT id, name, category, binding_mode, recipe FROM products WHERE id = ?"));
    s->bind_all(id);
    if (!s->step()) return std::nullopt;
    return ProductRecord{s->text(0), s->text(1), s->text(2), s->text(3), s->text(4)};
}

std::int64_t Store::start_batch(const BatchRecord& b) {
    std::lock_guard lock(mutex_);
    Use s(
        db_.cached("INSERT INTO batches(kind, recipe, product_id, station_id, operator_login, "
                   "cloud_account_id, token, started_ms, state, software_version, recipe_sha256) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s->bind_all(b.kind, b.recipe, b.product_id, b.station_id, b.operator_login, b.cloud_account_id,
                b.token, b.started_ms, b.state, b.software_version, b.recipe_sha256)
        .run();
    return db_.last_insert_id();
}

void Store::end_batch(std::int64_t id, std::int64_t ended_ms, const std::string& state) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("UPDATE batches SET ended_ms = ?, state = ? WHERE id = ?"));
    s->bind_all(ended_ms, state, id).run();
}

std::optional<BatchRecord> Store::batch(std::int64_t id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT id, kind, recipe, product_id, station_id, operator_login, cloud_account_id, token, "
        "started_ms, ended_ms, state, software_version, recipe_sha256 FROM batches WHERE id = ?"));
    s->bind_all(id);
    if (!s->step()) return std::nullopt;
    BatchRecord b;
    b.id = s->int64(0);
    b.kind = s->text(1);
    b.recipe = s->text(2);
    b.product_id = s->optional_text(3);
    b.station_id = s->text(4);
    b.operator_login = s->optional_text(5);
    b.cloud_account_id = s->optional_int64(6);
    b.token = s->optional_text(7);
    b.started_ms = s->int64(8);
    b.ended_ms = s->optional_int64(9);
    b.state = s->text(10);
    b.software_version = s->optional_text(11);
    b.recipe_sha256 = s->optional_text(12);
    return b;
}

std::int64_t Store::begin_unit(const UnitRecord& u, std::vector<UnitEventRecord> first_events) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    Use s(db_.cached(
        "INSERT INTO units(batch_id, device_id, serial, product_id, station_id, slot, attempt, "
        "started_ms, measurements) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s->bind_all(u.batch_id, u.device_id, u.serial, u.product_id, u.station_id, u.slot, u.attempt,
                u.started_ms, u.measurements_json)
        .run();
    const auto id = db_.last_insert_id();
    for (auto& e : first_events) {
        e.unit_id = id;
        insert_event_locked(e);
    }
    tx.commit();
    return id;
}

void Store::insert_event_locked(const UnitEventRecord& e) {
    Use s(db_.cached("INSERT INTO unit_events(unit_id, t_ms, kind, detail) VALUES(?, ?, ?, ?)"));
    s->bind_all(e.unit_id, e.t_ms, e.kind, e.detail_json).run();
}

void Store::finish_unit(std::int64_t id, const std::string& verdict, const std::string& reason,
                        const std::string& measurements_json, std::int64_t ended_ms,
                        const std::vector<MeasurementRecord>& measurements) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    {
        Use s(
            db_.cached("UPDATE units SET verdict = ?, reason = ?, measurements = ?, ended_ms = ? "
                       "WHERE id = ?"));
        s->bind_all(verdict, reason, measurements_json, ended_ms, id).run();
    }
    if (db_.changes() != 1) throw std::runtime_error("finish_unit: no unit " + std::to_string(id));
    for (const auto& m : measurements) {
        Use s(
            db_.cached("INSERT INTO measurements(unit_id, name, value, unit, min, max, outcome) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?)"));
        s->bind_all(id, m.name, m.value, m.unit, m.min, m.max, m.outcome).run();
    }
    insert_outbox_locked(id, ended_ms);
    tx.commit();
}

void Store::insert_outbox_locked(std::int64_t unit_id, std::int64_t created_ms) {
    // Built by SQLite from the committed rows, so the payload is what the store holds.
    // The result id: station, unit and 64 random bits, so a store rebuilt from scratch
    // (unit ids starting over) never reuses one. Text that is not valid JSON (a flow's
    // bug) is carried as a string rather than failing the verdict's transaction.
    Use s(db_.cached(R"sql(
INSERT INTO outbox(result_id, unit_id, created_ms, payload)
SELECT u.station_id || '/' || u.id || '/' || lower(hex(randomblob(8))), u.id, ?2,
  json_object(
    'station_id', u.station_id, 'unit_id', u.id, 'batch_id', u.batch_id,
    'batch_kind', b.kind, 'recipe', b.recipe, 'operator', b.operator_login,
    'software_version', b.software_version, 'recipe_sha256', b.recipe_sha256,
    'device_id', u.device_id, 'serial', u.serial, 'product_id', u.product_id, 'slot', u.slot,
    'attempt', u.attempt, 'started_ms', u.started_ms, 'ended_ms', u.ended_ms,
    'verdict', u.verdict, 'reason', u.reason,
    'measurements', CASE WHEN json_valid(u.measurements) THEN json(u.measurements)
                         ELSE u.measurements END,
    'records', (SELECT json_group_array(json_object('name', m.name, 'value', m.value,
                         'unit', m.unit, 'min', m.min, 'max', m.max, 'outcome', m.outcome))
                FROM (SELECT * FROM measurements WHERE unit_id = u.id ORDER BY id) m),
    'timeline', (SELECT json_group_array(json_object('t_ms', e.t_ms, 'kind', e.kind,
                         'detail', CASE WHEN json_valid(e.detail) THEN json(e.detail)
                                        ELSE e.detail END))
                 FROM (SELECT * FROM unit_events WHERE unit_id = u.id ORDER BY t_ms, id) e))
FROM units u LEFT JOIN batches b ON b.id = u.batch_id WHERE u.id = ?1
)sql"));
    s->bind_all(unit_id, created_ms).run();
}

std::vector<OutboxEntry> Store::outbox_pending(const std::string& sink, int limit) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT id, result_id, unit_id, created_ms, payload FROM outbox WHERE id > "
        "coalesce((SELECT acked_id FROM outbox_cursors WHERE sink = ?), 0) ORDER BY id LIMIT ?"));
    s->bind_all(sink, limit);
    std::vector<OutboxEntry> out;
    while (s->step())
        out.push_back({s->int64(0), s->text(1), s->int64(2), s->int64(3), s->text(4)});
    return out;
}

void Store::acknowledge_outbox(const std::string& sink, std::int64_t up_to_id) {
    std::lock_guard lock(mutex_);
    // Durable like a verdict: a lost acknowledgement only sends the results again (the
    // sink takes them idempotently), but it should not be the common case after a crash.
    Use s(db_.cached(
        "INSERT INTO outbox_cursors(sink, acked_id) VALUES(?1, ?2) ON CONFLICT(sink) DO UPDATE "
        "SET acked_id = max(acked_id, excluded.acked_id)"));
    s->bind_all(sink, up_to_id).run();
}

void Store::record_sink_error(const std::string& sink, const std::string& error,
                              std::int64_t at_ms) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT INTO outbox_cursors(sink, acked_id, last_error, error_ms) VALUES(?1, 0, "
        "nullif(?2, ''), ?3) ON CONFLICT(sink) DO UPDATE SET last_error = excluded.last_error, "
        "error_ms = excluded.error_ms"));
    s->bind_all(sink, error, at_ms).run();
}

void Store::park_outbox(const std::string& sink, const OutboxEntry& entry,
                        const std::string& reason, std::int64_t at_ms) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT OR IGNORE INTO outbox_parked(sink, result_id, unit_id, parked_ms, reason, "
        "payload) VALUES(?, ?, ?, ?, ?, ?)"));
    s->bind_all(sink, entry.result_id, entry.unit_id, at_ms, reason, entry.payload).run();
}

std::vector<ParkedOutboxEntry> Store::outbox_parked(const std::string& sink) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT sink, result_id, unit_id, parked_ms, reason FROM outbox_parked WHERE sink = ? "
        "ORDER BY parked_ms, result_id"));
    s->bind_all(sink);
    std::vector<ParkedOutboxEntry> out;
    while (s->step()) {
        out.push_back({s->text(0), s->text(1), s->int64(2), s->int64(3), s->text(4)});
    }
    return out;
}

std::map<std::string, OutboxBacklog> Store::outbox_backlogs() {
    std::lock_guard lock(mutex_);
    return store::outbox_backlogs(db_);
}

int Store::prune_outbox() {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "DELETE FROM outbox WHERE id <= (SELECT coalesce(min(acked_id), 0) FROM outbox_cursors)"));
    s->run();
    return db_.changes();
}

OutboxBacklog Store::outbox_backlog(const std::string& sink) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT count(*), min(created_ms) FROM outbox WHERE id > coalesce((SELECT acked_id FROM "
        "outbox_cursors WHERE sink = ?), 0)"));
    s->bind_all(sink);
    OutboxBacklog b;
    if (s->step()) {
        b.count = s->int64(0);
        b.oldest_ms = s->optional_int64(1);
    }
    return b;
}

std::vector<MeasurementRecord> Store::measurements(std::int64_t unit_id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT name, value, unit, min, max, outcome FROM measurements WHERE unit_id = ? "
        "ORDER BY id"));
    s->bind_all(unit_id);
    std::vector<MeasurementRecord> out;
    while (s->step()) {
        out.push_back({s->text(0), s->optional_real(1), s->text(2), s->optional_real(3),
                       s->optional_real(4), s->text(5)});
    }
    return out;
}

UnitRecord Store::read_unit(const Statement& s) const {
    UnitRecord u;
    u.id = s.int64(0);
    u.batch_id = s.optional_int64(1);
    u.device_id = s.optional_text(2);
    u.serial = s.optional_text(3);
    u.product_id = s.optional_text(4);
    u.station_id = s.text(5);
    u.slot = s.text(6);
    u.attempt = static_cast<int>(s.int64(7));
    u.started_ms = s.int64(8);
    u.ended_ms = s.optional_int64(9);
    u.verdict = s.optional_text(10);
    u.reason = s.optional_text(11);
    u.measurements_json = s.text(12);
    return u;
}

#define LS_UNIT_COLUMNS                                                                    \
    "id, batch_id, device_id, serial, product_id, station_id, slot, attempt, started_ms, " \
    "ended_ms, verdict, reason, measurements"

std::optional<UnitRecord> Store::unit(std::int64_t id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("SELECT " LS_UNIT_COLUMNS " FROM units WHERE id = ?"));
    s->bind_all(id);
    if (!s->step()) return std::nullopt;
    return read_unit(*s);
}

std::vector<UnitRecord> Store::units_by_serial(const std::string& serial) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("SELECT " LS_UNIT_COLUMNS
                     " FROM units WHERE serial = ? OR device_id = ? ORDER BY started_ms, id"));
    s->bind_all(serial, serial);
    std::vector<UnitRecord> out;
    while (s->step()) out.push_back(read_unit(*s));
    return out;
}

std::int64_t Store::count_units() {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("SELECT count(*) FROM units"));
    s->step();
    return s->int64(0);
}

std::vector<std::int64_t> Store::mark_interrupted(std::int64_t now_ms, const std::string& reason) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    std::vector<std::int64_t> ids;
    {
        Use s(db_.cached("SELECT id FROM units WHERE verdict IS NULL ORDER BY id"));
        while (s->step()) ids.push_back(s->int64(0));
    }
    {
        Use s(db_.cached(
            "UPDATE units SET verdict = 'INTERRUPTED', reason = ?, ended_ms = ? WHERE verdict IS "
            "NULL"));
        s->bind_all(reason, now_ms).run();
    }
    for (const auto id : ids) insert_outbox_locked(id, now_ms);
    tx.commit();
    return ids;
}

std::int64_t Store::add_event(const UnitEventRecord& e) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("INSERT INTO unit_events(unit_id, t_ms, kind, detail) VALUES(?, ?, ?, ?)"));
    s->bind_all(e.unit_id, e.t_ms, e.kind, e.detail_json).run();
    return db_.last_insert_id();
}

void Store::add_events(const std::vector<UnitEventRecord>& events) {
    if (events.empty()) return;
    std::lock_guard lock(mutex_);
    RelaxedSync relaxed(db_);
    Transaction tx(db_);
    for (const auto& e : events) insert_event_locked(e);
    tx.commit();
}

void Store::add_evidence(const EvidenceRecord& e, const EvidenceRetention& retention,
                         std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    RelaxedSync relaxed(db_);
    try {
        Transaction tx(db_);
        // The bytes kept are summed once, then followed: a full store drops one old image
        // per new one, reading the few rows it drops, never all of them (150 000 crops:
        // 1 s for a windowed sum over them, under the line's lock).
        if (!evidence_kept_bytes_) {
            Use s(db_.cached(
                "SELECT COALESCE(SUM(bytes), 0) FROM unit_evidence WHERE png IS NOT NULL"));
            s->step();
            evidence_kept_bytes_ = s->int64(0);
        }
        {
            Use s(db_.cached(
                "SELECT bytes FROM unit_evidence WHERE unit_id = ? AND moment = ? AND png IS NOT "
                "NULL"));
            s->bind_all(e.unit_id, e.moment);
            if (s->step()) *evidence_kept_bytes_ -= s->int64(0);
        }
        {
            Use s(db_.cached(
                "INSERT OR REPLACE INTO unit_evidence(unit_id, moment, t_ms, led_json, png, bytes) "
                "VALUES(?, ?, ?, ?, ?, ?)"));
            s->bind_all(e.unit_id, e.moment, e.t_ms, e.led_json);
            if (e.png.empty())
                s->bind(5, Null{});
            else
                s->bind_blob(5, e.png);
            s->bind(6, static_cast<std::int64_t>(e.png.size())).run();
            *evidence_kept_bytes_ += static_cast<std::int64_t>(e.png.size());
        }
        // Oldest first, past the age or until what is kept fits: the newest goes last.
        std::vector<std::int64_t> dropped;
        {
            Use s(db_.cached(
                "SELECT id, bytes, t_ms FROM unit_evidence WHERE png IS NOT NULL ORDER BY t_ms"));
            const auto max_bytes = static_cast<std::int64_t>(retention.max_bytes);
            while (s->step() && (*evidence_kept_bytes_ > max_bytes ||
                                 s->int64(2) < now_ms - retention.max_age_ms)) {
                dropped.push_back(s->int64(0));
                *evidence_kept_bytes_ -= s->int64(1);
            }
        }
        for (auto id : dropped) {
            Use s(db_.cached("UPDATE unit_evidence SET png = NULL, pruned_ms = ? WHERE id = ?"));
            s->bind_all(now_ms, id).run();
        }
        tx.commit();
    } catch (...) {
        evidence_kept_bytes_.reset();  // rolled back: summed again next time
        throw;
    }
}

std::vector<EvidenceRecord> Store::evidence(std::int64_t unit_id, bool with_png) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT moment, t_ms, led_json, png, pruned_ms, bytes FROM unit_evidence WHERE unit_id = ? "
        "ORDER BY CASE moment WHEN 'ready' THEN 0 WHEN 'green' THEN 1 ELSE 2 END, t_ms"));
    s->bind_all(unit_id);
    std::vector<EvidenceRecord> out;
    while (s->step()) {
        EvidenceRecord e{unit_id,
                         s->text(0),
                         s->int64(1),
                         s->text(2),
                         {},
                         s->optional_int64(4),
                         s->is_null(3) ? 0 : s->int64(5)};
        if (with_png) e.png = s->blob(3);
        out.push_back(std::move(e));
    }
    return out;
}

std::uint64_t Store::evidence_bytes() {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("SELECT COALESCE(SUM(bytes), 0) FROM unit_evidence WHERE png IS NOT NULL"));
    s->step();
    return static_cast<std::uint64_t>(s->int64(0));
}

std::vector<UnitEventRecord> Store::events(std::int64_t unit_id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT id, unit_id, t_ms, kind, detail FROM unit_events WHERE unit_id = ? ORDER BY t_ms, "
        "id"));
    s->bind_all(unit_id);
    std::vector<UnitEventRecord> out;
    while (s->step())
        out.push_back({s->int64(0), s->int64(1), s->int64(2), s->text(3), s->text(4)});
    return out;
}

QuotaUsage Store::quota(std::int64_t account_id, const std::string& product_id,
                        const std::string& day) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT used, reserved FROM quota_usage WHERE account_id = ? AND product_id = ? AND day = "
        "?"));
    s->bind_all(account_id, product_id, day);
    if (!s->step()) return {};
    return {static_cast<int>(s->int64(0)), static_cast<int>(s->int64(1))};
}

bool Store::reserve_quota(std::int64_t account_id, const std::string& product_id,
                          const std::string& day, int limit) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    {
        Use s(db_.cached(
            "INSERT INTO quota_usage(account_id, product_id, day) VALUES(?, ?, ?) ON CONFLICT DO "
            "NOTHING"));
        s->bind_all(account_id, product_id, day).run();
    }
    Use s(db_.cached(
        "UPDATE quota_usage SET reserved = reserved + 1 WHERE account_id = ? AND product_id = ? "
        "AND day = ? AND used + reserved < ?"));
    s->bind_all(account_id, product_id, day, limit).run();
    const bool reserved = db_.changes() == 1;
    tx.commit();
    return reserved;
}

void Store::settle_quota(std::int64_t account_id, const std::string& product_id,
                         const std::string& day, bool spent) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "UPDATE quota_usage SET reserved = max(reserved - 1, 0), used = used + ? WHERE account_id "
        "= ? AND product_id = ? AND day = ?"));
    s->bind_all(spent ? 1 : 0, account_id, product_id, day).run();
}

void Store::set_unit_device(std::int64_t unit_id, const std::string& device_id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("UPDATE units SET device_id = ? WHERE id = ?"));
    s->bind_all(device_id, unit_id).run();
}

std::int64_t Store::audit(std::int64_t at_ms, const std::string& actor, const std::string& action,
                          const std::string& detail_json) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("INSERT INTO audit_log(at_ms, actor, action, detail) VALUES(?, ?, ?, ?)"));
    s->bind_all(at_ms, actor, action, detail_json).run();
    return db_.last_insert_id();
}

std::vector<AuditRecord> Store::audit_log(std::int64_t since_ms, int limit) {
    std::lock_guard lock(mutex_);
    Use s(
        db_.cached("SELECT id, at_ms, actor, action, detail FROM audit_log WHERE at_ms >= ? ORDER "
                   "BY at_ms, id "
                   "LIMIT ?"));
    s->bind_all(since_ms, limit);
    std::vector<AuditRecord> out;
    while (s->step()) out.push_back({s->int64(0), s->int64(1), s->text(2), s->text(3), s->text(4)});
    return out;
}

}  // namespace linestation::store

namespace linestation::store {

namespace {
// The quota_usage rows a reservation counts on: the product's (account 0, all accounts)
// and the account's (product "*", all products), as the scheduler keeps them.
constexpr std::int64_t kAllAccounts = 0;
constexpr const char* kAllProducts = "*";
}  // namespace

std::optional<std::int64_t> Store::open_reservation(const ReservationRequest& r) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    auto take = [&](std::int64_t account, const std::string& product, int limit) {
        {
            Use s(db_.cached(
                "INSERT INTO quota_usage(account_id, product_id, day) VALUES(?, ?, ?) ON "
                "CONFLICT DO NOTHING"));
            s->bind_all(account, product, r.day).run();
        }
        Use s(db_.cached(
            "UPDATE quota_usage SET reserved = reserved + 1 WHERE account_id = ? AND product_id "
            "= ? AND day = ? AND used + reserved < ?"));
        s->bind_all(account, product, r.day, limit).run();
        return db_.changes() == 1;
    };
    // Rolled back (the transaction's destructor) when either row is full.
    if (!take(kAllAccounts, r.product_id, r.product_limit)) return std::nullopt;
    if (!take(r.account_id, kAllProducts, r.account_limit)) return std::nullopt;
    {
        Use s(db_.cached(
            "INSERT INTO quota_reservations(account_id, product_id, day, slot, opened_ms) "
            "VALUES(?, ?, ?, ?, ?)"));
        s->bind_all(r.account_id, r.product_id, r.day, r.slot, r.opened_ms).run();
    }
    const auto id = db_.last_insert_id();
    tx.commit();
    return id;
}

void Store::set_shared_reservation(std::int64_t reservation_id, const std::string& shared_id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached("UPDATE quota_reservations SET shared_reservation = ? WHERE id = ?"));
    s->bind_all(shared_id, reservation_id).run();
}

int Store::settle_reservations(const std::vector<Settlement>& settlements, std::int64_t now_ms) {
    if (settlements.empty()) return 0;
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    int settled = 0;
    for (const auto& x : settlements) {
        std::string product, day, state;
        std::int64_t account = 0;
        {
            Use s(db_.cached(
                "SELECT account_id, product_id, day, state FROM quota_reservations WHERE id = ? "
                "AND (state = 'open' OR recheck = 1)"));
            s->bind_all(x.reservation_id);
            if (!s->step()) continue;
            account = s->int64(0);
            product = s->text(1);
            day = s->text(2);
            state = s->text(3);
        }
        {
            Use s(db_.cached(
                "UPDATE quota_reservations SET state = ?, device_id = coalesce(?, device_id), "
                "settled_ms = ?, why = ?, recheck = ? WHERE id = ?"));
            s->bind_all(std::string(x.spent ? "spent" : "returned"), x.device_id, now_ms, x.why,
                        x.recheck ? 1 : 0, x.reservation_id)
                .run();
        }
        // Open: it leaves the reserved count for the used one, or none. Settled before (a
        // recheck): only the used count moves, by what the new answer changed.
        const int reserved_delta = state == "open" ? 1 : 0;
        const int used_delta = (x.spent ? 1 : 0) - (state == "spent" ? 1 : 0);
        for (const auto& [row_account, row_product] :
             {std::pair{kAllAccounts, product}, std::pair{account, std::string(kAllProducts)}}) {
            Use s(db_.cached(
                "UPDATE quota_usage SET reserved = max(reserved - ?, 0), used = max(used + ?, 0) "
                "WHERE account_id = ? AND product_id = ? AND day = ?"));
            s->bind_all(reserved_delta, used_delta, row_account, row_product, day).run();
        }
        ++settled;
    }
    tx.commit();
    return settled;
}

namespace {

// A reservation with what the store knows of its unit: the device of the slot's unit that
// began last before it, and whether a removal went out under it.
constexpr const char* kReservationWithItsUnit = R"sql(
SELECT r.id, r.account_id, r.product_id, r.day, r.slot, r.opened_ms, r.shared_reservation,
  coalesce(r.device_id, (SELECT u.device_id FROM units u WHERE u.slot = r.slot
                          AND u.started_ms <= r.opened_ms ORDER BY u.started_ms DESC, u.id DESC
                          LIMIT 1)),
  EXISTS (SELECT 1 FROM removal_calls c WHERE c.reservation_id = r.id),
  r.recheck, r.state = 'spent'
FROM quota_reservations r )sql";

}  // namespace

std::vector<OpenReservation> Store::open_reservations() {
    return reservations_where("r.state = 'open'");
}

std::vector<OpenReservation> Store::reservations_to_recheck() {
    return reservations_where("r.state != 'open' AND r.recheck = 1");
}

std::vector<OpenReservation> Store::reservations_where(const std::string& condition) {
    std::lock_guard lock(mutex_);
    Use s(
        db_.cached(std::string(kReservationWithItsUnit) + "WHERE " + condition + " ORDER BY r.id"));
    std::vector<OpenReservation> out;
    while (s->step()) {
        out.push_back({s->int64(0), s->int64(1), s->text(2), s->text(3), s->text(4), s->int64(5),
                       s->optional_text(6), s->optional_text(7), s->int64(8) != 0, s->int64(9) != 0,
                       s->int64(10) != 0});
    }
    return out;
}

std::vector<std::string> Store::spent_devices(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT DISTINCT device_id FROM quota_reservations WHERE account_id = ? AND state = "
        "'spent' AND recheck = 0 AND device_id IS NOT NULL"));
    s->bind_all(account_id);
    std::vector<std::string> out;
    while (s->step()) out.push_back(s->text(0));
    return out;
}

int Store::spent_unnamed(std::int64_t account_id, std::int64_t since_ms) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT count(*) FROM quota_reservations WHERE account_id = ? AND state = 'spent' AND "
        "recheck = 0 AND device_id IS NULL AND opened_ms >= ?"));
    s->bind_all(account_id, since_ms);
    return s->step() ? static_cast<int>(s->int64(0)) : 0;
}

int Store::spend_unrecorded_reservations() {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    // What each row counts as reserved beyond the open reservations recorded for it.
    static constexpr const char* kUnrecorded = R"sql(
(q.reserved - (SELECT count(*) FROM quota_reservations r WHERE r.state = 'open'
   AND r.day = q.day AND ((q.account_id = 0 AND r.product_id = q.product_id)
                          OR (q.product_id = '*' AND r.account_id = q.account_id))))
)sql";
    int unrecorded = 0;
    {
        Use s(db_.cached(std::string("SELECT coalesce(sum(max(") + kUnrecorded +
                         ", 0)), 0) FROM quota_usage q WHERE q.account_id = 0"));
        if (s->step()) unrecorded = static_cast<int>(s->int64(0));
    }
    {
        Use s(db_.cached(std::string("UPDATE quota_usage AS q SET used = used + max(") +
                         kUnrecorded + ", 0), reserved = reserved - max(" + kUnrecorded + ", 0)"));
        s->run();
    }
    tx.commit();
    return unrecorded;
}

void Store::journal_shown_token(const ShownToken& t) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT INTO shown_tokens(account_id, token, shown_ms, expires_ms) VALUES(?, ?, ?, ?)"));
    s->bind_all(t.account_id, t.token, t.shown_ms, t.expires_ms).run();
}

std::vector<ShownToken> Store::shown_tokens(std::int64_t account_id, std::int64_t since_ms,
                                            std::int64_t before_ms) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "SELECT account_id, token, min(shown_ms), max(expires_ms) FROM shown_tokens WHERE "
        "account_id = ? AND expires_ms >= ? AND shown_ms < ? GROUP BY account_id, token ORDER "
        "BY min(shown_ms)"));
    s->bind_all(account_id, since_ms, before_ms);
    std::vector<ShownToken> out;
    while (s->step()) out.push_back({s->int64(0), s->text(1), s->int64(2), s->int64(3)});
    return out;
}

bool Store::record_left_bound(const LeftBoundRecord& r) {
    std::lock_guard lock(mutex_);
    // The unit it was, when the caller does not know: the last one the store has with that
    // device id (a unit loaded by its label got its device id once the cloud named it).
    Use s(db_.cached(R"sql(
INSERT INTO left_bound(device_id, account_id, token, unit_id, batch_id, first_seen_ms)
SELECT ?1, ?2, ?3, coalesce(?4, u.id), coalesce(?5, u.batch_id), ?6
FROM (SELECT 1) LEFT JOIN (SELECT id, batch_id FROM units WHERE device_id = ?1
                           ORDER BY started_ms DESC, id DESC LIMIT 1) u
WHERE NOT EXISTS (SELECT 1 FROM left_bound WHERE device_id = ?1 AND removed_ms IS NULL)
)sql"));
    s->bind_all(r.device_id, r.account_id, r.token, r.unit_id, r.batch_id, r.first_seen_ms).run();
    return db_.changes() == 1;
}

bool Store::record_left_bound_removed(const std::string& device_id, std::int64_t removed_ms) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "UPDATE left_bound SET removed_ms = ? WHERE device_id = ? AND removed_ms IS NULL"));
    s->bind_all(removed_ms, device_id).run();
    return db_.changes() == 1;
}

std::vector<LeftBoundRecord> Store::left_bound() {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(R"sql(
SELECT b.id, b.device_id, b.account_id, b.token, b.unit_id, b.batch_id, u.serial,
  b.first_seen_ms, b.removed_ms
FROM left_bound b LEFT JOIN units u ON u.id = b.unit_id
WHERE b.removed_ms IS NULL ORDER BY b.first_seen_ms, b.id
)sql"));
    std::vector<LeftBoundRecord> out;
    while (s->step()) {
        out.push_back({s->int64(0), s->text(1), s->int64(2), s->optional_text(3),
                       s->optional_int64(4), s->optional_int64(5), s->optional_text(6), s->int64(7),
                       s->optional_int64(8)});
    }
    return out;
}

void Store::journal_removal(std::int64_t reservation_id, const std::string& device_id,
                            std::int64_t sent_ms) {
    std::lock_guard lock(mutex_);
    Use s(db_.cached(
        "INSERT INTO removal_calls(reservation_id, device_id, sent_ms) VALUES(?, ?, ?)"));
    s->bind_all(reservation_id, device_id, sent_ms).run();
}

}  // namespace linestation::store
