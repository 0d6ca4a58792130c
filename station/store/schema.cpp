#include "station/store/schema.hpp"

#include <array>

namespace linestation::store {

namespace {
// Times are integer milliseconds since the Unix epoch (UTC), columns named *_ms.
constexpr std::array kMigrations{
    Migration{1, "initial schema", R"sql(
CREATE TABLE stations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE TABLE operators (
    id             INTEGER PRIMARY KEY,
    login          TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('operator','supervisor','admin')),
    products       TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_ms     INTEGER NOT NULL
);
CREATE TABLE cloud_accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    endpoint    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    uid         TEXT NOT NULL,
    relation    TEXT NOT NULL DEFAULT 'owner' CHECK (relation IN ('owner','partner','org')),
    secret_ref  TEXT NOT NULL DEFAULT '',
    created_ms  INTEGER NOT NULL
);
CREATE TABLE products (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    category      TEXT NOT NULL DEFAULT '',
    binding_mode  TEXT NOT NULL CHECK (binding_mode IN ('weak','medium','strong')),
    recipe        TEXT NOT NULL
);
CREATE TABLE batches (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('unbind','pre_activation','wired')),
    recipe            TEXT NOT NULL,
    product_id        TEXT,
    station_id        TEXT NOT NULL,
    operator_login    TEXT,
    cloud_account_id  INTEGER REFERENCES cloud_accounts(id),
    token             TEXT,
    started_ms        INTEGER NOT NULL,
    ended_ms          INTEGER,
    state             TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE units (
    id            INTEGER PRIMARY KEY,
    batch_id      INTEGER REFERENCES batches(id),
    device_id     TEXT,
    serial        TEXT,
    product_id    TEXT,
    station_id    TEXT NOT NULL,
    slot          TEXT NOT NULL,
    attempt       INTEGER NOT NULL DEFAULT 1,
    started_ms    INTEGER NOT NULL,
    ended_ms      INTEGER,
    verdict       TEXT CHECK (verdict IS NULL OR verdict IN ('PASS','FAIL','INCONCLUSIVE','INTERRUPTED')),
    reason        TEXT,
    measurements  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX units_serial ON units(serial);
CREATE INDEX units_device ON units(device_id);
CREATE INDEX units_ended ON units(ended_ms);
CREATE INDEX units_batch ON units(batch_id);
CREATE TABLE unit_events (
    id        INTEGER PRIMARY KEY,
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    t_ms      INTEGER NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('led','actuator','cloud','operator','flow','camera')),
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX unit_events_unit ON unit_events(unit_id, t_ms);
CREATE TABLE quota_usage (
    account_id  INTEGER NOT NULL,
    product_id  TEXT NOT NULL,
    day         TEXT NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    reserved    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, product_id, day)
);
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(at_ms);
)sql"},
    Migration{2, "report indexes", R"sql(
-- Covers the supervisor's range scans by verdict time, so they never touch the table rows.
CREATE INDEX units_report ON units(ended_ms, verdict, reason, product_id, station_id, batch_id,
                                   started_ms, serial, device_id);
CREATE INDEX quota_usage_day ON quota_usage(day, product_id);
)sql"},
    Migration{3, "batch provenance and measurement records", R"sql(
-- What ran a batch: the station software's version and the SHA-256 (hex) of the recipe
-- file's bytes as the station loaded them. NULL for batches recorded before this version.
ALTER TABLE batches ADD COLUMN software_version TEXT;
ALTER TABLE batches ADD COLUMN recipe_sha256 TEXT;
-- One row per measurement of an attempt with the limit it was held to and its own outcome,
-- as OpenHTF records them: PASS within its limits (or set, with none), FAIL outside, UNSET
-- when the flow never measured it. A table, not JSON, so limits can be queried per name.
CREATE TABLE measurements (
    id       INTEGER PRIMARY KEY,
    unit_id  INTEGER NOT NULL REFERENCES units(id),
    name     TEXT NOT NULL,
    value    REAL,
    unit     TEXT NOT NULL DEFAULT '',
    min      REAL,
    max      REAL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('PASS','FAIL','UNSET')),
    UNIQUE (unit_id, name)
);
CREATE INDEX measurements_name ON measurements(name, outcome);
)sql"},
    Migration{4, "result outbox", R"sql(
-- Every finished attempt, written in its verdict's transaction: the one place every result
-- sink (the fleet's PostgreSQL, MES) starts. AUTOINCREMENT: an id is never reused once
-- rows are pruned, so a sink's cursor never skips a new row. result_id is the station's
-- own id for the result, unique across the fleet, so a sink may deliver it twice safely.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id   TEXT NOT NULL UNIQUE,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    created_ms  INTEGER NOT NULL,
    payload     TEXT NOT NULL
);
-- How far each sink has taken the outbox (it acknowledges in order).
CREATE TABLE outbox_cursors (
    sink      TEXT PRIMARY KEY,
    acked_id  INTEGER NOT NULL DEFAULT 0
);
)sql"},
    // Self-contained (two new tables, nothing else touched), so it can be renumbered when
    // another migration lands first.
    Migration{5, "dashboard sessions and display tokens", R"sql(
-- Logins that survive a restart (station/store/dashboard_access.hpp). The cookie's value is
-- never stored, only its SHA-256; the CSRF token is stored as is, since it is no
-- credential without the cookie.
CREATE TABLE sessions (
    id_sha256     TEXT PRIMARY KEY,
    csrf_token    TEXT NOT NULL,
    login         TEXT NOT NULL,
    role          TEXT NOT NULL,
    products      TEXT NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
);
CREATE INDEX sessions_login ON sessions(login);
-- A QR screen's credential, made by an admin: it reads this station's QR and nothing else.
CREATE TABLE display_tokens (
    id            INTEGER PRIMARY KEY,
    token_sha256  TEXT NOT NULL UNIQUE,
    station_id    TEXT NOT NULL,
    label         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    revoked_ms    INTEGER
);
)sql"},
    // Self-contained (the outbox's own tables), so it can be renumbered when another
    // migration lands first.
    Migration{6, "result sinks' errors and parked results", R"sql(
-- Why a sink's last delivery failed (NULL after a good one), for /metrics and /api/health:
-- the forwarders run in the station, the readers anywhere.
ALTER TABLE outbox_cursors ADD COLUMN last_error TEXT;
ALTER TABLE outbox_cursors ADD COLUMN error_ms INTEGER;
-- Results a sink's far side refused for good (a message the MES broker rejects): kept with
-- the reason, and the sink goes on with the next, so one bad result never stops the line's
-- output nor is it retried forever.
CREATE TABLE outbox_parked (
    sink       TEXT NOT NULL,
    result_id  TEXT NOT NULL,
    unit_id    INTEGER NOT NULL,
    parked_ms  INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    PRIMARY KEY (sink, result_id)
);
)sql"},
};
}  // namespace

std::span<const Migration> migrations() {
    return kMigrations;
}

int latest_schema_version() {
    return kMigrations.back().version;
}

}  // namespace linestation::store
