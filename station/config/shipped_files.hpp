#pragma once
// Where the files shipped with the station are: the web UI, the OpenAPI document, the
// recipes and the fixtures. An installed station (`make install`, the Debian package) runs
// as <prefix>/bin/station and finds them in <prefix>/share/linestation; a station run from
// its build folder (build/bin/station) falls back to the source tree it was built from.

#include <filesystem>

namespace linestation::config {

struct ShippedFiles {
    std::filesystem::path web_ui;        // index.html, operator.html, ...
    std::filesystem::path openapi_file;  // openapi.json
    std::filesystem::path recipes_dir;
    std::filesystem::path fixtures_dir;  // virtual-8.json, rig-8-modbus-hub.json
};

// The installed layout next to `executable` when it has one (share/linestation with a web
// UI in it), otherwise the source tree.
ShippedFiles shipped_files_for(const std::filesystem::path& executable);
// For the running program (/proc/self/exe).
ShippedFiles shipped_files();

}  // namespace linestation::config
