#pragma once
// Live slot, batch and QR events for browsers over WebSocket (/api/live).
// Upgraded sockets are handed to the hub, so a connection does not hold an HTTP server
// thread: one thread fans events out, another reads what clients send (pings, close).

#include <Poco/Net/WebSocket.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "station/service.hpp"

namespace linestation::web {

class LiveHub {
  public:
    // `session_alive` says whether a session is still live: the sockets of one that has
    // expired are closed within a few seconds, as a logout closes them at once.
    explicit LiveHub(StationService& station,
                     std::function<bool(const std::string&)> session_alive = {});
    ~LiveHub();
    LiveHub(const LiveHub&) = delete;
    LiveHub& operator=(const LiveHub&) = delete;

    // Takes an upgraded socket opened by session `session_id`; it first gets a snapshot of
    // the slots and the batch.
    void add(Poco::Net::WebSocket socket, const std::string& session_id = "");
    // Logout: the session's sockets close too, so nothing keeps receiving after it.
    void end_session(const std::string& session_id);
    // Queues a station event for every client; never blocks the caller for long.
    void publish(const StationEvent& event);
    std::size_t clients();
    // Events sent to clients since start (each client counted).
    std::uint64_t frames_sent();

  private:
    void send_loop();
    void read_loop();
    void drop(const Poco::Net::WebSocket& socket);
    void forget_locked(const Poco::Net::WebSocket& socket);
    void close_expired_sessions();
    std::string snapshot();

    StationService& station_;
    std::function<bool(const std::string&)> session_alive_;
    int subscription_ = 0;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;
    std::vector<Poco::Net::WebSocket> clients_;
    std::map<std::string, std::vector<Poco::Net::WebSocket>> by_session_;
    std::uint64_t frames_sent_ = 0;
    bool stopping_ = false;
    std::thread sender_;
    std::thread reader_;
};

// The view objects as JSON, shared by the REST answers and the live events.
std::string slot_json(const SlotView& slot);
std::string batch_json(const BatchView& batch);
// The QR state without its payload (the payload holds the Wi-Fi password).
std::string qr_meta_json(const QrView& qr);

}  // namespace linestation::web
