#pragma once
// The station config's "mes" section: where results go to the factory's MES, one sub-key
// per sink ("cfx": IPC-CFX over AMQP 1.0, "sparkplug": MQTT Sparkplug B), either or both.
// Each sub-key is parsed by its sink's own function, next to the sink.

#include <optional>

#include "station/config/json_reader.hpp"
#include "station/mes/cfx/cfx_settings.hpp"
#include "station/mes/sparkplug/sparkplug_settings.hpp"

namespace linestation::mes {

struct MesSettings {
    std::optional<CfxSettings> cfx;
    std::optional<sparkplug::SparkplugSettings> sparkplug;
    bool empty() const { return !cfx && !sparkplug; }
};

MesSettings parse_mes_settings(const config::JsonNode& mes);

}  // namespace linestation::mes
