#include "station/vision/led_scanner.hpp"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace linestation::vision {

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string number(double v, int decimals) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace

SlotRoi parse_slot_roi(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw std::invalid_argument("\"" + text + "\": expected NAME=X,Y,W,H");
    }
    SlotRoi r;
    r.slot = text.substr(0, eq);
    std::stringstream in(text.substr(eq + 1));
    int values[4];
    for (int i = 0; i < 4; ++i) {
        std::string item;
        if (!std::getline(in, item, ',')) {
            throw std::invalid_argument("\"" + text + "\": expected four numbers X,Y,W,H");
        }
        std::size_t used = 0;
        try {
            values[i] = std::stoi(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size()) {
            throw std::invalid_argument("\"" + text + "\": \"" + item + "\" is not a whole number");
        }
    }
    std::string rest;
    if (std::getline(in, rest)) {
        throw std::invalid_argument("\"" + text + "\": expected exactly four numbers X,Y,W,H");
    }
    if (values[0] < 0 || values[1] < 0 || values[2] <= 0 || values[3] <= 0) {
        throw std::invalid_argument("\"" + text + "\": X and Y must be >= 0, W and H must be > 0");
    }
    r.roi = {values[0], values[1], values[2], values[3]};
    return r;
}

LedScanner::LedScanner(std::vector<SlotRoi> slots, const config::Recipe* recipe,
                       std::optional<TrackerOptions> options)
    : slots_(std::move(slots)),
      colors_(std::make_unique<ColorTable>(recipe ? recipe->colors : config::default_colors())) {
    TrackerOptions opts = options  ? *options
                          : recipe ? TrackerOptions::for_recipe(*recipe)
                                   : TrackerOptions::for_min_blink(0.3);
    trackers_.reserve(slots_.size());
    for (const auto& s : slots_) trackers_.emplace_back(s.slot, *colors_, opts, recipe);
}

std::vector<LedObservation> LedScanner::process(const cv::Mat& bgr, double t) {
    std::vector<LedObservation> changed;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (auto o = trackers_[i].update(t, measure_roi(bgr, slots_[i].roi))) {
            changed.push_back(std::move(*o));
        }
    }
    return changed;
}

std::vector<LedObservation> LedScanner::camera_lost(double t) {
    std::vector<LedObservation> changed;
    for (auto& tracker : trackers_) {
        if (auto o = tracker.camera_lost(t)) changed.push_back(std::move(*o));
    }
    return changed;
}

std::string observation_json(const LedObservation& o, bool with_state) {
    std::string s = "{\"slot\":" + json_string(o.slot) + ",\"t\":" + number(o.t, 3) +
                    ",\"since\":" + number(o.since, 3);
    if (o.camera_lost) {
        return s + ",\"color\":null,\"pattern\":null,\"freq_hz\":null,\"camera_lost\":true" +
               (with_state ? ",\"state\":null}" : "}");
    }
    s += ",\"color\":" + json_string(o.color) + ",\"pattern\":" + json_string(o.pattern) +
         ",\"freq_hz\":" + (o.freq_hz ? number(*o.freq_hz, 2) : std::string("null"));
    if (o.duty) s += ",\"duty\":" + number(*o.duty, 2);
    if (o.unsure) s += ",\"unsure\":true";
    if (o.state) {
        s += ",\"state\":" + json_string(*o.state);
    } else if (with_state) {
        s += ",\"state\":null";
    }
    return s + "}";
}

}  // namespace linestation::vision
