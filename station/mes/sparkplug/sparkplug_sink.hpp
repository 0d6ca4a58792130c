#pragma once
// The MES's MQTT Sparkplug B sink: the station is an Edge Node, each slot a Device, each
// verdict a DDATA. It keeps its Sparkplug session on its own thread (connect with the NDEATH
// as the Will, wait for the Primary Host's STATE when one is configured, NBIRTH then a
// DBIRTH per slot, a new birth sequence on a Rebirth request), so the session is there
// before the first verdict and answers the host while the line is idle. Results that waited
// in the outbox past a session's start go out with is_historical. A result it cannot read
// is refused for good and parked, as the CFX sink parks one; the rest still go out.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "station/mes/sparkplug/sparkplug_settings.hpp"
#include "station/outbox/forwarder.hpp"
#include "station/outbox/result_sink.hpp"

namespace linestation::mes::sparkplug {

struct SparkplugOptions {
    // Devices born at each session's start (the fixture's slots); a slot first seen in a
    // result is born before its first DDATA.
    std::vector<std::string> slots;
    // How long a delivery waits for a session (connected, host online, births sent) before
    // it fails and the results stay in the outbox.
    std::chrono::milliseconds session_wait{3000};
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{5000};
    // The station's clock (epoch ms), the one its verdicts are stamped with: a result
    // committed before the session's birth by this clock is historical. Empty: the
    // system's clock; a simulated shift passes its virtual one.
    std::function<std::int64_t()> clock_ms;
};

struct SparkplugState {
    bool connected = false;
    bool born = false;         // NBIRTH and DBIRTHs sent in this MQTT session
    bool host_online = false;  // the Primary Host's last valid STATE (true without one)
    std::uint64_t bd_seq = 0;  // of the current (or last) MQTT CONNECT
    int connects = 0;          // MQTT sessions opened since start
    int births = 0;            // birth sequences sent (a Rebirth adds one)
    std::string last_error;
};

class SparkplugSink : public outbox::ResultSink {
  public:
    explicit SparkplugSink(SparkplugSettings settings, SparkplugOptions options = {});
    ~SparkplugSink() override;  // an NDEATH, then DISCONNECT: the host sees the node leave
    SparkplugSink(const SparkplugSink&) = delete;
    SparkplugSink& operator=(const SparkplugSink&) = delete;

    std::string name() const override { return "sparkplug"; }
    void deliver(const std::vector<store::OutboxEntry>& results,
                 const store::OutboxBacklog& backlog_after) override;
    // Results it cannot read (not a station result): parked, never sent.
    std::vector<Refusal> take_refused() override;
    SparkplugState state() const;
    // Waits until the births are out (true) or the timeout passes (false).
    bool wait_for_session(std::chrono::milliseconds timeout) const;

  private:
    struct Session;
    std::unique_ptr<Session> session_;
};

// The sink and the forwarder that drains the outbox into it, as the station runs them.
class StationSparkplug {
  public:
    StationSparkplug(const SparkplugSettings& settings, const std::filesystem::path& store_file,
                     SparkplugOptions options = {});
    outbox::Forwarder& forwarder() { return forwarder_; }
    SparkplugSink& sink() { return sink_; }

  private:
    SparkplugSink sink_;
    outbox::Forwarder forwarder_;  // last: its thread starts once the sink exists
};

}  // namespace linestation::mes::sparkplug
