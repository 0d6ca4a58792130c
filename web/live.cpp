#include "web/live.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/NetException.h>

#include <algorithm>

#include "station/service_json.hpp"
#include "web/http.hpp"

namespace linestation::web {

namespace {

std::string envelope(const std::string& topic, const std::string& data_json) {
    return "{\"topic\":\"" + topic + "\",\"data\":" + data_json + "}";
}

}  // namespace

// The service's JSON for its views, so REST answers and live events agree.
std::string slot_json(const SlotView& slot) {
    return linestation::to_json(slot);
}
std::string batch_json(const BatchView& batch) {
    return linestation::to_json(batch);
}
std::string qr_meta_json(const QrView& qr) {
    return linestation::to_json(qr);
}

LiveHub::LiveHub(StationService& station, std::function<bool(const std::string&)> session_alive)
    : station_(station), session_alive_(std::move(session_alive)) {
    sender_ = std::thread([this] { send_loop(); });
    reader_ = std::thread([this] { read_loop(); });
    subscription_ = station_.subscribe([this](const StationEvent& e) { publish(e); });
}

LiveHub::~LiveHub() {
    station_.unsubscribe(subscription_);
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    sender_.join();
    reader_.join();
    for (auto& socket : clients_) {
        try {
            socket.shutdown();
            socket.close();
        } catch (const Poco::Exception&) {
            // The peer is gone already; nothing to release.
        }
    }
}

void LiveHub::publish(const StationEvent& event) {
    std::string data = event.json;
    if (event.topic == "qr") {
        // The QR payload carries the Wi-Fi password: live clients get only its state and
        // fetch the image from /api/qr.svg, which needs a session.
        try {
            auto obj = Poco::JSON::Parser().parse(event.json).extract<Poco::JSON::Object::Ptr>();
            obj->remove("payload");
            data = to_json(*obj);
        } catch (const Poco::Exception&) {
            data = "{}";
        }
    }
    {
        std::lock_guard lock(mutex_);
        if (clients_.empty()) return;
        // A station that outpaces the network keeps only the newest events.
        if (queue_.size() > 10000) queue_.pop_front();
        queue_.push_back(envelope(event.topic, data));
    }
    wake_.notify_one();
}

std::string LiveHub::snapshot() {
    std::string slots = "[";
    for (const auto& s : station_.slots()) {
        if (slots.size() > 1) slots += ",";
        slots += slot_json(s);
    }
    slots += "]";
    return envelope("hello", "{\"slots\":" + slots + ",\"batch\":" + batch_json(station_.batch()) +
                                 ",\"qr\":" + qr_meta_json(station_.qr()) + "}");
}

void LiveHub::add(Poco::Net::WebSocket socket, const std::string& session_id) {
    socket.setSendTimeout(Poco::Timespan(1, 0));
    // select() says a frame is there; a stalled partial frame must not hang the reader.
    socket.setReceiveTimeout(Poco::Timespan(0, 200000));
    auto hello = snapshot();
    try {
        socket.sendFrame(hello.data(), static_cast<int>(hello.size()));
    } catch (const Poco::Exception&) {
        return;
    }
    std::lock_guard lock(mutex_);
    clients_.push_back(socket);
    if (!session_id.empty()) by_session_[session_id].push_back(socket);
}

void LiveHub::end_session(const std::string& session_id) {
    std::vector<Poco::Net::WebSocket> sockets;
    {
        std::lock_guard lock(mutex_);
        auto it = by_session_.find(session_id);
        if (it == by_session_.end()) return;
        sockets = std::move(it->second);
        by_session_.erase(it);
        for (const auto& socket : sockets) std::erase(clients_, socket);
    }
    for (auto& socket : sockets) {
        try {
            socket.shutdown();
            socket.close();
        } catch (const Poco::Exception&) {
            // The peer is gone already.
        }
    }
}

void LiveHub::forget_locked(const Poco::Net::WebSocket& socket) {
    std::erase(clients_, socket);
    for (auto it = by_session_.begin(); it != by_session_.end();) {
        std::erase(it->second, socket);
        it = it->second.empty() ? by_session_.erase(it) : std::next(it);
    }
}

std::size_t LiveHub::clients() {
    std::lock_guard lock(mutex_);
    return clients_.size();
}

std::uint64_t LiveHub::frames_sent() {
    std::lock_guard lock(mutex_);
    return frames_sent_;
}

void LiveHub::drop(const Poco::Net::WebSocket& socket) {
    std::lock_guard lock(mutex_);
    forget_locked(socket);
}

void LiveHub::send_loop() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto message = std::move(queue_.front());
        queue_.pop_front();
        auto targets = clients_;
        lock.unlock();
        std::vector<Poco::Net::WebSocket> failed;
        for (auto& socket : targets) {
            try {
                socket.sendFrame(message.data(), static_cast<int>(message.size()));
            } catch (const Poco::Exception&) {
                failed.push_back(socket);
            }
        }
        lock.lock();
        frames_sent_ += targets.size() - failed.size();
        for (const auto& socket : failed) forget_locked(socket);
    }
}

void LiveHub::close_expired_sessions() {
    if (!session_alive_) return;
    std::vector<std::string> sessions;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, sockets] : by_session_) sessions.push_back(id);
    }
    for (const auto& id : sessions) {
        if (!session_alive_(id)) end_session(id);
    }
}

void LiveHub::read_loop() {
    char buffer[1024];
    auto next_expiry_check = std::chrono::steady_clock::now();
    while (true) {
        // A session that expired (12 h, or idle) ends its sockets as a logout does, so a
        // page left open is told, and receives nothing more.
        if (std::chrono::steady_clock::now() >= next_expiry_check) {
            close_expired_sessions();
            next_expiry_check = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        }
        Poco::Net::Socket::SocketList readable;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            readable.assign(clients_.begin(), clients_.end());
        }
        if (readable.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        Poco::Net::Socket::SocketList writable, failed;
        try {
            Poco::Net::Socket::select(readable, writable, failed, Poco::Timespan(0, 200'000));
        } catch (const Poco::Exception&) {
            continue;
        }
        for (auto& s : readable) {
            Poco::Net::WebSocket socket(s);
            int flags = 0;
            try {
                auto n = socket.receiveFrame(buffer, sizeof buffer, flags);
                auto opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
                if (n <= 0 && opcode != Poco::Net::WebSocket::FRAME_OP_PING) {
                    drop(socket);
                } else if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
                    drop(socket);
                } else if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
                    socket.sendFrame(buffer, n,
                                     static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                         static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PONG));
                }
            } catch (const Poco::Exception&) {
                drop(socket);
            }
        }
        for (auto& s : failed) drop(Poco::Net::WebSocket(s));
    }
}

}  // namespace linestation::web
