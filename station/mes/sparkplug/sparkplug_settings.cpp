#include "station/mes/sparkplug/sparkplug_settings.hpp"

namespace linestation::mes::sparkplug {

namespace {

// Sparkplug 3.0.0, "Topic Namespace Elements": group_id, edge_node_id and host ids are
// UTF-8 strings that must not contain the MQTT wildcards or the level separator.
std::string topic_element(const config::JsonNode& node) {
    auto text = node.as_nonempty_string();
    if (text.find_first_of("/+#") != std::string::npos) {
        node.fail("a Sparkplug id without '/', '+' or '#'");
    }
    return text;
}

}  // namespace

SparkplugSettings parse_sparkplug_settings(const config::JsonNode& node) {
    node.allow_only({"url", "group_id", "edge_node_id", "primary_host", "keepalive_s"});
    SparkplugSettings s;
    const auto url = node.at("url");
    s.url = url.as_nonempty_string();
    // The URL reaches the log and error texts, so it may not carry credentials: the
    // message names the field, never the value.
    if (s.url.find('@') != std::string::npos) {
        url.fail_problem("expected tcp://HOST:PORT without credentials");
    }
    // paho's C client (no TLS build linked) takes tcp:// and mqtt://; a port is required so
    // the station never guesses which server it talks to.
    const auto scheme_end = s.url.find("://");
    const auto scheme = scheme_end == std::string::npos ? "" : s.url.substr(0, scheme_end);
    const auto colon = s.url.rfind(':');
    if ((scheme != "tcp" && scheme != "mqtt") || colon == scheme_end || colon + 1 >= s.url.size() ||
        s.url.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
        url.fail("a tcp://HOST:PORT URL");
    }
    s.group_id = topic_element(node.at("group_id"));
    s.edge_node_id = topic_element(node.at("edge_node_id"));
    if (auto host = node.find("primary_host")) s.primary_host = topic_element(*host);
    s.keepalive_s = static_cast<int>(node.int_or("keepalive_s", s.keepalive_s, 1, 3600));
    return s;
}

}  // namespace linestation::mes::sparkplug
