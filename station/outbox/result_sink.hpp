#pragma once
// Where results go once the station has committed them: the fleet's PostgreSQL, MES
// output. Each sink drains the outbox (station/store) through a Forwarder and
// acknowledges what it took.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "station/store/store.hpp"

namespace linestation::outbox {

// Thrown by a sink that took the first `taken` results of a delivery and not the rest
// (a broker that accepts each message on its own): the forwarder acknowledges those, and
// sends the rest again after its backoff.
class PartialDelivery : public std::runtime_error {
  public:
    PartialDelivery(std::size_t taken, const std::string& what)
        : std::runtime_error(what), taken_(taken) {}
    std::size_t taken() const { return taken_; }

  private:
    std::size_t taken_;
};

class ResultSink {
  public:
    virtual ~ResultSink() = default;
    // The sink's name in the outbox's cursors: stable across restarts.
    virtual std::string name() const = 0;
    // Takes the results for good or throws. A delivery whose acknowledgement was lost
    // (the link broke after the far side committed) is sent again, so taking a result id
    // twice must keep one copy. `backlog_after`: what is left in the outbox behind them.
    virtual void deliver(const std::vector<store::OutboxEntry>& results,
                         const store::OutboxBacklog& backlog_after) = 0;

    // Results of the last delivery that the far side refused for good (result id, reason):
    // counted as taken, and parked in the store by the forwarder. Most sinks have none.
    struct Refusal {
        std::string result_id;
        std::string reason;
    };
    virtual std::vector<Refusal> take_refused() { return {}; }
};

}  // namespace linestation::outbox
