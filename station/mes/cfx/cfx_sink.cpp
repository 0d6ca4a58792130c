#include "station/mes/cfx/cfx_sink.hpp"

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery_mode.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/target_options.hpp>
#include <proton/terminus.hpp>
#include <proton/timestamp.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>
// proton's C API, for what its C++ tracker does not tell (the condition of a rejection).
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/disposition.h>

#include <atomic>
#include <future>
#include <map>
#include <utility>

namespace linestation::mes {

namespace {

enum class Outcome { Pending, Accepted, Rejected, Released };

// proton::tracker wraps a pn_delivery_t but keeps it behind internal::object's protected
// pn_object(). A pointer to that member, formed in a class derived from tracker, may be
// applied to any tracker; the tracker itself is never cast to this type.
struct DeliveryOf : proton::tracker {
    using Wrapper = proton::internal::object<pn_delivery_t>;
    static pn_delivery_t* of(const proton::tracker& t) {
        constexpr pn_delivery_t* (Wrapper::*get)() const = &DeliveryOf::pn_object;
        const Wrapper& wrapper = t;
        return (wrapper.*get)();
    }
};

// The broker's own words for a rejection: its error condition's name and description
// ("amqp:decode-error: malformed UnitsTested"), empty when it gave none.
std::string rejection_condition(const proton::tracker& t) {
    pn_delivery_t* delivery = DeliveryOf::of(t);
    pn_disposition_t* remote = delivery ? pn_delivery_remote(delivery) : nullptr;
    pn_condition_t* condition = remote ? pn_disposition_condition(remote) : nullptr;
    if (!condition || !pn_condition_is_set(condition)) return {};
    const char* name = pn_condition_get_name(condition);
    const char* description = pn_condition_get_description(condition);
    std::string out = name ? name : "";
    if (description && *description) out += (out.empty() ? "" : ": ") + std::string(description);
    return out;
}

proton::message amqp_message(const CfxMessage& m, const std::string& handle) {
    // As the CFX SDK frames it (Transport/AmqpUtilities.cs, SetHeaders): the envelope's
    // JSON as a data section, durable, message-id = UniqueID, reply-to = the handle.
    proton::message msg;
    msg.id(proton::message_id(m.unique_id));
    msg.subject(m.subject);
    msg.content_type(kCfxContentType);
    msg.durable(true);
    msg.reply_to(handle);
    msg.creation_time(proton::timestamp(m.event_ms));
    msg.inferred(true);  // binary body -> a data section, not an amqp-value
    msg.body(proton::binary(m.body.begin(), m.body.end()));
    msg.properties().put("cfx-topic", "CFX.Production.TestAndInspection");
    msg.properties().put("cfx-message", kUnitsTested);
    msg.properties().put("cfx-handle", handle);
    return msg;
}

// One connection for one delivery: sends every message as credit allows and waits for
// each transfer's settlement, or for the deadline, or for the link to fail.
class Transfer : public proton::messaging_handler {
  public:
    Transfer(const CfxSettings& settings, std::chrono::milliseconds deadline,
             std::vector<proton::message> messages)
        : settings_(settings),
          deadline_(deadline),
          messages_(std::move(messages)),
          outcomes_(messages_.size(), Outcome::Pending),
          conditions_(messages_.size()) {}

    const std::vector<Outcome>& outcomes() const { return outcomes_; }
    // The broker's condition for each rejected message (empty for the others).
    const std::vector<std::string>& conditions() const { return conditions_; }
    const std::string& error() const { return error_; }

    void on_container_start(proton::container& c) override {
        container_ = &c;
        proton::connection_options options;
        // Heartbeats: a broker that went away without closing is noticed, after as long a
        // silence as the deadline allows a delivery (not sooner: a broker busy writing to
        // its disk for seconds keeps what it took, and a link cut then has the whole batch
        // sent again, as duplicates under the same UniqueIDs).
        options.idle_timeout(proton::duration(deadline_.count()));
        c.connect("amqp://" + settings_.host + ":" + std::to_string(settings_.port), options);
    }
    // Since the last sign of progress; read from the waiting thread.
    std::chrono::milliseconds idle_for() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now().time_since_epoch() -
            std::chrono::steady_clock::duration(progress_.load()));
    }
    // The waiting thread gives up on the transfer (before it stops the container).
    void expire() { expired_ = true; }
    // Called once the container has stopped.
    void gave_up(std::chrono::milliseconds after) {
        if (!expired_ || decided_ == messages_.size()) return;
        // Stopping the container aborts the connection: that is not the cause to report.
        error_ = "no settlement from the broker within " + std::to_string(after.count()) + " ms";
    }
    void on_connection_open(proton::connection& c) override {
        progressed();
        // A durable target terminus: a broker that makes the queue on first use (RabbitMQ's
        // /queue/NAME) makes it durable, so that what it accepted outlives its restart.
        c.open_sender(
            settings_.address,
            proton::sender_options()
                .delivery_mode(proton::delivery_mode::AT_LEAST_ONCE)
                .target(proton::target_options().durability_mode(proton::terminus::CONFIGURATION)));
    }
    void on_sendable(proton::sender& s) override {
        while (s.credit() > 0 && next_ < messages_.size()) {
            index_[s.send(messages_[next_])] = next_;
            ++next_;
        }
    }
    void on_tracker_accept(proton::tracker& t) override { decide(t, Outcome::Accepted); }
    void on_tracker_reject(proton::tracker& t) override {
        if (auto it = index_.find(t); it != index_.end()) {
            conditions_[it->second] = rejection_condition(t);
        }
        decide(t, Outcome::Rejected);
    }
    // Released and modified alike: the broker did not take it, it may later.
    void on_tracker_release(proton::tracker& t) override { decide(t, Outcome::Released); }
    void on_tracker_settle(proton::tracker& t) override { decide(t, Outcome::Released); }

    void on_transport_error(proton::transport& t) override { fail(t.error().what()); }
    void on_connection_error(proton::connection& c) override { fail(c.error().what()); }
    void on_session_error(proton::session& s) override { fail(s.error().what()); }
    void on_sender_error(proton::sender& s) override { fail(s.error().what()); }
    void on_error(const proton::error_condition& e) override { fail(e.what()); }
    void on_connection_close(proton::connection&) override { stop(); }
    void on_transport_close(proton::transport&) override { stop(); }

  private:
    // Only the first word counts: a tracker settled after accept keeps its acceptance.
    void decide(proton::tracker& t, Outcome outcome) {
        auto it = index_.find(t);
        if (it == index_.end()) return;
        const auto i = it->second;
        index_.erase(it);
        progressed();
        outcomes_[i] = outcome;
        if (outcome == Outcome::Released && error_.empty()) {
            error_ = "the broker released a message (not taken, sent again)";
        }
        if (++decided_ == messages_.size()) {
            t.connection().close();
        }
    }
    void progressed() { progress_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
    void fail(const std::string& what) {
        if (error_.empty() || error_.rfind("the broker released", 0) == 0) error_ = what;
        if (what.empty()) error_ = "the link to the broker failed";
        stop();
    }
    void stop() {
        if (stopped_ || !container_) return;
        stopped_ = true;
        container_->stop();
    }

    const CfxSettings& settings_;
    const std::chrono::milliseconds deadline_;
    std::vector<proton::message> messages_;
    std::vector<Outcome> outcomes_;
    std::vector<std::string> conditions_;
    std::map<proton::tracker, std::size_t> index_;
    proton::container* container_ = nullptr;
    std::atomic<std::chrono::steady_clock::rep> progress_{
        std::chrono::steady_clock::now().time_since_epoch().count()};
    std::atomic<bool> expired_{false};
    std::size_t next_ = 0;
    std::size_t decided_ = 0;
    bool stopped_ = false;
    std::string error_;
};

}  // namespace

CfxResultSink::CfxResultSink(CfxSettings settings, SlotPositions slots, CfxSinkOptions options)
    : settings_(std::move(settings)), slots_(std::move(slots)), options_(options) {}

std::vector<outbox::ResultSink::Refusal> CfxResultSink::take_refused() {
    return refused_.take();
}

void CfxResultSink::deliver(const std::vector<store::OutboxEntry>& results,
                            const store::OutboxBacklog&) {
    if (results.empty()) return;
    const auto cfx = outbox::read_or_refuse(results, refused_, [&](const auto& r) {
        return units_tested_message(r, settings_.handle, slots_);
    });
    std::vector<proton::message> messages;
    messages.reserve(results.size());
    for (const auto& m : cfx) {
        if (m) messages.push_back(amqp_message(*m, settings_.handle));
    }
    if (messages.empty()) return;  // every one refused: nothing to send
    Transfer transfer(settings_, options_.deadline, std::move(messages));
    {
        // The container runs on a thread of its own so that the deadline is this thread's
        // to keep: a timer scheduled inside the container holds its run() until it fires,
        // even when the transfer ended long before.
        proton::container container(transfer, "linestation-" + settings_.handle);
        auto running = std::async(std::launch::async, [&container] { container.run(); });
        // The deadline counts from the last sign of progress (connected, a settlement), so a
        // large batch to a slow broker is not cut short while it keeps answering.
        while (running.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
            if (transfer.idle_for() > options_.deadline) {
                transfer.expire();
                container.stop();
                break;
            }
        }
        running.get();
        transfer.gave_up(options_.deadline);
    }
    // Taken: the results, in order, up to the first one the broker did not settle for good
    // (accepted, or rejected and so refused); the unreadable ones are refused already.
    const auto& outcomes = transfer.outcomes();
    std::size_t taken = 0;
    for (std::size_t sent = 0; taken < results.size(); ++taken) {
        if (!cfx[taken]) continue;
        const auto outcome = outcomes[sent];
        if (outcome == Outcome::Accepted) {
            ++sent;
            continue;
        }
        if (outcome != Outcome::Rejected) break;
        const auto& condition = transfer.conditions()[sent];
        refused_.refuse(results[taken].result_id,
                        "UnitsTested " + cfx[taken]->unique_id + " rejected by the broker at " +
                            settings_.url + " (" + settings_.address +
                            "): " + (condition.empty() ? "no condition given" : condition));
        ++sent;
    }
    if (taken == results.size()) return;
    throw outbox::PartialDelivery(
        taken, "cfx: " + std::to_string(results.size() - taken) + " of " +
                   std::to_string(results.size()) + " results not accepted by " + settings_.url +
                   ": " + (transfer.error().empty() ? "unsettled" : transfer.error()));
}

}  // namespace linestation::mes
