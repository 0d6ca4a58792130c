#pragma once
// Where results go once the station has committed them: the fleet's PostgreSQL, MES
// output. Each sink drains the outbox (station/store) through a Forwarder and
// acknowledges what it took.

#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
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

// What a sink refused for good, kept until the forwarder takes it to park (take_refused):
// every sink parks the same way. deliver() and take_refused() run on the forwarder's
// thread, but a sink may be asked from another (a test, a bench), hence the lock.
class Refusals {
  public:
    void refuse(std::string result_id, std::string reason) {
        std::lock_guard lock(mutex_);
        refused_.push_back({std::move(result_id), std::move(reason)});
    }
    std::vector<ResultSink::Refusal> take() {
        std::lock_guard lock(mutex_);
        return std::exchange(refused_, {});
    }

  private:
    std::mutex mutex_;
    std::vector<ResultSink::Refusal> refused_;
};

// Reads each result of a delivery with the sink's own `read`. A result it cannot read
// (read throws) never will be, however often it is sent: it is refused for good with the
// reader's error as its reason, its place holds nullopt, and the rest of the delivery still
// goes out. A sink that failed every delivery on it would stop its whole backlog behind one
// bad row.
template <class Read>
auto read_or_refuse(const std::vector<store::OutboxEntry>& results, Refusals& refusals,
                    Read&& read) {
    using Read_t = std::decay_t<std::invoke_result_t<Read&, const store::OutboxEntry&>>;
    std::vector<std::optional<Read_t>> out;
    out.reserve(results.size());
    for (const auto& r : results) {
        try {
            out.emplace_back(read(r));
        } catch (const std::exception& e) {
            refusals.refuse(r.result_id, e.what());
            out.emplace_back(std::nullopt);
        }
    }
    return out;
}

}  // namespace linestation::outbox
