// A fixture file: any text is either a fixture or a ConfigError that names what is wrong.
#include <string>

#include "station/config/fixture.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace linestation::config;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto fixture = parse_fixture(JsonNode::parse(text, "fuzz.json"));
        for (const auto& slot : fixture.slots) {
            if (slot.reset && !fixture.board(slot.reset->board)) {
                linestation::fuzz::broken("fixture",
                                          "a slot's reset names a board not in the file");
            }
            if (slot.power && !fixture.board(slot.power->board)) {
                linestation::fuzz::broken("fixture",
                                          "a slot's power names a board not in the file");
            }
        }
    } catch (const ConfigError& e) {
        if (e.problem().empty())
            linestation::fuzz::broken("fixture", "a ConfigError without a problem");
    }
    return 0;
}
