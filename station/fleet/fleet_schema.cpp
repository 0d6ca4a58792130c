#include "station/fleet/fleet_schema.hpp"

namespace linestation::fleet {

namespace {
// The advisory lock's key: "LSFleet" in ASCII, so no other application's key collides.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(76837610010101)";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS fleet_results (
    result_id     text PRIMARY KEY,
    station_id    text NOT NULL,
    unit_id       bigint NOT NULL,
    batch_id      bigint,
    batch_kind    text,
    serial        text,
    device_id     text,
    product_id    text,
    slot          text NOT NULL,
    attempt       integer NOT NULL,
    started_ms    bigint NOT NULL,
    ended_ms      bigint NOT NULL,
    verdict       text NOT NULL,
    reason        text,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS fleet_results_ended ON fleet_results(ended_ms, station_id, verdict);
CREATE INDEX IF NOT EXISTS fleet_results_station ON fleet_results(station_id, ended_ms);
CREATE INDEX IF NOT EXISTS fleet_results_serial ON fleet_results(serial);
CREATE INDEX IF NOT EXISTS fleet_results_device ON fleet_results(device_id);
-- Results per station, kept by the deliveries themselves (only rows really inserted count,
-- so a batch sent twice counts once): the fleet's summary reads 50 rows, not 5 M.
CREATE TABLE IF NOT EXISTS fleet_station_units (
    station_id  text PRIMARY KEY,
    units       bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS fleet_backlog (
    station_id   text PRIMARY KEY,
    backlog      bigint NOT NULL,
    oldest_ms    bigint,
    reported_at  timestamptz NOT NULL DEFAULT now()
);
-- One row per scope ('account': a cloud account, all its products; 'product': one
-- product, all accounts), id and quota day. used counts every unit granted (held,
-- leased or spent); a reservation given back takes its units off again.
CREATE TABLE IF NOT EXISTS fleet_quota (
    scope  text NOT NULL CHECK (scope IN ('account', 'product')),
    id     text NOT NULL,
    day    text NOT NULL,
    used   integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    cap    integer NOT NULL CHECK (cap > 0),
    PRIMARY KEY (scope, id, day)
);
-- A grant of n units on an account's and a product's rows for one day, under the id the
-- station chose, so a retried reservation finds the first one instead of taking twice.
-- held: the attempt is running; spent: the cloud saw it; released: given back;
-- expired: never settled in time (counted as spent: the cloud may have seen it);
-- a lease ('lease' kind) is a block a station spends offline and settles with `spent`.
CREATE TABLE IF NOT EXISTS fleet_reservations (
    reservation_id  text PRIMARY KEY,
    station_id      text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('unit', 'lease')),
    account         text NOT NULL,
    product         text NOT NULL,
    day             text NOT NULL,
    n               integer NOT NULL CHECK (n > 0),
    spent           integer NOT NULL DEFAULT 0,
    state           text NOT NULL CHECK (state IN ('held', 'spent', 'released', 'expired')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    settled_at      timestamptz
);
CREATE INDEX IF NOT EXISTS fleet_reservations_open ON fleet_reservations(expires_at)
    WHERE state = 'held';
)sql";
}  // namespace

void ensure_fleet_schema(PgConnection& c) {
    // The common case, a fleet already set up, costs one query and takes no lock. The probe
    // names the newest table, so an older fleet gets what it lacks.
    if (c.exec("SELECT to_regclass('fleet_station_units') IS NOT NULL").text(0, 0) == "t") {
        return;
    }
    PgTransaction tx(c);
    c.exec_script(kSchemaLock);
    c.exec_script(kSchema);
    tx.commit();
}

}  // namespace linestation::fleet
