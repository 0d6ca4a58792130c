#include "web/static_files.hpp"

#include <Poco/URI.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "web/http.hpp"

namespace linestation::web {

namespace {

using Poco::Net::HTTPResponse;

std::string content_type_for(const std::filesystem::path& file) {
    auto ext = file.extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".wav") return "audio/wav";
    return "application/octet-stream";
}

}  // namespace

void send_static_file(const std::filesystem::path& ui_dir, Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response, const std::string& index) {
    std::string path;
    try {
        path = Poco::URI(request.getURI()).getPath();
    } catch (const Poco::Exception&) {
        send_error(response, HTTPResponse::HTTP_BAD_REQUEST, "malformed URI");
        return;
    }
    if (path.empty() || path == "/") path = index;
    if (!safe_request_path(path)) {
        send_error(response, HTTPResponse::HTTP_BAD_REQUEST, "malformed path");
        return;
    }
    auto root = std::filesystem::weakly_canonical(ui_dir);
    auto file =
        std::filesystem::weakly_canonical(root / std::filesystem::path(path).relative_path());
    auto [root_end, _] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
    if (root_end != root.end() || !std::filesystem::is_regular_file(file)) {
        send_error(response, HTTPResponse::HTTP_NOT_FOUND, "not found");
        return;
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    auto text = data.str();
    response.setStatus(HTTPResponse::HTTP_OK);
    response.setContentType(content_type_for(file));
    // Everything the pages load comes from the server itself (no CDN).
    if (file.extension() == ".html") {
        security_headers(response, page_csp(text));
    } else {
        security_headers(response);
    }
    response.set("Cache-Control", "no-cache");
    response.setContentLength(static_cast<std::streamsize>(text.size()));
    response.send() << text;
}

}  // namespace linestation::web
