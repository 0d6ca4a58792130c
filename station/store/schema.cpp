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
    // Self-contained (one new table), so it can be renumbered when another migration lands
    // first.
    Migration{6, "verdict evidence", R"sql(
-- The camera's crop of a unit's slot at the moments that decided its verdict (ready seen,
-- green seen, final), with the LED reading then (and, for the final one, the unit's LED
-- timeline). Retention clears `png` (the row stays, so the history says a crop was taken
-- and dropped); the unit and its timeline are never touched.
CREATE TABLE unit_evidence (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    moment      TEXT NOT NULL,
    t_ms        INTEGER NOT NULL,
    led_json    TEXT NOT NULL,
    png         BLOB,
    bytes       INTEGER NOT NULL DEFAULT 0,
    pruned_ms   INTEGER,
    UNIQUE (unit_id, moment)
);
-- What retention reads on every new image, without touching the images themselves.
CREATE INDEX unit_evidence_kept ON unit_evidence(t_ms, bytes) WHERE png IS NOT NULL;
)sql"},
    // Self-contained (two new tables), so it can be renumbered when another migration lands
    // first.
    Migration{7, "fleet quota leases and settlements", R"sql(
-- What this station owes the fleet's central quota, kept across a crash
-- (station/fleet/quota_ledger.hpp): settlements the fleet has not taken yet, and the
-- blocks leased for working offline with what was spent from them.
CREATE TABLE fleet_settlements (
    reservation_id  TEXT PRIMARY KEY,
    spent           INTEGER NOT NULL,
    queued_ms       INTEGER NOT NULL
);
-- confirmed = 0: asked for and not known to be granted (a crash in between); released on
-- the next start, since a reservation that never was is released as a no-op.
CREATE TABLE fleet_leases (
    account         TEXT NOT NULL,
    product         TEXT NOT NULL,
    day             TEXT NOT NULL,
    reservation_id  TEXT NOT NULL UNIQUE,
    n               INTEGER NOT NULL,
    used            INTEGER NOT NULL DEFAULT 0,
    offline_used    INTEGER NOT NULL DEFAULT 0,
    confirmed       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, product, day)
);
)sql"},
    // Self-contained (three new tables), so it can be renumbered when another migration
    // lands first.
    Migration{8, "quota reservations and the cloud journal", R"sql(
-- One row per reservation of the daily unbind quota (quota_usage counts them): which
-- account (cloud_accounts.id), product and day, for which slot, and how it was settled.
-- A restart finds the ones a stop left open here, and what the cloud was shown and sent
-- in the two journals below, written before the code went on screen or the call out.
CREATE TABLE quota_reservations (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL,
    product_id          TEXT NOT NULL,
    day                 TEXT NOT NULL,
    slot                TEXT NOT NULL DEFAULT '',
    opened_ms           INTEGER NOT NULL,
    shared_reservation  TEXT,
    state               TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','spent','returned')),
    device_id           TEXT,
    settled_ms          INTEGER,
    why                 TEXT
);
CREATE INDEX quota_reservations_state ON quota_reservations(state, account_id);
CREATE INDEX quota_reservations_device ON quota_reservations(device_id);
-- Every pairing token put on the QR screen, by account.
CREATE TABLE shown_tokens (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    token       TEXT NOT NULL,
    shown_ms    INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);
CREATE INDEX shown_tokens_account ON shown_tokens(account_id, expires_ms);
-- Every removal call sent for a unit, with the reservation it was made under.
CREATE TABLE removal_calls (
    id              INTEGER PRIMARY KEY,
    reservation_id  INTEGER NOT NULL REFERENCES quota_reservations(id),
    device_id       TEXT NOT NULL,
    sent_ms         INTEGER NOT NULL
);
CREATE INDEX removal_calls_reservation ON removal_calls(reservation_id);
)sql"},
    // Self-contained (the outbox's own tables), so it can be renumbered when another
    // migration lands first.
    Migration{9, "result sinks' errors and parked results", R"sql(
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
    // Self-contained (one new table), so it can be renumbered when another migration lands
    // first.
    Migration{10, "devices left bound to the station's accounts", R"sql(
-- Nothing left bound: a device the cloud has bound to one of the station's accounts (it
-- activated with one of the station's codes) that the station has not removed yet. One row
-- from when the station first found it so until it was removed (removed_ms); found bound
-- again later, it gets a new row. Read at start, so a restart keeps removing them.
CREATE TABLE left_bound (
    id             INTEGER PRIMARY KEY,
    device_id      TEXT NOT NULL,
    account_id     INTEGER NOT NULL,
    token          TEXT,
    unit_id        INTEGER,
    batch_id       INTEGER,
    first_seen_ms  INTEGER NOT NULL,
    removed_ms     INTEGER
);
CREATE UNIQUE INDEX left_bound_open ON left_bound(device_id) WHERE removed_ms IS NULL;
)sql"},
    // Self-contained (one new column), so it can be renumbered when another migration lands
    // first.
    Migration{11, "reservations a clean stop settled without the cloud's last word", R"sql(
-- 1: a clean stop settled it before the cloud could say what became of the unit (a code it
-- may have read in its last moment, an answer that did not come in the stop's 20 s). The
-- next start asks the cloud again once every code shown before the stop has expired, and
-- settles it anew by the answer, which is final then; 0 once it has.
ALTER TABLE quota_reservations ADD COLUMN recheck INTEGER NOT NULL DEFAULT 0;
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
