#pragma once
// The UI's files (web/ui), served the same way by the station's server and the fleet's:
// below one folder only, with each page's Content-Security-Policy (its inline scripts by
// hash) and no caching that would outlive a new version.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <filesystem>
#include <string>

namespace linestation::web {

// Answers the file the request's path names below `ui_dir` ("/" is `index`), or 400 for a
// malformed path and 404 for anything else: the decoded path is normalised and must stay
// inside the folder.
void send_static_file(const std::filesystem::path& ui_dir, Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response,
                      const std::string& index = "/index.html");

class StaticHandler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit StaticHandler(std::filesystem::path ui_dir) : ui_dir_(std::move(ui_dir)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        send_static_file(ui_dir_, request, response);
    }

  private:
    std::filesystem::path ui_dir_;
};

}  // namespace linestation::web
