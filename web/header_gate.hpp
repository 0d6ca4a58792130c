#pragma once
// Slow clients must not hold the server's threads. Poco's HTTPServer gives each connection
// a thread from the moment it is accepted, so 200 connections that trickle a header line
// now and then (slowloris) take every thread and /api/health goes unanswered.
//
// The gate instead waits for requests on one thread with poll(2): a connection reaches a
// worker thread only when its whole header (and a body of up to 16 KiB) is in the kernel's
// buffer (seen with MSG_PEEK, so Poco's own parser reads it unchanged). A header that does
// not complete within `header_timeout_s`, or grows past `max_header_bytes`, is answered
// 408 / 431 and closed. A worker answers a request and hands a kept-alive connection back
// to the gate unless its next request is complete within 2 ms, so an idle keep-alive
// connection holds no thread either.
//
// Under TLS (a server Context given) the gate also holds the TLS handshake: it runs it
// without blocking, reads what the client sends through OpenSSL into the connection's own
// buffer (there is no MSG_PEEK through TLS) and hands the connection on once the decrypted
// header is complete; the worker's HTTP parser reads that buffer first (TlsConnection in
// header_gate.cpp). A client that stalls its handshake is as harmless as one that stalls
// its header, and is closed at the same deadline.

#include <Poco/AutoPtr.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerDispatcher.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace linestation::web {

struct GateLimits {
    // From accepting a connection (or from the first byte of a kept-alive one's next
    // request) to the blank line that ends the header.
    double header_timeout_s = 5.0;
    // A kept-alive connection waiting for its next request.
    double idle_timeout_s = 10.0;
    std::size_t max_header_bytes = 32 * 1024;
    // A body up to this size must be in before a worker takes the request (same deadline).
    std::size_t body_wait_bytes = 16 * 1024;
    // Connections waiting for a header; beyond this new ones are closed at once.
    std::size_t max_waiting = 2000;
    int max_threads = 16;
    int max_queued = 256;
};

class HeaderGate {
  public:
    // `tls`: a TLS server context (HTTPS on `socket`, a plain TCP listener); null: HTTP.
    HeaderGate(Poco::Net::ServerSocket socket, Poco::Net::HTTPServerParams::Ptr params,
               Poco::Net::HTTPRequestHandlerFactory::Ptr router, GateLimits limits,
               Poco::Net::Context::Ptr tls = nullptr);
    ~HeaderGate();
    HeaderGate(const HeaderGate&) = delete;
    HeaderGate& operator=(const HeaderGate&) = delete;

    void start();
    // Stops accepting, closes waiting connections and waits for requests in progress.
    void stop();
    int port() const;
    // Connections accepted and waiting for their header now (tests).
    std::size_t waiting();
    // A worker is done with a kept-alive connection: wait for its next request.
    void give_back(const Poco::Net::StreamSocket& socket);
    // For a worker: is the connection's next request (header and small body) complete
    // within `ms`? Never reads it.
    bool complete_within(const Poco::Net::StreamSocket& socket, int ms);

  private:
    struct Waiting {
        Poco::Net::StreamSocket socket;
        double deadline_s;
        bool kept_alive;       // idle until its first byte, then header_timeout_s
        bool partial = false;  // some of the header is there: look again at recheck_s
        double recheck_s = 0;
    };
    void run();
    // true when the connection is done with (handed on, answered or closed). `peer_done`:
    // the client has shut down its sending side (poll's POLLRDHUP).
    bool look(Waiting& w, double now, std::vector<char>& buffer, bool peer_done);

    // The bytes of a connection's next request seen so far, without consuming them: the
    // kernel's buffer (MSG_PEEK) for HTTP, the connection's TLS buffer for HTTPS. false: the
    // client is gone (or its TLS failed).
    bool peek(Poco::Net::StreamSocket& socket, std::vector<char>& buffer, std::string_view& seen);

    Poco::Net::ServerSocket listener_;
    Poco::Net::Context::Ptr tls_;
    Poco::Net::HTTPServerParams::Ptr params_;
    GateLimits limits_;
    Poco::ThreadPool pool_;
    Poco::AutoPtr<Poco::Net::TCPServerDispatcher> dispatcher_;
    std::atomic<bool> stopping_{false};
    std::mutex returned_mutex_;
    std::vector<Poco::Net::StreamSocket> returned_;
    std::atomic<std::size_t> waiting_count_{0};
    int wake_fd_;  // eventfd: a connection came back from a worker
    std::thread thread_;
};

}  // namespace linestation::web
