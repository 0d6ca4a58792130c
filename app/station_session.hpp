#pragma once
// One logged-in conversation with a station's HTTP API, as the dashboard has it (login,
// session cookie, CSRF token): `station batch` drives batches through it, and the twins
// in a process of their own look at the station's QR screen through it.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "app/command_line.hpp"
#include "web/http.hpp"

namespace linestation::app {

// The station refused or could not be reached: the message says which and why.
class StationRefused : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Answer {
    int status = 0;
    std::string body;
};

// One logged-in conversation with a station's API; logs out when it ends.
class StationSession {
  public:
    StationSession(const std::string& url, const std::string& ca_file) : uri_(url) {
        if (uri_.getScheme() != "http" && uri_.getScheme() != "https") {
            throw UsageError("--url: expected http://HOST:PORT or https://HOST:PORT, got \"" + url +
                             "\"");
        }
        if (uri_.getHost().empty()) throw UsageError("--url: no host in \"" + url + "\"");
        if (uri_.getScheme() == "https") {
            // The station's certificate is checked (against --ca, else the system's CAs).
            Poco::Net::Context::Ptr context = new Poco::Net::Context(  // Poco counts references
                Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_file,
                Poco::Net::Context::VERIFY_RELAXED, 9, ca_file.empty());
            http_ = std::make_unique<Poco::Net::HTTPSClientSession>(uri_.getHost(), uri_.getPort(),
                                                                    context);
        } else {
            http_ = std::make_unique<Poco::Net::HTTPClientSession>(uri_.getHost(), uri_.getPort());
        }
        http_->setTimeout(Poco::Timespan(10, 0));
    }
    ~StationSession() {
        if (cookie_.empty()) return;
        try {
            call("DELETE", "/api/session");
        } catch (...) {
            // Logging out is a courtesy: the session expires on its own.
        }
    }
    StationSession(const StationSession&) = delete;
    StationSession& operator=(const StationSession&) = delete;

    void login(const std::string& login, const std::string& password) {
        Poco::JSON::Object o;
        o.set("login", login);
        o.set("password", password);
        auto a = call("POST", "/api/session", web::to_json(o));
        if (a.status != 200) throw StationRefused("login as " + login + ": " + why(a));
        auto session = parse(a.body);
        csrf_ = session->optValue<std::string>("csrf_token", "");
    }

    Answer call(const std::string& method, const std::string& path, const std::string& body = {}) {
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        request.setHost(uri_.getHost(), uri_.getPort());
        if (!cookie_.empty()) {
            Poco::Net::NameValueCollection cookies;
            cookies.add("ls_session", cookie_);
            request.setCookies(cookies);
        }
        if (!csrf_.empty()) request.set("X-CSRF-Token", csrf_);
        if (!body.empty() || method == "POST") {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        Answer a;
        try {
            http_->sendRequest(request) << body;
            Poco::Net::HTTPResponse response;
            auto& in = http_->receiveResponse(response);
            Poco::StreamCopier::copyToString(in, a.body);
            a.status = static_cast<int>(response.getStatus());
            std::vector<Poco::Net::HTTPCookie> cookies;
            response.getCookies(cookies);
            for (const auto& c : cookies) {
                if (c.getName() == "ls_session") cookie_ = c.getValue();
            }
        } catch (const Poco::Exception& e) {
            throw StationRefused("cannot reach the station at " + uri_.toString() + ": " +
                                 e.displayText());
        }
        return a;
    }

    static Poco::JSON::Object::Ptr parse(const std::string& body) {
        try {
            return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
        } catch (const Poco::Exception&) {
            throw StationRefused("the station answered something that is not a JSON object: " +
                                 body.substr(0, 200));
        }
    }

    // The API's error text for a refusal ({"error": "..."}), with the HTTP status.
    static std::string why(const Answer& a) {
        std::string text = a.body;
        try {
            auto o = Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Object::Ptr>();
            text = o->optValue<std::string>("error", a.body);
        } catch (const Poco::Exception&) {
        }
        return "HTTP " + std::to_string(a.status) + ": " + text;
    }

  private:
    Poco::URI uri_;
    std::unique_ptr<Poco::Net::HTTPClientSession> http_;
    std::string cookie_;
    std::string csrf_;
};

}  // namespace linestation::app
