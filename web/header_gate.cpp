#include "web/header_gate.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SecureStreamSocketImpl.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Timestamp.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "web/http.hpp"

namespace linestation::web {

namespace {

using Poco::Net::HTTPResponse;

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// The server side of one HTTPS connection, as Poco's SecureServerSocket would make it, with
// a buffer in front: the gate reads the decrypted request into it without blocking (fill),
// and the worker's HTTP parser then reads that buffer before the TLS stream.
class TlsConnection final : public Poco::Net::SecureStreamSocketImpl {
  public:
    TlsConnection(const Poco::Net::StreamSocket& tcp, Poco::Net::Context::Ptr context)
        : SecureStreamSocketImpl(static_cast<Poco::Net::StreamSocketImpl*>(tcp.impl()), context),
          tcp_(tcp) {
        // Non-blocking before the TLS state is made, so the handshake waits for the gate's
        // poll instead of holding the gate's thread.
        setBlocking(false);
        acceptSSL();
    }

    // The TLS layer consults the TCP socket's own blocking flag, so both are kept the same.
    void setBlocking(bool flag) override {
        SecureStreamSocketImpl::setBlocking(flag);
        tcp_.setBlocking(flag);
    }

    // Moves what has arrived (handshake included) into the buffer, up to `limit` bytes; the
    // socket must be non-blocking. false: the client closed or its TLS failed.
    bool fill(std::size_t limit) {
        char chunk[16 * 1024];
        try {
            while (pending_.size() < limit) {
                const auto want = std::min(sizeof chunk, limit - pending_.size());
                const int n =
                    SecureStreamSocketImpl::receiveBytes(chunk, static_cast<int>(want), 0);
                if (n > 0) {
                    pending_.append(chunk, static_cast<std::size_t>(n));
                    continue;
                }
                return n == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_READ ||
                       n == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE;
            }
        } catch (const Poco::Exception&) {
            return false;
        }
        return true;
    }
    std::string_view pending() const { return pending_; }

    using SecureStreamSocketImpl::receiveBytes;
    int receiveBytes(void* buffer, int length, int flags) override {
        if (pending_.empty()) return SecureStreamSocketImpl::receiveBytes(buffer, length, flags);
        const auto n = std::min(pending_.size(), static_cast<std::size_t>(std::max(length, 0)));
        std::memcpy(buffer, pending_.data(), n);
        pending_.erase(0, n);
        return static_cast<int>(n);
    }
    int available() override {
        return static_cast<int>(pending_.size()) + SecureStreamSocketImpl::available();
    }
    // Poco's session asks whether a kept-alive client sent more: buffered bytes count.
    bool poll(const Poco::Timespan& timeout, int mode) override {
        if ((mode & Poco::Net::Socket::SELECT_READ) && !pending_.empty()) return true;
        return SecureStreamSocketImpl::poll(timeout, mode);
    }

  private:
    Poco::Net::StreamSocket tcp_;  // keeps the TCP socket the TLS layer runs on
    std::string pending_;
};

TlsConnection* as_tls(const Poco::Net::StreamSocket& socket) {
    return dynamic_cast<TlsConnection*>(socket.impl());
}

void close_quietly(Poco::Net::StreamSocket& socket) {
    try {
        socket.close();
    } catch (const Poco::Exception&) {
        // Already gone (or its TLS shutdown failed): the descriptor is closed either way.
    }
}

// Answers on a connection no worker has: never blocks the gate.
void refuse(Poco::Net::StreamSocket& socket, int status, std::string_view reason,
            std::string_view message) {
    std::string body = "{\"error\":\"" + std::string(message) + "\"}";
    std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                       "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
                       "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
                       "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
                       "Content-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    if (as_tls(socket)) {
        try {
            socket.sendBytes(text.data(), static_cast<int>(text.size()));  // non-blocking here
        } catch (const Poco::Exception&) {
            // The client is gone or its TLS never completed.
        }
    } else {
        ::send(socket.impl()->sockfd(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close_quietly(socket);
}

// Where the header ends (just past its blank line), or npos.
std::size_t header_end(std::string_view seen) {
    auto crlf = seen.find("\r\n\r\n");
    auto lf = seen.find("\n\n");
    if (crlf == std::string_view::npos && lf == std::string_view::npos)
        return std::string_view::npos;
    if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf))
        return crlf + 4;
    return lf + 2;
}

// Bytes of body to have in before a worker takes the request: the announced length up to
// `limit`; none for chunked bodies or Expect: 100-continue.
std::size_t body_to_wait_for(std::string_view header, std::size_t limit) {
    std::string lower(header);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.find("\nexpect:") != std::string::npos) return 0;
    auto at = lower.find("\ncontent-length:");
    if (at == std::string::npos) return 0;
    std::size_t length = 0;
    for (auto i = at + 16; i < lower.size() && lower[i] != '\r' && lower[i] != '\n'; ++i) {
        if (lower[i] == ' ' || lower[i] == '\t') continue;
        if (lower[i] < '0' || lower[i] > '9') return 0;  // Poco's parser answers it
        length = length * 10 + static_cast<std::size_t>(lower[i] - '0');
        if (length > limit) return limit;
    }
    return length;
}

// Poco's MessageHeader refuses long names/values and too many fields with these words;
// the client should hear 431, not a bare 400.
bool header_too_large(const Poco::Net::MessageException& e) {
    const auto& m = e.message();
    return m.find("too long") != std::string::npos || m.find("Too many") != std::string::npos ||
           m.find("too many") != std::string::npos;
}

// One request per dispatch, then the connection goes back to the gate. Written after
// Poco's HTTPServerConnection::run (same objects, same order).
class OneRequest : public Poco::Net::TCPServerConnection {
  public:
    OneRequest(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
               Poco::Net::HTTPRequestHandlerFactory::Ptr router, HeaderGate& gate)
        : TCPServerConnection(socket), params_(params), router_(router), gate_(gate) {}

    void run() override {
        auto connection = socket();
        for (int served = 1; serve_one(connection); ++served) {
            // A kept-alive client usually sends its next request at once: when that is
            // complete within a moment it is served here, saving a trip through the gate;
            // anything slower waits at the gate, holding no thread.
            if (served >= 100 || !gate_.complete_within(connection, 2)) {
                gate_.give_back(connection);
                return;
            }
        }
    }

  private:
    // Answers one request; true when the connection stays open for another.
    bool serve_one(Poco::Net::StreamSocket& connection) {
        Poco::Net::HTTPServerSession session(connection, params_);
        // Counts the request against the session's keep-alive allowance (Poco's loop does
        // the same); the header is in already, so this does not wait.
        if (!session.hasMoreRequests()) return false;
        bool keep = false;
        try {
            Poco::Net::HTTPServerResponseImpl response(session);
            try {
                Poco::Net::HTTPServerRequestImpl request(response, session, params_.get());
                response.setDate(Poco::Timestamp());
                // Poco takes the request line's third word as the version whatever it is (with
                // no version, the next line's "Host:"): never echo that into our status line.
                const auto& version = request.getVersion();
                if (version != Poco::Net::HTTPMessage::HTTP_1_0 &&
                    version != Poco::Net::HTTPMessage::HTTP_1_1) {
                    response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
                    response.setKeepAlive(false);
                    send_error(response, HTTPResponse::HTTP_BAD_REQUEST,
                               "malformed request line: expected HTTP/1.0 or HTTP/1.1");
                    return false;
                }
                response.setVersion(version);
                response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() &&
                                      session.canKeepAlive());
                // Poco's factory interface hands ownership of a raw pointer.
                std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(
                    router_->createRequestHandler(request));
                if (request.getExpectContinue() && response.getStatus() == HTTPResponse::HTTP_OK)
                    response.sendContinue();
                handler->handleRequest(request, response);
                keep = response.sent() && params_->getKeepAlive() && response.getKeepAlive() &&
                       response.getStatus() != HTTPResponse::HTTP_SWITCHING_PROTOCOLS &&
                       body_consumed(request);
            } catch (const Poco::Net::NoMessageException&) {
                return false;  // closed before sending a request
            } catch (const Poco::Net::MessageException& e) {
                // The request is gone here but `response` still points at it (its sending
                // asks whether it was a HEAD): answer on a response of its own, as Poco's
                // HTTPServerConnection does.
                if (!response.sent()) {
                    Poco::Net::HTTPServerResponseImpl refusal(session);
                    refusal.setKeepAlive(false);
                    send_error(
                        refusal,
                        header_too_large(e) ? HTTPResponse::HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE
                                            : HTTPResponse::HTTP_BAD_REQUEST,
                        header_too_large(e) ? "request header too large" : "malformed request");
                }
                return false;
            } catch (const Poco::SyntaxException&) {
                // A header Poco reads as a number that is none ("Content-Length: 1x"): the
                // client's mistake, not ours.
                if (!response.sent()) {
                    Poco::Net::HTTPServerResponseImpl refusal(session);
                    refusal.setKeepAlive(false);
                    send_error(refusal, HTTPResponse::HTTP_BAD_REQUEST,
                               "malformed request: a header that should be a number is not one");
                }
                return false;
            } catch (const Poco::Exception&) {
                if (!response.sent()) {
                    Poco::Net::HTTPServerResponseImpl failure(session);
                    failure.setKeepAlive(false);
                    send_error(failure, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal error");
                }
                return false;
            }
        } catch (const Poco::Exception&) {
            return false;  // the client went away while we answered
        }
        // Detached, the session's end does not close the connection.
        if (keep) session.detachSocket();
        return keep;
    }

    // Body bytes a handler left unread would be parsed as the next request.
    static bool body_consumed(Poco::Net::HTTPServerRequestImpl& request) {
        if (request.getContentLength() <= 0 && !request.getChunkedTransferEncoding()) return true;
        auto& in = request.stream();
        in.peek();
        return in.eof();
    }

    Poco::Net::HTTPServerParams::Ptr params_;
    Poco::Net::HTTPRequestHandlerFactory::Ptr router_;
    HeaderGate& gate_;
};

class OneRequestFactory : public Poco::Net::TCPServerConnectionFactory {
  public:
    OneRequestFactory(Poco::Net::HTTPServerParams::Ptr params,
                      Poco::Net::HTTPRequestHandlerFactory::Ptr router, HeaderGate& gate)
        : params_(params), router_(router), gate_(gate) {}
    Poco::Net::TCPServerConnection* createConnection(
        const Poco::Net::StreamSocket& socket) override {
        // Poco's dispatcher takes ownership of the raw pointer.
        return new OneRequest(socket, params_, router_, gate_);
    }

  private:
    Poco::Net::HTTPServerParams::Ptr params_;
    Poco::Net::HTTPRequestHandlerFactory::Ptr router_;
    HeaderGate& gate_;
};

}  // namespace

HeaderGate::HeaderGate(Poco::Net::ServerSocket socket, Poco::Net::HTTPServerParams::Ptr params,
                       Poco::Net::HTTPRequestHandlerFactory::Ptr router, GateLimits limits,
                       Poco::Net::Context::Ptr tls)
    : listener_(std::move(socket)),
      tls_(std::move(tls)),
      params_(params),
      limits_(limits),
      pool_(1, std::max(1, limits.max_threads)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wake_fd_ < 0) throw std::runtime_error("web server: eventfd failed");
    params_->setMaxThreads(limits_.max_threads);
    params_->setMaxQueued(limits_.max_queued);
    dispatcher_ = new Poco::Net::TCPServerDispatcher(  // reference-counted by Poco
        new OneRequestFactory(params_, router, *this), pool_, params_);
}

HeaderGate::~HeaderGate() {
    stop();
    ::close(wake_fd_);
}

void HeaderGate::start() {
    thread_ = std::thread([this] { run(); });
}

void HeaderGate::stop() {
    if (stopping_.exchange(true)) return;
    if (thread_.joinable()) thread_.join();
    try {
        listener_.close();
    } catch (const Poco::Exception&) {
    }
    dispatcher_->stop();
    pool_.joinAll();
    std::lock_guard lock(returned_mutex_);
    returned_.clear();
}

int HeaderGate::port() const {
    return listener_.address().port();
}

std::size_t HeaderGate::waiting() {
    return waiting_count_.load();
}

void HeaderGate::give_back(const Poco::Net::StreamSocket& socket) {
    if (stopping_) return;
    {
        std::lock_guard lock(returned_mutex_);
        returned_.push_back(socket);
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

namespace {

// The header's end in `seen`, when the header and a small body are both there.
bool request_complete(std::string_view seen, const GateLimits& limits) {
    auto end = header_end(seen);
    return end != std::string_view::npos && end <= limits.max_header_bytes &&
           seen.size() >= end + body_to_wait_for(seen.substr(0, end), limits.body_wait_bytes);
}

}  // namespace

bool HeaderGate::peek(Poco::Net::StreamSocket& socket, std::vector<char>& buffer,
                      std::string_view& seen) {
    if (auto* tls = as_tls(socket)) {
        const bool open = tls->fill(buffer.size());
        seen = tls->pending();
        return open;
    }
    auto n = ::recv(socket.impl()->sockfd(), buffer.data(), buffer.size(), MSG_PEEK | MSG_DONTWAIT);
    seen = {};
    if (n > 0) seen = std::string_view(buffer.data(), static_cast<std::size_t>(n));
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

bool HeaderGate::complete_within(const Poco::Net::StreamSocket& socket, int ms) {
    auto connection = socket;
    auto* tls = as_tls(connection);
    if (tls && request_complete(tls->pending(), limits_)) return true;
    pollfd fd{connection.impl()->sockfd(), POLLIN, 0};
    if (::poll(&fd, 1, ms) != 1 || !(fd.revents & POLLIN)) return false;
    std::vector<char> buffer(limits_.max_header_bytes + limits_.body_wait_bytes + 1);
    std::string_view seen;
    // A worker's connection blocks; reading ahead through TLS must not.
    if (tls) tls->setBlocking(false);
    const bool open = peek(connection, buffer, seen);
    if (tls) tls->setBlocking(true);
    return open && request_complete(seen, limits_);
}

bool HeaderGate::look(Waiting& w, double now, std::vector<char>& buffer, bool peer_done) {
    std::string_view seen;
    if (!peek(w.socket, buffer, seen)) {
        // Closed by the client: what it sent before (a request, then its half of the
        // connection shut) is still served.
        if (seen.empty()) {
            close_quietly(w.socket);
            return true;
        }
        peer_done = true;
    }
    if (seen.empty()) return false;  // nothing yet (or a TLS handshake under way)
    auto n = seen.size();
    if (auto end = header_end(seen); end != std::string_view::npos) {
        if (end > limits_.max_header_bytes) {
            refuse(w.socket, 431, "Request Header Fields Too Large", "request header too large");
            return true;
        }
        // A small body waits here too, so a client trickling its POST body holds no
        // worker either; a large one (or one announced with Expect: 100-continue, whose
        // client waits for our answer first) goes on with its header. A client that has
        // stopped sending (shutdown of its side) sends no more body.
        if (peer_done ||
            seen.size() >= end + body_to_wait_for(seen.substr(0, end), limits_.body_wait_bytes)) {
            if (as_tls(w.socket)) w.socket.setBlocking(true);  // workers block (with timeouts)
            dispatcher_->enqueue(w.socket);
            return true;
        }
    } else if (n > limits_.max_header_bytes) {
        refuse(w.socket, 431, "Request Header Fields Too Large", "request header too large");
        return true;
    } else if (peer_done) {
        // Its header can never complete: say so now rather than at the header timeout.
        refuse(w.socket, 400, "Bad Request",
               "request header incomplete: the client stopped sending");
        return true;
    }
    if (w.kept_alive && !w.partial) {
        w.deadline_s = std::min(w.deadline_s, now + limits_.header_timeout_s);
    }
    // Level-triggered poll would report the unread bytes at once again: look again
    // after a pause instead of spinning.
    w.partial = true;
    w.recheck_s = now + 0.05;
    return false;
}

void HeaderGate::run() {
    std::vector<Waiting> waiting;
    std::vector<pollfd> fds;
    std::vector<std::size_t> polled;  // index into `waiting` of fds[i + 2]
    std::vector<bool> resting;        // fds[i + 2] is a partial header between its looks
    std::vector<char> buffer(limits_.max_header_bytes + limits_.body_wait_bytes + 1);
    const int listen_fd = listener_.impl()->sockfd();
    while (!stopping_) {
        double now = now_s();
        {
            std::lock_guard lock(returned_mutex_);
            for (auto& s : returned_) {
                if (as_tls(s)) s.setBlocking(false);
                waiting.push_back(Waiting{s, now + limits_.idle_timeout_s, true});
            }
            returned_.clear();
        }
        fds.assign({pollfd{listen_fd, POLLIN, 0}, pollfd{wake_fd_, POLLIN, 0}});
        polled.clear();
        resting.clear();
        bool deferred = false;
        for (std::size_t i = 0; i < waiting.size(); ++i) {
            // A partial header rests between looks (its unread bytes would wake poll at once
            // again), but a client that hangs up meanwhile is answered at once.
            const bool rests = waiting[i].partial && waiting[i].recheck_s > now;
            deferred = deferred || rests;
            const short events = rests ? POLLRDHUP : POLLIN | POLLRDHUP;
            fds.push_back(pollfd{waiting[i].socket.impl()->sockfd(), events, 0});
            polled.push_back(i);
            resting.push_back(rests);
        }
        // The timeout bounds how late a deadline is noticed.
        ::poll(fds.data(), fds.size(), deferred ? 10 : 100);
        if (fds[1].revents & POLLIN) {
            std::uint64_t count = 0;
            [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
        }
        now = now_s();
        std::vector<bool> done(waiting.size(), false);
        for (std::size_t k = 0; k < polled.size(); ++k) {
            auto& w = waiting[polled[k]];
            if (fds[k + 2].revents != 0 || (w.partial && !resting[k])) {
                done[polled[k]] = look(w, now, buffer, (fds[k + 2].revents & POLLRDHUP) != 0);
            }
        }
        for (std::size_t i = 0; i < waiting.size(); ++i) {
            if (!done[i] && now > waiting[i].deadline_s) {
                if (waiting[i].partial) {
                    refuse(waiting[i].socket, 408, "Request Timeout",
                           "request header not complete in time");
                } else {
                    close_quietly(waiting[i].socket);
                }
                done[i] = true;
            }
        }
        std::size_t keep = 0;
        for (std::size_t i = 0; i < waiting.size(); ++i) {
            if (!done[i]) waiting[keep++] = std::move(waiting[i]);
        }
        waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(keep), waiting.end());
        if (fds[0].revents & POLLIN) {
            try {
                auto socket = listener_.acceptConnection();
                // As Poco's TCPServer does: a response's header and body go out as two
                // writes, and Nagle would hold the second for the client's delayed ACK.
                socket.setNoDelay(true);
                if (waiting.size() >= limits_.max_waiting) {
                    socket.close();
                } else {
                    // The StreamSocket takes the reference-counted TLS connection over.
                    if (tls_) socket = Poco::Net::StreamSocket(new TlsConnection(socket, tls_));
                    waiting.push_back(Waiting{socket, now + limits_.header_timeout_s, false});
                }
            } catch (const Poco::Exception&) {
                // The client gave up before we accepted it.
            }
        }
        waiting_count_ = waiting.size();
    }
    for (auto& w : waiting) {
        try {
            w.socket.close();
        } catch (const Poco::Exception&) {
        }
    }
}

}  // namespace linestation::web
