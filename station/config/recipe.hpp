#pragma once
// A product recipe: what the product is, how to reset it, what its LED says and how
// long each flow step may take. Loaded from recipes/*.json and validated.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "station/config/json_reader.hpp"

namespace linestation::config {

enum class BindingMode { Weak, Medium, Strong };
enum class PairingMethod { Qr, Wired };
enum class ResetMethod { LongPress, PowerCycle, PowerCycleThenPress };
// What the barcode on a unit carries. A returned unit's label is usually its Tuya uuid,
// sometimes its sn or MAC; only `device_id` can be matched to the cloud's answers without
// asking the cloud for the devices' factory information.
enum class UnitLabel { DeviceId, Uuid, Sn, Mac };
std::string to_string(UnitLabel label);

std::string to_string(BindingMode mode);
std::string to_string(PairingMethod method);
std::string to_string(ResetMethod method);

struct ResetProcedure {
    ResetMethod method = ResetMethod::LongPress;
    // How long the reset button is held. Tuya's IPC convention resets on a press held
    // longer than 3 s ("IPC 通用按键逻辑: 长按 Reset 3 秒", Peripheral Control); 5 s leaves
    // margin for the relay board's bus latency.
    double press_s = 5.0;
    double power_off_s = 2.0;  // how long power stays off in a power cycle
};

// One LED colour the vision may report; hue in degrees (a range may wrap past 360).
struct ColorDefinition {
    std::string name;
    double hue_from = 0;
    double hue_to = 0;
    double min_saturation = 0.35;
};

// One row of the recipe's LED table: an observed colour + pattern means `state`.
struct LedStateRule {
    std::string state;    // ready, joining, activating, online, booting, ...
    std::string color;    // off red green blue amber white, or "red/green" when alternating
    std::string pattern;  // off steady blink alternate
    std::optional<std::pair<double, double>> freq_hz;  // for blink and alternate
    // For blink: the lit share of the period, as the vendor documents it. Without it a blink
    // may be lit 25-75 %, and the vision waits out the longest phase that allows before it
    // calls a light steady or a dark off.
    std::optional<std::pair<double, double>> duty;
};

struct Limit {
    std::optional<double> min;
    std::optional<double> max;
    std::string unit;  // as the recipe names it ("s"); a label, not a conversion
    bool accepts(double value) const { return (!min || value >= *min) && (!max || value <= *max); }
};

struct FlowSpec {
    std::map<std::string, double> timeouts_s;  // e.g. "ready_s" -> 60
    std::map<std::string, Limit> limits;       // measurement name -> limits
};

struct Recipe {
    std::filesystem::path source;
    // SHA-256 (lower-case hex) of the file's bytes as they were loaded, the same figure
    // `sha256sum` prints for it; empty for a recipe parsed from text held elsewhere.
    std::string sha256;
    std::string product_id;
    std::string name;
    std::string category;
    BindingMode binding = BindingMode::Strong;
    PairingMethod pairing = PairingMethod::Qr;
    UnitLabel label = UnitLabel::DeviceId;
    ResetProcedure reset;
    std::vector<ColorDefinition> colors;
    std::vector<LedStateRule> led_states;
    std::map<std::string, FlowSpec> flows;  // "unbind", "pre_activation", "repair", ...

    const FlowSpec* flow(const std::string& name) const;
    // Timeout of `flow`.`key`, or `fallback` when the recipe does not say.
    double timeout_s(const std::string& flow, const std::string& key, double fallback) const;
    // The state name for an observed LED reading, if the table has one.
    std::optional<std::string> state_for(const std::string& color, const std::string& pattern,
                                         std::optional<double> freq_hz) const;
};

Recipe parse_recipe(const JsonNode& root);
Recipe load_recipe(const std::filesystem::path& file);
// Every *.json in a folder, keyed by product id; duplicate ids are an error.
std::map<std::string, Recipe> load_recipes(const std::filesystem::path& folder);

// Colours the vision knows when a recipe defines none.
std::vector<ColorDefinition> default_colors();

}  // namespace linestation::config
