#include "web/http.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/DigestEngine.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/SHA2Engine.h>

#include <sstream>

namespace linestation::web {

using Poco::Net::HTTPResponse;

void security_headers(Poco::Net::HTTPServerResponse& response, const std::string& csp) {
    response.set("X-Content-Type-Options", "nosniff");
    response.set("X-Frame-Options", "DENY");
    response.set("Referrer-Policy", "no-referrer");
    response.set("Content-Security-Policy", csp);
}

std::string page_csp(const std::string& html) {
    std::string hashes;
    std::size_t at = 0;
    while ((at = html.find("<script", at)) != std::string::npos) {
        auto open_end = html.find('>', at);
        if (open_end == std::string::npos) break;
        auto close = html.find("</script>", open_end);
        if (close == std::string::npos) break;
        auto tag = html.substr(at, open_end - at);
        auto body = html.substr(open_end + 1, close - open_end - 1);
        at = close;
        if (tag.find(" src=") != std::string::npos) continue;
        Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
        sha.update(body);
        const auto& digest = sha.digest();
        std::ostringstream b64;
        Poco::Base64Encoder encoder(b64);
        encoder.write(reinterpret_cast<const char*>(digest.data()),
                      static_cast<std::streamsize>(digest.size()));
        encoder.close();
        hashes += " 'sha256-" + b64.str() + "'";
    }
    // Styles stay 'unsafe-inline': the pages use style attributes, and CSS cannot run script.
    // QR codes arrive as blob: URLs; the live socket is same-origin ('self').
    return "default-src 'self'; script-src 'self'" + hashes +
           "; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; "
           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

bool safe_request_path(const std::string& decoded_path) {
    if (decoded_path.find('\0') != std::string::npos) return false;
    if (decoded_path.find('\\') != std::string::npos) return false;
    std::size_t start = 0;
    while (start <= decoded_path.size()) {
        auto end = decoded_path.find('/', start);
        if (end == std::string::npos) end = decoded_path.size();
        auto segment = decoded_path.substr(start, end - start);
        if (segment == "." || segment == "..") return false;
        start = end + 1;
    }
    return true;
}

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
    // setStatus alone keeps the reason phrase "OK" the response was made with ("404 OK").
    response.setStatusAndReason(status);
    response.setContentType(content_type);
    // API answers are live data (and some are secret-bearing, like the QR): never cached.
    response.set("Cache-Control", "no-store");
    security_headers(response);
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

void send_error(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
                const std::string& message, const std::string& code,
                const std::map<std::string, std::string>& params) {
    Poco::JSON::Object body;
    body.set("error", message);
    if (!code.empty()) {
        body.set("code", code);
        Poco::JSON::Object values;
        for (const auto& [k, v] : params) values.set(k, v);
        body.set("params", values);
    }
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

std::string required_string(const Poco::JSON::Object& body, const std::string& field,
                            std::size_t max_size) {
    if (!body.has(field) || !body.get(field).isString()) {
        throw HttpError(HTTPResponse::HTTP_BAD_REQUEST,
                        "field \"" + field + "\": expected a string", "field_type",
                        {{"field", field}});
    }
    auto value = body.getValue<std::string>(field);
    if (value.empty() || value.size() > max_size) {
        throw HttpError(
            HTTPResponse::HTTP_BAD_REQUEST,
            "field \"" + field + "\": expected 1 to " + std::to_string(max_size) + " characters",
            "field_length", {{"field", field}, {"max", std::to_string(max_size)}});
    }
    return value;
}

}  // namespace linestation::web
