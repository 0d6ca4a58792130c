#include "web/http.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/NameValueCollection.h>

#include <sstream>

namespace linestation::web {

using Poco::Net::HTTPResponse;

std::string to_json(const Poco::JSON::Object& object) {
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

std::string to_json(const Poco::JSON::Array& array) {
    std::ostringstream out;
    array.stringify(out);
    return out.str();
}

void send_text(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
               const std::string& content_type, const std::string& body) {
    response.setStatus(status);
    response.setContentType(content_type);
    // API answers are live data (and some are secret-bearing, like the QR): never cached.
    response.set("Cache-Control", "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("X-Frame-Options", "DENY");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
}

void send_json(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
               const std::string& json) {
    send_text(response, status, "application/json; charset=utf-8", json);
}

void send_json(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
               const Poco::JSON::Object& body) {
    send_json(response, status, to_json(body));
}

void send_error(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
                const std::string& message) {
    Poco::JSON::Object body;
    body.set("error", message);
    send_json(response, status, body);
}

std::string read_body(Poco::Net::HTTPServerRequest& request, std::size_t limit) {
    if (request.getContentLength() != Poco::Net::HTTPMessage::UNKNOWN_CONTENT_LENGTH &&
        request.getContentLength() > static_cast<std::streamsize>(limit)) {
        throw HttpError(HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE,
                        "request body larger than " + std::to_string(limit) + " bytes");
    }
    std::string body;
    auto& in = request.stream();
    char buffer[8192];
    while (in) {
        in.read(buffer, sizeof buffer);
        body.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (body.size() > limit) {
            throw HttpError(HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE,
                            "request body larger than " + std::to_string(limit) + " bytes");
        }
    }
    return body;
}

Poco::JSON::Object::Ptr parse_object(const std::string& body) {
    if (body.empty()) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "expected a JSON object body");
    }
    try {
        auto value = Poco::JSON::Parser().parse(body);
        if (value.type() != typeid(Poco::JSON::Object::Ptr)) {
            throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "expected a JSON object body");
        }
        return value.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed JSON body");
    }
}

std::string cookie_value(const Poco::Net::HTTPServerRequest& request, const std::string& name) {
    Poco::Net::NameValueCollection cookies;
    request.getCookies(cookies);
    return cookies.get(name, "");
}

}  // namespace linestation::web
