#include "station/service_json.hpp"

#include <Poco/JSON/Object.h>

#include <sstream>

namespace linestation {

namespace {
template <typename T>
void set_optional(Poco::JSON::Object& o, const char* key, const std::optional<T>& v) {
    if (v) {
        o.set(key, *v);
    } else {
        o.set(key, Poco::Dynamic::Var());
    }
}

std::string text(const Poco::JSON::Object& o) {
    std::ostringstream out;
    o.stringify(out);
    return out.str();
}
}  // namespace

std::string to_json(const SlotView& v) {
    Poco::JSON::Object o;
    o.set("slot", v.slot);
    set_optional(o, "unit_serial", v.unit_serial);
    set_optional(o, "unit_id", v.unit_id);
    o.set("step", v.step);
    o.set("led_color", v.led_color);
    o.set("led_pattern", v.led_pattern);
    set_optional(o, "led_freq_hz", v.led_freq_hz);
    set_optional(o, "led_state", v.led_state);
    o.set("elapsed_s", v.elapsed_s);
    set_optional(o, "verdict", v.verdict);
    set_optional(o, "reason", v.reason);
    set_optional(o, "fault", v.fault);
    if (v.discovered) {
        Poco::JSON::Object d;
        d.set("device_id", v.discovered->device_id);
        d.set("ip", v.discovered->ip);
        o.set("discovered", d);
    } else {
        o.set("discovered", Poco::Dynamic::Var());
    }
    return text(o);
}

std::string to_json(const BatchView& v) {
    Poco::JSON::Object o;
    set_optional(o, "batch_id", v.batch_id);
    o.set("kind", v.kind);
    o.set("recipe", v.recipe);
    o.set("state", v.state);
    set_optional(o, "operator", v.operator_login);
    o.set("units_done", v.units_done);
    o.set("pass", v.pass);
    o.set("fail", v.fail);
    o.set("strays_removed", v.strays_removed);
    o.set("left_bound", v.left_bound);
    set_optional(o, "software_version", v.software_version);
    set_optional(o, "recipe_sha256", v.recipe_sha256);
    return text(o);
}

std::string to_json(const QrView& v) {
    Poco::JSON::Object o;
    o.set("active", v.active);
    o.set("expires_in_s", v.expires_in_s);
    o.set("devices_used", v.devices_used);
    o.set("devices_max", v.devices_max);
    o.set("generation", v.generation);
    return text(o);
}

}  // namespace linestation
