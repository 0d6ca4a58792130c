#pragma once
// Poco logging for the station: console plus a rotating file.
// Secrets are never passed to a logger; see DESIGN.md "Secrets".

#include <filesystem>
#include <string>

namespace linestation {

void configure_logging(const std::filesystem::path& log_file, const std::string& level,
                       bool console = true);

}  // namespace linestation
