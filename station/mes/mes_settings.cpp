#include "station/mes/mes_settings.hpp"

namespace linestation::mes {

MesSettings parse_mes_settings(const config::JsonNode& mes) {
    if (!mes.is_object()) mes.fail("an object with \"cfx\" and/or \"sparkplug\"");
    mes.allow_only({"cfx", "sparkplug"});
    MesSettings s;
    if (auto cfx = mes.find("cfx")) s.cfx = parse_cfx_settings(*cfx);
    if (auto sparkplug = mes.find("sparkplug")) {
        s.sparkplug = sparkplug::parse_sparkplug_settings(*sparkplug);
    }
    if (s.empty()) mes.fail_problem("no sink configured; give \"cfx\" and/or \"sparkplug\"");
    return s;
}

}  // namespace linestation::mes
