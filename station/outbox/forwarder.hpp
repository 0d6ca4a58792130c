#pragma once
// Drains the outbox into one sink on its own thread: in order, in batches, acknowledging
// each batch once the sink has it; while the sink is away, it waits with a growing pause
// (backoff) and the results wait in the station's SQLite, durable. The station never
// waits on a sink.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "station/outbox/result_sink.hpp"
#include "station/store/store.hpp"

namespace linestation::outbox {

struct ForwarderOptions {
    int batch = 500;                           // results per delivery
    std::chrono::milliseconds idle_poll{200};  // with nothing to send, look again after
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{5000};
};

struct ForwarderState {
    std::int64_t delivered = 0;  // results taken by the sink since start
    std::int64_t failures = 0;   // deliveries that failed
    bool sink_reachable = false;
    std::string last_error;  // empty after a good delivery
};

// Creates the cursors of every sink a station runs before any forwarder starts: the outbox
// keeps a result until every cursor has passed it, and a sink whose cursor did not exist yet
// would miss what the first forwarder pruned.
void register_sinks(store::Store& store, const std::vector<std::string>& sink_names);

class Forwarder {
  public:
    // Opens its own connection to the store file (WAL: it reads beside the line's writer).
    Forwarder(const std::filesystem::path& store_file, ResultSink& sink,
              ForwarderOptions options = {});
    ~Forwarder();  // stops the thread; what was not delivered stays in the outbox
    Forwarder(const Forwarder&) = delete;
    Forwarder& operator=(const Forwarder&) = delete;

    // Looks at the outbox now instead of at the next poll (a verdict was just committed).
    void nudge();
    // Waits until the outbox is empty for this sink, or the timeout passes; true if empty.
    bool drain(std::chrono::milliseconds timeout);
    ForwarderState state() const;
    store::OutboxBacklog backlog();

  private:
    void run();
    bool deliver_once();  // false when there was nothing to send
    void park_refused(const std::vector<store::OutboxEntry>& batch);
    void record_error(const std::string& error);

    store::Store store_;
    ResultSink& sink_;
    ForwarderOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    bool nudged_ = false;
    bool delivering_ = false;  // a delivery and its bookkeeping are under way
    ForwarderState state_;
    // The forwarder thread's own: what the store holds (nullopt: not known yet, as at start).
    std::optional<std::string> stored_error_;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace linestation::outbox
