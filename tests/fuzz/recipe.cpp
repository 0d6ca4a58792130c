// A recipe file as someone may write it: any text is either a recipe or a ConfigError that
// names what is wrong; no other exception, no crash.
#include <string>

#include "station/config/recipe.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace linestation::config;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto recipe = parse_recipe(JsonNode::parse(text, "fuzz.json"));
        (void)recipe.timeout_s("unbind", "ready_s", 1.0);
        (void)recipe.state_for("green", "blink", 1.0);
    } catch (const ConfigError& e) {
        if (e.problem().empty())
            linestation::fuzz::broken("recipe", "a ConfigError without a problem");
    }
    return 0;
}
