#include "web/display_screens.hpp"

#include <Poco/JSON/Array.h>

#include "station/auth/session.hpp"
#include "station/store/dashboard_access.hpp"
#include "web/http.hpp"

namespace linestation::web {

using Poco::Net::HTTPResponse;

namespace {

constexpr const char* kBearer = "Bearer ";

Poco::JSON::Object token_json(const store::DisplayTokenRecord& t) {
    Poco::JSON::Object o;
    o.set("id", t.id);
    o.set("label", t.label);
    o.set("station_id", t.station_id);
    o.set("created_by", t.created_by);
    o.set("created_ms", t.created_ms);
    if (t.revoked_ms) {
        o.set("revoked_ms", *t.revoked_ms);
    } else {
        o.set("revoked_ms", Poco::Dynamic::Var());
    }
    return o;
}

}  // namespace

DisplayScreens::DisplayScreens(store::Store& store, const Clock& clock,
                               std::function<std::string()> station_id, Audit audit)
    : store_(store), clock_(clock), station_id_(std::move(station_id)), audit_(std::move(audit)) {}

bool DisplayScreens::may_read_qr(const Poco::Net::HTTPServerRequest& request) {
    const auto header = request.get("Authorization", "");
    if (header.rfind(kBearer, 0) != 0) return false;
    const auto token = header.substr(std::string(kBearer).size());
    if (token.empty() ||
        !store::live_display_token(store_, auth::sha256_hex(token), station_id_())) {
        throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED,
                        "display token refused (revoked, unknown or for another station)");
    }
    return true;
}

void DisplayScreens::handle(Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response,
                            const std::vector<std::string>& parts, const std::string& admin,
                            std::size_t max_body_bytes) {
    const auto& method = request.getMethod();
    if (parts.size() == 2 && method == "GET") {
        Poco::JSON::Array out;
        for (const auto& t : store::display_tokens(store_)) out.add(token_json(t));
        return send_json(response, HTTPResponse::HTTP_OK, to_json(out));
    }
    if (parts.size() == 2 && method == "POST") {
        auto body = parse_object(read_body(request, max_body_bytes));
        if (!body->has("label") || !body->get("label").isString()) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "field \"label\": expected the screen's name, 1 to 64 characters");
        }
        const auto label = body->getValue<std::string>("label");
        if (label.empty() || label.size() > 64) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "field \"label\": expected 1 to 64 characters, got " +
                                std::to_string(label.size()));
        }
        // Shown once, here; the store keeps its hash.
        const auto token = auth::random_token();
        store::DisplayTokenRecord record{0,     auth::sha256_hex(token), station_id_(), label,
                                         admin, clock_.wall_ms(),        std::nullopt};
        record.id = store::add_display_token(store_, record);
        auto detail = token_json(record);
        audit_(admin, "display_token.add", to_json(detail));
        auto out = token_json(record);
        out.set("token", token);
        // The fragment never reaches the server or its logs; the page keeps the token.
        out.set("url", "/qr.html#display=" + token);
        return send_json(response, HTTPResponse::HTTP_CREATED, out);
    }
    if (parts.size() == 4 && parts[3] == "revoke" && method == "POST") {
        std::int64_t id = 0;
        try {
            std::size_t used = 0;
            id = std::stoll(parts[2], &used);
            if (used != parts[2].size()) throw std::invalid_argument("trailing characters");
        } catch (const std::exception&) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                            "display token id \"" + parts[2] + "\": expected a number");
        }
        if (!store::revoke_display_token(store_, id, clock_.wall_ms())) {
            throw HttpError(HTTPResponse::HTTP_NOT_FOUND,
                            "no live display token " + std::to_string(id));
        }
        Poco::JSON::Object detail;
        detail.set("id", id);
        audit_(admin, "display_token.revoke", to_json(detail));
        return send_json(response, HTTPResponse::HTTP_OK, "{\"ok\":true}");
    }
    throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED,
                    "use GET or POST on /api/display-tokens, POST on "
                    "/api/display-tokens/{id}/revoke");
}

}  // namespace linestation::web
