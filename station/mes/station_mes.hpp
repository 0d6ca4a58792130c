#pragma once
// Everything one station runs toward its MES, from its config's "mes" section: one sink
// and one forwarder per configured sink, each draining the outbox on its own thread with
// its own cursor, backoff and last error.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "drivers/core/fixture_config.hpp"
#include "station/mes/cfx/cfx_sink.hpp"
#include "station/mes/mes_settings.hpp"
#include "station/mes/sparkplug/sparkplug_sink.hpp"
#include "station/outbox/forwarder.hpp"

namespace linestation::mes {

// The outbox cursors of the sinks `settings` configures ("cfx", ...).
std::vector<std::string> sink_names(const MesSettings& settings);
// Each slot's UnitPositionNumber: its 1-based place in the fixture.
SlotPositions slot_positions(const config::FixtureConfig& fixture);

class StationMes {
  public:
    StationMes(const MesSettings& settings, const std::filesystem::path& store_file,
               SlotPositions slots, outbox::ForwarderOptions options = {},
               CfxSinkOptions cfx_options = {}, sparkplug::SparkplugOptions sparkplug_options = {});
    ~StationMes();
    StationMes(const StationMes&) = delete;
    StationMes& operator=(const StationMes&) = delete;

    void nudge();
    // Waits until every sink has taken the outbox (true) or the timeout passes.
    bool drain(std::chrono::milliseconds timeout);
    struct Sink {
        std::string name;
        outbox::Forwarder* forwarder;
    };
    std::vector<Sink> sinks() const;
    CfxResultSink* cfx() { return cfx_.get(); }
    sparkplug::StationSparkplug* sparkplug() { return sparkplug_.get(); }

  private:
    std::unique_ptr<CfxResultSink> cfx_;
    std::unique_ptr<outbox::Forwarder> cfx_forwarder_;        // after its sink: stops first
    std::unique_ptr<sparkplug::StationSparkplug> sparkplug_;  // its sink and its forwarder
};

}  // namespace linestation::mes
