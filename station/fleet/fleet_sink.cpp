#include "station/fleet/fleet_sink.hpp"

#include <cstdio>

#include "station/fleet/fleet_schema.hpp"

namespace linestation::fleet {

namespace {
// One statement for the whole batch and the backlog report, so it commits whole or not at
// all in one round trip: the results travel as one jsonb array parameter. The columns are
// what the fleet's reports filter on; the payload keeps everything.
constexpr const char* kDeliver = R"sql(
WITH r AS (SELECT e->>'id' AS result_id, e->'p' AS p FROM jsonb_array_elements($1::jsonb) e),
ins AS (
  INSERT INTO fleet_results(result_id, station_id, unit_id, batch_id, batch_kind, serial,
                            device_id, product_id, slot, attempt, started_ms, ended_ms,
                            verdict, reason, payload)
  SELECT result_id, p->>'station_id', (p->>'unit_id')::bigint, (p->>'batch_id')::bigint,
         p->>'batch_kind', p->>'serial', p->>'device_id', p->>'product_id', p->>'slot',
         (p->>'attempt')::integer, (p->>'started_ms')::bigint,
         coalesce((p->>'ended_ms')::bigint, (p->>'started_ms')::bigint), p->>'verdict',
         p->>'reason', p
  FROM r
  ON CONFLICT (result_id) DO NOTHING
  RETURNING station_id),
n AS (
  INSERT INTO fleet_station_units(station_id, units)
  SELECT station_id, count(*) FROM ins GROUP BY station_id
  ON CONFLICT (station_id) DO UPDATE SET units = fleet_station_units.units + excluded.units
  RETURNING 1),
b AS (
  INSERT INTO fleet_backlog(station_id, backlog, oldest_ms, reported_at)
  VALUES ($2, $3::bigint, $4::bigint, now())
  ON CONFLICT (station_id) DO UPDATE
  SET backlog = excluded.backlog, oldest_ms = excluded.oldest_ms, reported_at = now()
  RETURNING 1)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM b), (SELECT count(*) FROM n)
)sql";
}  // namespace

void append_json_string(std::string& out, const std::string& text) {
    out += '"';
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += ch;
        }
    }
    out += '"';
}

PgConnection& FleetConnection::get() {
    if (!conn_ || !conn_->open()) {
        conn_.reset();
        PgConnection c(link_.url, link_.deadlines, "linestation " + link_.station_id);
        ensure_fleet_schema(c);
        conn_.emplace(std::move(c));
    }
    return *conn_;
}

void FleetResultSink::deliver(const std::vector<store::OutboxEntry>& results,
                              const store::OutboxBacklog& backlog_after) {
    std::string batch = "[";
    for (const auto& r : results) {
        if (batch.size() > 1) batch += ',';
        batch += "{\"id\":";
        append_json_string(batch, r.result_id);
        batch += ",\"p\":";
        batch += r.payload;
        batch += '}';
    }
    batch += ']';
    try {
        conn_.get().exec(
            kDeliver, {batch, conn_.link().station_id, std::to_string(backlog_after.count),
                       backlog_after.oldest_ms ? PgParam(std::to_string(*backlog_after.oldest_ms))
                                               : PgParam()});
    } catch (const PgError&) {
        // Whatever the server made of it, this connection's state is unknown now.
        conn_.drop();
        throw;
    }
}

}  // namespace linestation::fleet
