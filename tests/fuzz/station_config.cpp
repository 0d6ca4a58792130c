// The station's configuration file: any text is either a configuration or a ConfigError that
// names what is wrong. Secrets named by `*_env` resolve to a fixed value, so those paths run.
#include <string>

#include "station/config/station_config.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {
const char* any_variable(const char* name) {
    return name[0] == 'U' ? nullptr : "fuzz-secret";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace linestation::config;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)parse_station_config(JsonNode::parse(text, "fuzz.json"), "/etc/linestation",
                                   any_variable);
    } catch (const ConfigError& e) {
        if (e.problem().empty()) {
            linestation::fuzz::broken("station_config", "a ConfigError without a problem");
        }
    }
    return 0;
}
