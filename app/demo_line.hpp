#pragma once
// `station serve` without a fixture: the virtual line in real time. The twins (boards on
// loopback TCP, camera, cloud over HTTP, devices) stand where a rig would; the station is
// assembled on them exactly as on a rig, from the fixture the twins fill in. A virtual
// operator puts a fresh unit into each slot a few seconds after its verdict, so a
// running batch keeps going as on a real line.

#include <deque>
#include <memory>
#include <mutex>

#include "app/line_assembly.hpp"
#include "app/twin_parts.hpp"
#include "fixtures/virtual/line/virtual_line.hpp"
#include "station/fleet/station_fleet.hpp"
#include "station/runtime.hpp"

namespace linestation::app {

class DemoLine {
  public:
    // Builds the twins of `fixture` (ports tcp://127.0.0.1:0), assembles the station's
    // line on them and attaches it to `runtime`. With `fleet` (not owned), the line's
    // quota is shared through it as on a rig.
    DemoLine(Runtime& runtime, const config::FixtureConfig& fixture,
             const std::map<std::string, config::Recipe>& recipes, double load_s = 5.0,
             fleet::StationFleet* fleet = nullptr);
    ~DemoLine();
    DemoLine(const DemoLine&) = delete;
    DemoLine& operator=(const DemoLine&) = delete;

    virtual_line::VirtualLine& twins() { return *twins_; }

  private:
    Runtime& runtime_;
    SystemClock clock_;
    std::unique_ptr<virtual_line::VirtualLine> twins_;
    std::unique_ptr<TwinScreen> screen_;
    std::unique_ptr<StationLine> station_;
    double load_s_;
    std::mutex mutex_;
    std::deque<std::pair<double, std::string>> loads_;  // (due, slot)
};

}  // namespace linestation::app
