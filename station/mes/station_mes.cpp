#include "station/mes/station_mes.hpp"

#include <algorithm>
#include <utility>

namespace linestation::mes {

std::vector<std::string> sink_names(const MesSettings& settings) {
    std::vector<std::string> names;
    if (settings.cfx) names.emplace_back("cfx");
    if (settings.sparkplug) names.emplace_back("sparkplug");  // SparkplugSink::name()
    return names;
}

SlotPositions slot_positions(const config::FixtureConfig& fixture) {
    SlotPositions positions;
    for (std::size_t i = 0; i < fixture.slots.size(); ++i) {
        positions[fixture.slots[i].id] = static_cast<int>(i + 1);
    }
    return positions;
}

StationMes::StationMes(const MesSettings& settings, const std::filesystem::path& store_file,
                       SlotPositions slots, outbox::ForwarderOptions options,
                       CfxSinkOptions cfx_options, sparkplug::SparkplugOptions sparkplug_options) {
    if (settings.cfx) {
        cfx_ = std::make_unique<CfxResultSink>(*settings.cfx, slots, cfx_options);
        cfx_forwarder_ = std::make_unique<outbox::Forwarder>(store_file, *cfx_, options);
    }
    if (settings.sparkplug) {
        // Each of the fixture's slots is a Device, born with the node, in the fixture's order.
        if (sparkplug_options.slots.empty()) {
            std::vector<std::pair<int, std::string>> by_place;
            for (const auto& [slot, place] : slots) by_place.emplace_back(place, slot);
            std::sort(by_place.begin(), by_place.end());
            for (const auto& [place, slot] : by_place) sparkplug_options.slots.push_back(slot);
        }
        sparkplug_ = std::make_unique<sparkplug::StationSparkplug>(*settings.sparkplug, store_file,
                                                                   sparkplug_options);
    }
}

StationMes::~StationMes() = default;

void StationMes::nudge() {
    for (const auto& s : sinks()) s.forwarder->nudge();
}

bool StationMes::drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool all = true;
    for (const auto& s : sinks()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        all = s.forwarder->drain(std::max(left, std::chrono::milliseconds(0))) && all;
    }
    return all;
}

std::vector<StationMes::Sink> StationMes::sinks() const {
    std::vector<Sink> out;
    if (cfx_forwarder_) out.push_back({cfx_->name(), cfx_forwarder_.get()});
    if (sparkplug_) out.push_back({sparkplug_->sink().name(), &sparkplug_->forwarder()});
    return out;
}

}  // namespace linestation::mes
