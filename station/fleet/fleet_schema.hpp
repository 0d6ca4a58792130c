#pragma once
// The fleet's tables in PostgreSQL: results from every station, the stations' outbox
// backlogs, daily quotas and their reservations. Times from stations are kept as the
// station wrote them (epoch milliseconds, *_ms); times the server sets are timestamptz.

#include "station/fleet/pg.hpp"

namespace linestation::fleet {

// Creates what is missing. Stations starting together serialise on an advisory lock
// (concurrent CREATE ... IF NOT EXISTS can still collide in the catalog).
void ensure_fleet_schema(PgConnection& c);

}  // namespace linestation::fleet
