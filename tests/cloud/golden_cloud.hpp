#pragma once
// A loopback HTTP server that answers like Tuya's documentation: each route replies with an
// example response copied from Tuya's documents (tests/cloud/golden/*.json, each naming its
// document) and records the requests it got. It is not an emulator: it checks nothing.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation::testing {

// The documented answer in golden/<name>.json, without its "_doc" note; "wrap" puts a
// result-only example into the envelope every Tuya answer has.
inline std::string golden(const std::string& name) {
    const std::string path = std::string(LS_SOURCE_DIR) + "/tests/cloud/golden/" + name + ".json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("no golden file " + path);
    std::stringstream text;
    text << in.rdbuf();
    using Poco::JSON::Object;
    auto file = Poco::JSON::Parser().parse(text.str()).extract<Object::Ptr>();
    Poco::Dynamic::Var answer = file->get("answer");
    if (file->optValue<bool>("wrap", false)) {
        Object::Ptr envelope = new Object;  // Poco::SharedPtr owns it
        envelope->set("result", answer);
        envelope->set("success", true);
        envelope->set("t", 1561344464370LL);
        answer = envelope;
    }
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(answer, out);
    return out.str();
}

struct Reply {
    int status = 200;
    std::string body;
};

struct SeenRequest {
    std::string method, uri, body, access_token, client_id, sign;
};

// Answers "METHOD /path" (exact, or the longest registered prefix ending in '/') with its
// replies in turn, the last one again once the others are used; records every request.
class GoldenCloud {
  public:
    GoldenCloud() {
        Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
        port_ = socket.address().port();
        Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;  // AutoPtr
        params->setKeepAlive(true);
        // HTTPServer takes ownership of the factory.
        server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
        server_->start();
    }
    ~GoldenCloud() { server_->stopAll(true); }
    GoldenCloud(const GoldenCloud&) = delete;
    GoldenCloud& operator=(const GoldenCloud&) = delete;

    void on(const std::string& route, std::vector<Reply> replies) {
        std::lock_guard lock(mutex_);
        routes_[route] = std::deque<Reply>(replies.begin(), replies.end());
    }
    void on(const std::string& route, const std::string& golden_name) {
        on(route, {Reply{200, golden(golden_name)}});
    }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<SeenRequest> seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }
    // The requests other than the token grant and refresh.
    std::vector<SeenRequest> business() const {
        std::vector<SeenRequest> out;
        for (const auto& r : seen()) {
            if (r.uri.rfind("/v1.0/token", 0) != 0) out.push_back(r);
        }
        return out;
    }

  private:
    Reply answer(const SeenRequest& request) {
        std::lock_guard lock(mutex_);
        seen_.push_back(request);
        const auto path = request.uri.substr(0, request.uri.find('?'));
        auto route = routes_.find(request.method + " " + path);
        if (route == routes_.end()) {
            std::size_t best = 0;
            for (auto it = routes_.begin(); it != routes_.end(); ++it) {
                const auto& key = it->first;
                if (key.back() == '/' && (request.method + " " + path).rfind(key, 0) == 0 &&
                    key.size() > best) {
                    best = key.size();
                    route = it;
                }
            }
        }
        if (route == routes_.end() || route->second.empty()) {
            return {404, "no golden answer for " + request.method + " " + path};
        }
        Reply reply = route->second.front();
        if (route->second.size() > 1) route->second.pop_front();
        return reply;
    }

    class Handler final : public Poco::Net::HTTPRequestHandler {
      public:
        explicit Handler(GoldenCloud& cloud) : cloud_(cloud) {}
        void handleRequest(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) override {
            SeenRequest seen{request.getMethod(),
                             request.getURI(),
                             "",
                             request.get("access_token", ""),
                             request.get("client_id", ""),
                             request.get("sign", "")};
            Poco::StreamCopier::copyToString(request.stream(), seen.body);
            const auto reply = cloud_.answer(seen);
            response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
            response.setContentType(reply.status == 200 ? "application/json" : "text/plain");
            response.sendBuffer(reply.body.data(), reply.body.size());
        }

      private:
        GoldenCloud& cloud_;
    };
    class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
      public:
        explicit Factory(GoldenCloud& cloud) : cloud_(cloud) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(
            const Poco::Net::HTTPServerRequest&) override {
            return new Handler(cloud_);  // the server takes ownership
        }

      private:
        GoldenCloud& cloud_;
    };

    mutable std::mutex mutex_;
    std::map<std::string, std::deque<Reply>> routes_;
    std::vector<SeenRequest> seen_;
    int port_ = 0;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace linestation::testing
