#pragma once
// The fleet's result sink: results from the outbox into PostgreSQL's fleet_results, under
// the station's own result ids (ON CONFLICT DO NOTHING: a COMMIT whose answer was lost in
// an outage may or may not have happened, so a batch may come twice), with the station's
// backlog reported in the same transaction.

#include <optional>
#include <string>

#include "station/fleet/pg.hpp"
#include "station/outbox/result_sink.hpp"

namespace linestation::fleet {

struct FleetLink {
    std::string url;  // postgresql://...; may hold a password: never logged (redact_url)
    std::string station_id;
    PgDeadlines deadlines;
};

// A connection made on first use and again after the link was lost, with the fleet's
// schema ensured on each new one.
class FleetConnection {
  public:
    explicit FleetConnection(FleetLink link) : link_(std::move(link)) {}
    PgConnection& get();
    void drop() { conn_.reset(); }
    const FleetLink& link() const { return link_; }

  private:
    FleetLink link_;
    std::optional<PgConnection> conn_;
};

class FleetResultSink : public outbox::ResultSink {
  public:
    explicit FleetResultSink(FleetLink link) : conn_(std::move(link)) {}
    std::string name() const override { return "fleet"; }
    void deliver(const std::vector<store::OutboxEntry>& results,
                 const store::OutboxBacklog& backlog_after) override;

  private:
    FleetConnection conn_;
};

// Appends `text` as a JSON string literal.
void append_json_string(std::string& out, const std::string& text);

}  // namespace linestation::fleet
