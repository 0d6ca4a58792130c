#pragma once
// Reading a fixture file: the structs it fills (boards, camera, slots) are the drivers'
// (drivers/core/fixture_config.hpp); this part validates the file and names what is wrong.

#include <filesystem>
#include <string>
#include <vector>

#include "drivers/core/fixture_config.hpp"
#include "station/config/json_reader.hpp"

namespace linestation::config {

// Driver names, as on the command line (`station fixture --driver`).
const std::vector<std::string>& known_board_drivers();

FixtureConfig parse_fixture(const JsonNode& root);
FixtureConfig load_fixture(const std::filesystem::path& file);

}  // namespace linestation::config
