#include "station/config/shipped_files.hpp"

#include <system_error>

namespace linestation::config {

namespace {

ShippedFiles layout(const std::filesystem::path& share, const std::filesystem::path& web) {
    return ShippedFiles{web / "ui", web / "openapi.json", share / "recipes", share / "fixtures"};
}

}  // namespace

ShippedFiles shipped_files_for(const std::filesystem::path& executable) {
    if (!executable.empty()) {
        // <prefix>/bin/station -> <prefix>/share/linestation; canonical, so a symlink to the
        // binary (e.g. in /usr/local/bin) still finds the installed files.
        std::error_code error;
        auto real = std::filesystem::canonical(executable, error);
        if (!error) {
            auto share = real.parent_path().parent_path() / "share" / "linestation";
            if (std::filesystem::is_regular_file(share / "web" / "ui" / "index.html", error)) {
                return layout(share, share / "web");
            }
        }
    }
    const std::filesystem::path source = LS_SOURCE_TREE;
    return layout(source, source / "web");
}

ShippedFiles shipped_files() {
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    return shipped_files_for(error ? std::filesystem::path() : self);
}

}  // namespace linestation::config
