#pragma once
// Where the station meets the virtual line in one process: the station's interfaces
// (flow::QrScreen, flow::LedFeed) over the twins' own screen and LED programs. The twins
// know nothing of the station's parts; this glue belongs to the composition.

#include <map>
#include <string>
#include <vector>

#include "fixtures/virtual/line/virtual_line.hpp"
#include "station/flow/line_parts.hpp"

namespace linestation::app {

// The station shows its pairing payload; the twins' screen renders it as any screen would.
class TwinScreen final : public flow::QrScreen {
  public:
    explicit TwinScreen(virtual_line::VirtualScreen& screen) : screen_(screen) {}
    void show(const std::string& payload) override { screen_.show(payload); }

  private:
    virtual_line::VirtualScreen& screen_;
};

// The camera-free LED feed (simulate --no-vision, fast unit tests): reports each slot's
// LED as a camera plus blink tracker would (a steady state after a few frames, a blink
// after 1.5 periods), straight from the devices' LED programs. While the camera's cable is
// pulled every slot reports camera_lost once.
class TwinLedPrograms final : public flow::LedFeed {
  public:
    explicit TwinLedPrograms(const virtual_line::VirtualLine& line);
    std::vector<vision::LedObservation> poll(double now_s) override;

  private:
    struct Track {
        virtual_line::LedProgram shown;
        virtual_line::LedProgram seen;
        double seen_since = 0;
    };
    const virtual_line::VirtualLine& line_;
    std::vector<std::string> slots_;
    std::map<std::string, Track> tracks_;
    bool lost_reported_ = false;
};

}  // namespace linestation::app
