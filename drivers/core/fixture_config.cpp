#include "drivers/core/fixture_config.hpp"

namespace linestation::config {

const BoardConfig* FixtureConfig::board(const std::string& id) const {
    for (const auto& b : boards) {
        if (b.id == id) return &b;
    }
    return nullptr;
}

const SlotConfig* FixtureConfig::slot(const std::string& id) const {
    for (const auto& s : slots) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

}  // namespace linestation::config
