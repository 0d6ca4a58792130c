#pragma once
// The station config's "mes": {"sparkplug": {...}} section: where the station publishes its
// verdicts as a Sparkplug B Edge Node.

#include <string>

#include "station/config/json_reader.hpp"

namespace linestation::mes::sparkplug {

struct SparkplugSettings {
    std::string url;           // tcp://HOST:PORT of the MQTT server
    std::string group_id;      // the Sparkplug Group ID (the line, the plant)
    std::string edge_node_id;  // this station's Edge Node ID in the group
    // The Primary Host Application's id: births wait for its STATE online; empty: none.
    std::string primary_host;
    int keepalive_s = 10;  // MQTT keep-alive: how soon the server notices a dead station
};

// Parses the "sparkplug" object (the node at $.mes.sparkplug). Throws config::ConfigError
// naming the file, the field, the value and what was expected.
SparkplugSettings parse_sparkplug_settings(const config::JsonNode& node);

}  // namespace linestation::mes::sparkplug
