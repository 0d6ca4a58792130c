#pragma once
// The AMQP 1.0 peer of the MES tests: tests/mes/amqp_receiver.py (Qpid Proton's Python
// binding) as a child process, and what it recorded, message by message.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/common/process.hpp"

namespace linestation::testing {

struct ReceivedMessage {
    std::string address;
    std::string message_id;
    std::string subject;
    std::string content_type;
    bool durable = false;
    std::string reply_to;
    std::string section;  // "data" or "value"
    std::string body;
    std::string cfx_message;  // the "cfx-message" application property
};

// The messages of a record in amqp_receiver.py's form (one JSON line each; a line still
// being written is left out).
std::vector<ReceivedMessage> read_received(const std::filesystem::path& record);

struct AmqpPeerOptions {
    int port = 0;  // 0: a free one
    std::string reject_containing;
    int release_first = 0;
};

class AmqpPeer {
  public:
    AmqpPeer(std::filesystem::path record, AmqpPeerOptions options = {});
    int port() const { return port_; }
    std::string url() const { return "amqp://127.0.0.1:" + std::to_string(port_); }
    // An outage: SIGKILL, as a broker that dies; start() again on the same port.
    void kill();
    void start();
    // Its process (-1 while killed): a test freezes it with SIGSTOP, as a broker stalls.
    int pid() const;
    std::vector<ReceivedMessage> received() const;

  private:
    std::filesystem::path record_;
    AmqpPeerOptions options_;
    int port_ = 0;
    std::unique_ptr<ChildProcess> child_;
};

}  // namespace linestation::testing
