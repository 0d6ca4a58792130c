#include "station/outbox/forwarder.hpp"

#include <algorithm>

namespace linestation::outbox {

void register_sinks(store::Store& store, const std::vector<std::string>& sink_names) {
    for (const auto& name : sink_names) store.acknowledge_outbox(name, 0);
}

Forwarder::Forwarder(const std::filesystem::path& store_file, ResultSink& sink,
                     ForwarderOptions options)
    : store_(store_file), sink_(sink), options_(options) {
    // The sink's cursor exists from the start, so its backlog shows before its first
    // delivery (/metrics lists the sinks by their cursors).
    store_.acknowledge_outbox(sink_.name(), 0);
    thread_ = std::thread([this] { run(); });
}

Forwarder::~Forwarder() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void Forwarder::nudge() {
    {
        std::lock_guard lock(mutex_);
        nudged_ = true;
    }
    wake_.notify_all();
}

ForwarderState Forwarder::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

store::OutboxBacklog Forwarder::backlog() {
    return store_.outbox_backlog(sink_.name());
}

bool Forwarder::drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (backlog().count == 0) {
            // Taken, and the delivery that took it is done with its bookkeeping (state()).
            std::lock_guard lock(mutex_);
            if (!delivering_) return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) return false;
        nudge();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

bool Forwarder::deliver_once() {
    const auto name = sink_.name();
    auto batch = store_.outbox_pending(name, options_.batch);
    if (batch.empty()) return false;
    auto backlog = store_.outbox_backlog(name);
    backlog.count =
        std::max<std::int64_t>(0, backlog.count - static_cast<std::int64_t>(batch.size()));
    // What stays behind this batch starts after its last entry.
    if (backlog.count == 0) {
        backlog.oldest_ms.reset();
    } else {
        auto next = store_.outbox_pending(name, static_cast<int>(batch.size()) + 1);
        if (next.size() > batch.size()) backlog.oldest_ms = next.back().created_ms;
    }
    try {
        sink_.deliver(batch, backlog);
    } catch (const PartialDelivery& partial) {
        park_refused(batch);
        const auto taken = std::min(partial.taken(), batch.size());
        if (taken > 0) {
            store_.acknowledge_outbox(name, batch[taken - 1].id);
            store_.prune_outbox();
            std::lock_guard lock(mutex_);
            state_.delivered += static_cast<std::int64_t>(taken);
        }
        throw;
    } catch (...) {
        // What the sink refused for good stays refused, whatever became of the rest.
        park_refused(batch);
        throw;
    }
    park_refused(batch);
    // A crash here sends the batch again at the next start; the sink keeps one copy.
    store_.acknowledge_outbox(name, batch.back().id);
    // The outbox is a queue, not a second copy of the history.
    store_.prune_outbox();
    record_error("");
    std::lock_guard lock(mutex_);
    state_.delivered += static_cast<std::int64_t>(batch.size());
    state_.sink_reachable = true;
    state_.last_error.clear();
    return true;
}

void Forwarder::park_refused(const std::vector<store::OutboxEntry>& batch) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (const auto& refusal : sink_.take_refused()) {
        const auto entry = std::find_if(batch.begin(), batch.end(), [&](const auto& e) {
            return e.result_id == refusal.result_id;
        });
        if (entry != batch.end()) store_.park_outbox(sink_.name(), *entry, refusal.reason, now_ms);
    }
}

void Forwarder::record_error(const std::string& error) {
    // Written when it changes, not at every retry of a sink that stays away.
    if (error == stored_error_) return;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    try {
        store_.record_sink_error(sink_.name(), error, now_ms);
        stored_error_ = error;
    } catch (const std::exception&) {
        // The store refusing a write (full) shows elsewhere; the delivery goes on.
    }
}

void Forwarder::run() {
    auto backoff = options_.backoff_min;
    for (;;) {
        std::chrono::milliseconds pause = options_.idle_poll;
        {
            std::lock_guard lock(mutex_);
            delivering_ = true;
        }
        try {
            if (deliver_once()) pause = std::chrono::milliseconds(0);
            backoff = options_.backoff_min;
            std::lock_guard lock(mutex_);
            delivering_ = false;
        } catch (const std::exception& e) {
            record_error(e.what());
            std::lock_guard lock(mutex_);
            delivering_ = false;
            ++state_.failures;
            state_.sink_reachable = false;
            state_.last_error = e.what();
            pause = backoff;
            backoff = std::min(backoff * 2, options_.backoff_max);
        }
        std::unique_lock lock(mutex_);
        if (stop_) return;
        if (pause.count() == 0) continue;
        // A nudge wakes an idle forwarder at once, but never cuts a backoff short: a sink
        // that is away is not asked again for every verdict.
        const bool backing_off = !state_.last_error.empty();
        wake_.wait_for(lock, pause, [&] { return stop_ || (nudged_ && !backing_off); });
        nudged_ = false;
        if (stop_) return;
    }
}

}  // namespace linestation::outbox
