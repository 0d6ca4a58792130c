#pragma once
// The QR screens' credentials. The QR screen is what the devices' cameras look at: after a
// restart, or 12 h on, it must still show the live code, never a login page. An admin makes
// a display token for it; the screen sends it as `Authorization: Bearer <token>`, and it
// reads this station's QR (/api/qr, /api/qr.png, /api/qr.svg) and nothing else. The store
// keeps only the token's SHA-256, so it survives restarts and a copy of the file opens no
// screen.

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <functional>
#include <string>
#include <vector>

#include "station/clock/clock.hpp"
#include "station/store/store.hpp"

namespace linestation::web {

class DisplayScreens {
  public:
    // `audit(actor, action, detail_json)` records each change; `station_id` names the
    // station a token is bound to.
    using Audit = std::function<void(const std::string&, const std::string&, const std::string&)>;
    DisplayScreens(store::Store& store, const Clock& clock, std::function<std::string()> station_id,
                   Audit audit);

    // True when the request carries a live display token of this station; a request
    // with a wrong or revoked token is refused (401) rather than passed on to a login.
    bool may_read_qr(const Poco::Net::HTTPServerRequest& request);

    // /api/display-tokens (GET list, POST make) and /api/display-tokens/{id}/revoke (`parts`
    // is the whole path, "api" first), for an
    // admin whose session and CSRF token the caller has checked.
    void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                const std::vector<std::string>& parts, const std::string& admin,
                std::size_t max_body_bytes);

  private:
    store::Store& store_;
    const Clock& clock_;
    std::function<std::string()> station_id_;
    Audit audit_;
};

}  // namespace linestation::web
