#pragma once
// Small pieces every API handler uses: JSON answers, errors that carry an HTTP status,
// bounded body reading and cookie parsing.

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>

namespace linestation::web {

// Thrown by handlers to answer with `status` and {"error": message}. The message goes to
// the client, so it names what was wrong with the request and nothing internal.
class HttpError : public std::runtime_error {
  public:
    HttpError(Poco::Net::HTTPResponse::HTTPStatus status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    // With a code the screens put in their own words (their catalogue's `error.<code>`).
    HttpError(Poco::Net::HTTPResponse::HTTPStatus status, const std::string& message,
              std::string code, std::map<std::string, std::string> params = {})
        : std::runtime_error(message),
          status_(status),
          code_(std::move(code)),
          params_(std::move(params)) {}
    Poco::Net::HTTPResponse::HTTPStatus status() const { return status_; }
    const std::string& code() const { return code_; }
    const std::map<std::string, std::string>& params() const { return params_; }

  private:
    Poco::Net::HTTPResponse::HTTPStatus status_;
    std::string code_;
    std::map<std::string, std::string> params_;
};

// Every answer: no MIME sniffing, no framing, no Referer. `csp` is the page's policy; API
// answers get one that allows nothing (they are data, never documents to render).
void security_headers(Poco::Net::HTTPServerResponse& response,
                      const std::string& csp = "default-src 'none'; frame-ancestors 'none'");
// The policy for a UI page: its own files, plus the inline scripts of `html` by hash
// (CSP level 2 'sha256-...'), so no other inline script runs.
std::string page_csp(const std::string& html);
// Rejects a decoded request path that could name something outside its folder: a NUL,
// a backslash or a "." / ".." segment.
bool safe_request_path(const std::string& decoded_path);

std::string to_json(const Poco::JSON::Object& object);
std::string to_json(const Poco::JSON::Array& array);
void send_text(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
               const std::string& content_type, const std::string& body);
void send_json(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
               const std::string& json);
void send_json(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
               const Poco::JSON::Object& body);
void send_error(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
                const std::string& message);
// {"error": message, "code": code, "params": {...}}: a refusal the screens say in their
// language (an empty code is left out).
void send_error(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
                const std::string& message, const std::string& code,
                const std::map<std::string, std::string>& params);

// Reads the body, refusing (413) more than `limit` bytes whether or not a length was sent.
std::string read_body(Poco::Net::HTTPServerRequest& request, std::size_t limit);
// Parses a JSON object body; 400 with a clear message when it is not one.
Poco::JSON::Object::Ptr parse_object(const std::string& body);
// A string field of 1 to `max_size` characters; 400 naming the field otherwise.
std::string required_string(const Poco::JSON::Object& body, const std::string& field,
                            std::size_t max_size = 256);

// The value of cookie `name` from the Cookie header, or "".
std::string cookie_value(const Poco::Net::HTTPServerRequest& request, const std::string& name);

}  // namespace linestation::web
