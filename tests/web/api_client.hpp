#pragma once
// A tiny browser stand-in for API tests: keeps the session cookie and the CSRF token.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <map>
#include <string>

namespace linestation::testing {

struct Answer {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
    Poco::JSON::Object::Ptr json() const {
        return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    }
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

class ApiClient {
  public:
    explicit ApiClient(int port) : port_(port) {}

    Answer call(const std::string& method, const std::string& path, const std::string& body = "",
                std::map<std::string, std::string> extra = {}) {
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);
        if (!source.empty()) socket.impl()->bind(Poco::Net::SocketAddress(source, 0), false);
        socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port_)));
        Poco::Net::HTTPClientSession session(socket);
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (!cookie_.empty()) request.set("Cookie", "ls_session=" + cookie_);
        if (!csrf_.empty() && send_csrf) request.set("X-CSRF-Token", csrf_);
        if (!body.empty() || method == "POST") {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        for (const auto& [k, v] : extra) request.set(k, v);
        session.sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        auto& in = session.receiveResponse(response);
        Answer a;
        a.status = response.getStatus();
        for (const auto& [k, v] : response) a.headers[k] = v;
        Poco::StreamCopier::copyToString(in, a.body);
        auto cookie = a.header("Set-Cookie");
        if (cookie.rfind("ls_session=", 0) == 0) {
            cookie_ = cookie.substr(11, cookie.find(';') - 11);
        }
        return a;
    }
    Answer get(const std::string& path) { return call("GET", path); }
    Answer post(const std::string& path, const std::string& body = "") {
        return call("POST", path, body);
    }
    Answer login(const std::string& login, const std::string& password) {
        auto a =
            post("/api/session", "{\"login\":\"" + login + "\",\"password\":\"" + password + "\"}");
        if (a.status == 200) csrf_ = a.json()->getValue<std::string>("csrf_token");
        return a;
    }
    const std::string& cookie() const { return cookie_; }
    const std::string& csrf() const { return csrf_; }
    void set_csrf(const std::string& token) { csrf_ = token; }
    bool send_csrf = true;
    // Another loopback address to connect from (127.0.0.0/8 is all loopback): a second
    // "client address" for throttling tests.
    std::string source;

  private:
    int port_;
    std::string cookie_;
    std::string csrf_;
};

}  // namespace linestation::testing
