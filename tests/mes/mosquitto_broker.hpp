#pragma once
// A real MQTT server for one test: Debian's mosquitto on a free loopback port, with a
// config of its own in a temporary folder; stop() and start() make an outage (the port
// stays the same, retained messages are lost as on a broker without persistence).

#include <memory>
#include <optional>
#include <string>

#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

namespace linestation::testing {

class MosquittoBroker {
  public:
    MosquittoBroker();  // starts it; throws when it does not listen within seconds
    ~MosquittoBroker();
    MosquittoBroker(const MosquittoBroker&) = delete;
    MosquittoBroker& operator=(const MosquittoBroker&) = delete;

    int port() const { return port_; }
    std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
    void stop();
    void start();

  private:
    TempDir dir_;
    int port_ = 0;
    std::optional<ChildProcess> process_;
};

}  // namespace linestation::testing
