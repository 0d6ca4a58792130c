#pragma once
// The IPC-CFX result sink: each result of the outbox as one UnitsTested message over AMQP
// 1.0 (qpid-proton's C++ binding), sent durable and unsettled; a result counts as taken
// only once the broker settled its transfer as accepted. Released, modified or unsettled
// (the link was lost) transfers are sent again after the forwarder's backoff; a transfer
// the broker rejects is refused for good (a malformed message does not get better by
// resending): it is parked with the broker's reason (its condition's name and description)
// and the sink moves on. So is a result that cannot be read as a UnitsTested at all.
// The link asks for a durable target terminus, so that a broker that makes the queue on
// first use (RabbitMQ's /queue/NAME) makes it durable and what it accepted outlives its
// restart; RabbitMQ refuses the link where a non-durable queue of that name exists
// (amqp:precondition-failed, shown as the sink's last error).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "station/mes/cfx/cfx_settings.hpp"
#include "station/mes/cfx/units_tested.hpp"
#include "station/outbox/result_sink.hpp"

namespace linestation::mes {

struct CfxSinkOptions {
    // A delivery with no progress (no settlement) for this long is given up (a half-open
    // link, a broker that stopped answering): what was accepted counts, the rest is sent
    // again. The connection's heartbeat (AMQP idle-timeout) is as long: a broker silent
    // for this long is given up too.
    std::chrono::milliseconds deadline{10000};
};

class CfxResultSink : public outbox::ResultSink {
  public:
    CfxResultSink(CfxSettings settings, SlotPositions slots, CfxSinkOptions options = {});
    std::string name() const override { return "cfx"; }
    void deliver(const std::vector<store::OutboxEntry>& results,
                 const store::OutboxBacklog& backlog_after) override;
    std::vector<Refusal> take_refused() override;

  private:
    CfxSettings settings_;
    SlotPositions slots_;
    CfxSinkOptions options_;
    outbox::Refusals refused_;  // by the last delivery
};

}  // namespace linestation::mes
