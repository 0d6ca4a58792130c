#include "station/config/recipe.hpp"

#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace linestation::config {

std::string to_string(BindingMode mode) {
    switch (mode) {
        case BindingMode::Weak:
            return "weak";
        case BindingMode::Medium:
            return "medium";
        case BindingMode::Strong:
            return "strong";
    }
    return "?";
}

std::string to_string(PairingMethod method) {
    return method == PairingMethod::Qr ? "qr" : "wired";
}

std::string to_string(ResetMethod method) {
    switch (method) {
        case ResetMethod::LongPress:
            return "long_press";
        case ResetMethod::PowerCycle:
            return "power_cycle";
        case ResetMethod::PowerCycleThenPress:
            return "power_cycle_then_press";
    }
    return "?";
}

std::vector<ColorDefinition> default_colors() {
    return {
        {"red", 340, 15, 0.35},   {"amber", 20, 50, 0.35}, {"green", 75, 170, 0.30},
        {"blue", 190, 260, 0.30}, {"white", 0, 360, 0.0},
    };
}

namespace {

const std::set<std::string> kBaseColors{"off", "red", "green", "blue", "amber", "white"};

std::string check_color(const JsonNode& node, const std::string& pattern) {
    auto text = node.as_nonempty_string();
    auto slash = text.find('/');
    if (pattern == "alternate") {
        if (slash == std::string::npos || !kBaseColors.count(text.substr(0, slash)) ||
            !kBaseColors.count(text.substr(slash + 1))) {
            node.fail("two colours joined by \"/\" for an alternate pattern, e.g. \"red/green\"");
        }
    } else if (!kBaseColors.count(text)) {
        node.fail("one of off, red, green, blue, amber, white");
    }
    if (pattern == "off" && text != "off") node.fail("\"off\" for the off pattern");
    return text;
}

ColorDefinition parse_color(const std::string& name, const JsonNode& node) {
    node.allow_only({"hue", "min_saturation"});
    ColorDefinition c;
    c.name = name;
    auto hue = node.at("hue");
    auto parts = hue.items();
    if (parts.size() != 2) hue.fail("[from, to] hue degrees (0-360)");
    c.hue_from = parts[0].as_number();
    c.hue_to = parts[1].as_number();
    if (c.hue_from < 0 || c.hue_from > 360) parts[0].fail("a hue from 0 to 360");
    if (c.hue_to < 0 || c.hue_to > 360) parts[1].fail("a hue from 0 to 360");
    if (auto s = node.find("min_saturation")) {
        c.min_saturation = s->as_number();
        if (c.min_saturation < 0 || c.min_saturation > 1) s->fail("a number from 0 to 1");
    }
    return c;
}

FlowSpec parse_flow(const JsonNode& node) {
    node.allow_only({"timeouts", "limits", "description"});
    FlowSpec flow;
    if (auto timeouts = node.find("timeouts")) {
        for (const auto& key : timeouts->keys()) {
            flow.timeouts_s[key] = timeouts->at(key).as_positive_number();
        }
    }
    if (auto limits = node.find("limits")) {
        for (const auto& key : limits->keys()) {
            auto limit_node = limits->at(key);
            limit_node.allow_only({"min", "max", "unit"});
            Limit limit;
            if (auto mn = limit_node.find("min")) limit.min = mn->as_number();
            if (auto mx = limit_node.find("max")) limit.max = mx->as_number();
            if (auto u = limit_node.find("unit")) limit.unit = u->as_nonempty_string();
            if (!limit.min && !limit.max) limit_node.fail("an object with \"min\" and/or \"max\"");
            if (limit.min && limit.max && *limit.min > *limit.max) {
                limit_node.fail_problem("min " + std::to_string(*limit.min) + " exceeds max " +
                                        std::to_string(*limit.max));
            }
            flow.limits[key] = limit;
        }
    }
    return flow;
}

}  // namespace

std::string to_string(UnitLabel label) {
    switch (label) {
        case UnitLabel::DeviceId:
            return "device_id";
        case UnitLabel::Uuid:
            return "uuid";
        case UnitLabel::Sn:
            return "sn";
        case UnitLabel::Mac:
            return "mac";
    }
    return "device_id";
}

Recipe parse_recipe(const JsonNode& root) {
    root.allow_only({"schema", "product", "reset", "led", "flows", "description"});
    Recipe r;
    r.source = root.file();
    if (auto schema = root.find("schema")) schema->as_int(1, 1);

    auto product = root.at("product");
    product.allow_only({"id", "name", "category", "binding", "pairing", "label"});
    r.product_id = product.at("id").as_nonempty_string();
    r.name = product.at("name").as_nonempty_string();
    r.category = product.string_or("category", "");
    auto binding = product.at("binding").as_one_of({"weak", "medium", "strong"});
    r.binding = binding == "weak"     ? BindingMode::Weak
                : binding == "medium" ? BindingMode::Medium
                                      : BindingMode::Strong;
    if (auto pairing = product.find("pairing")) {
        r.pairing =
            pairing->as_one_of({"qr", "wired"}) == "qr" ? PairingMethod::Qr : PairingMethod::Wired;
    }

    if (auto label = product.find("label")) {
        const auto l = label->as_one_of({"device_id", "uuid", "sn", "mac"});
        r.label = l == "uuid"  ? UnitLabel::Uuid
                  : l == "sn"  ? UnitLabel::Sn
                  : l == "mac" ? UnitLabel::Mac
                               : UnitLabel::DeviceId;
    }

    auto reset = root.at("reset");
    reset.allow_only({"method", "press_s", "power_off_s"});
    auto method =
        reset.at("method").as_one_of({"long_press", "power_cycle", "power_cycle_then_press"});
    r.reset.method = method == "long_press"    ? ResetMethod::LongPress
                     : method == "power_cycle" ? ResetMethod::PowerCycle
                                               : ResetMethod::PowerCycleThenPress;
    r.reset.press_s = reset.positive_or("press_s", r.reset.press_s);
    r.reset.power_off_s = reset.positive_or("power_off_s", r.reset.power_off_s);

    auto led = root.at("led");
    led.allow_only({"colors", "states"});
    if (auto colors = led.find("colors")) {
        for (const auto& name : colors->keys()) {
            if (!kBaseColors.count(name) || name == "off") {
                colors->at(name).fail_problem(
                    "unknown colour name; expected one of red, green, blue, amber, white");
            }
            r.colors.push_back(parse_color(name, colors->at(name)));
        }
    } else {
        r.colors = default_colors();
    }
    auto states = led.at("states");
    if (states.items().empty()) states.fail("a non-empty array of LED states");
    for (const auto& row : states.items()) {
        row.allow_only({"state", "color", "pattern", "freq_hz", "duty", "meaning"});
        LedStateRule rule;
        rule.state = row.at("state").as_nonempty_string();
        rule.pattern = row.at("pattern").as_one_of({"off", "steady", "blink", "alternate"});
        rule.color = check_color(row.at("color"), rule.pattern);
        if (auto f = row.find("freq_hz")) {
            if (rule.pattern != "blink" && rule.pattern != "alternate") {
                f->fail_problem("freq_hz applies only to blink and alternate patterns");
            }
            auto range = f->as_range(0.0);
            if (range.second <= 0) f->fail("a range [low, high] with high > 0");
            rule.freq_hz = range;
        }
        if (auto d = row.find("duty")) {
            if (rule.pattern != "blink") d->fail_problem("duty applies only to the blink pattern");
            auto range = d->as_range(0.0);
            if (range.first <= 0 || range.second >= 1) {
                std::ostringstream got;
                got << "[" << range.first << ", " << range.second << "]";
                d->fail_problem("expected lit shares between 0 and 1 (exclusive), got " +
                                got.str());
            }
            rule.duty = range;
        }
        r.led_states.push_back(rule);
    }
    // Two rules that claim the same reading would make the state ambiguous.
    for (std::size_t i = 0; i < r.led_states.size(); ++i) {
        for (std::size_t j = i + 1; j < r.led_states.size(); ++j) {
            const auto& a = r.led_states[i];
            const auto& b = r.led_states[j];
            if (a.color != b.color || a.pattern != b.pattern) continue;
            bool overlap =
                !a.freq_hz || !b.freq_hz ||
                (a.freq_hz->first <= b.freq_hz->second && b.freq_hz->first <= a.freq_hz->second);
            if (overlap) {
                states.items()[j].fail_problem("overlaps the LED state \"" + a.state +
                                               "\" (same colour and pattern, frequency ranges "
                                               "overlap)");
            }
        }
    }

    auto flows = root.at("flows");
    for (const auto& name : flows.keys()) r.flows[name] = parse_flow(flows.at(name));
    if (r.flows.empty()) flows.fail("at least one flow");
    return r;
}

Recipe load_recipe(const std::filesystem::path& file) {
    // Read once: the hash is of the very bytes that were parsed.
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ConfigError(file.string(), "$", "cannot open the file");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    const auto text = bytes.str();
    auto recipe = parse_recipe(JsonNode::parse(text, file.string()));
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(text);
    recipe.sha256 = Poco::DigestEngine::digestToHex(sha.digest());
    return recipe;
}

std::map<std::string, Recipe> load_recipes(const std::filesystem::path& folder) {
    std::map<std::string, Recipe> out;
    if (!std::filesystem::is_directory(folder)) {
        throw ConfigError(folder.string(), "$", "not a folder of recipes");
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        auto recipe = load_recipe(file);
        auto [it, inserted] = out.emplace(recipe.product_id, recipe);
        if (!inserted) {
            throw ConfigError(file.string(), "$.product.id",
                              "product id \"" + recipe.product_id + "\" is already used by " +
                                  it->second.source.string());
        }
    }
    return out;
}

const FlowSpec* Recipe::flow(const std::string& flow_name) const {
    auto it = flows.find(flow_name);
    return it == flows.end() ? nullptr : &it->second;
}

double Recipe::timeout_s(const std::string& flow_name, const std::string& key,
                         double fallback) const {
    const auto* f = flow(flow_name);
    if (!f) return fallback;
    auto it = f->timeouts_s.find(key);
    return it == f->timeouts_s.end() ? fallback : it->second;
}

std::optional<std::string> Recipe::state_for(const std::string& color, const std::string& pattern,
                                             std::optional<double> freq_hz) const {
    for (const auto& rule : led_states) {
        if (rule.pattern != pattern) continue;
        bool color_match = rule.color == color;
        if (!color_match && pattern == "alternate") {
            // red/green and green/red are the same alternation.
            auto slash = color.find('/');
            if (slash != std::string::npos) {
                color_match = rule.color == color.substr(slash + 1) + "/" + color.substr(0, slash);
            }
        }
        if (!color_match) continue;
        if (rule.freq_hz) {
            if (!freq_hz || *freq_hz < rule.freq_hz->first || *freq_hz > rule.freq_hz->second) {
                continue;
            }
        }
        return rule.state;
    }
    return std::nullopt;
}

}  // namespace linestation::config
