#pragma once
// What the LED vision says about one slot's indicator: the contract between
// station/vision (which produces it) and the slot flows (which act on it).
// Same fields as a `station led-scan` JSON line (docs/ARCHITECTURE.md, "Contracts").

#include <optional>
#include <string>

namespace linestation::vision {

struct LedObservation {
    std::string slot;
    double t = 0;                 // when the change was decided (s, capture time)
    double since = 0;             // estimated onset of this state (s)
    std::string color = "off";    // off red green blue amber white, or "red/green" when alternating
    std::string pattern = "off";  // off steady blink alternate
    std::optional<double> freq_hz;  // blink / alternate only
    std::optional<double> duty;     // blink only: lit share of the period
    // The camera delivers no frames: no state can be decided (never a stale one).
    bool camera_lost = false;
    // Evidence is present but not decisive (e.g. a blink faster than fps/4).
    bool unsure = false;
    // Set when a recipe maps the reading to a named state (ready, online, ...).
    std::optional<std::string> state;
};

}  // namespace linestation::vision
