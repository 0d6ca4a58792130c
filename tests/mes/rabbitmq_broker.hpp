#pragma once
// A real RabbitMQ for one test: Debian's rabbitmq-server (3.10) with its AMQP 1.0 plugin,
// run as a node of its own (own node name, ports, data folder, Erlang port mapper), never
// the system's service. Everything listens on 127.0.0.1 only:
// - epmd, the Erlang port mapper, on a free port (ERL_EPMD_PORT), started here and stopped
//   here, so nothing of the test outlives it;
// - the AMQP listener (0-9-1 and, through the plugin, 1.0 on the same port);
// - the Erlang distribution port.
// The plugin is enabled offline through the node's own enabled_plugins file.
// kill() is a crash: SIGKILL to the node's Erlang VM. start() brings the same node back on
// the same data folder and ports, as a broker restarted after a crash.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/common/process.hpp"
#include "tests/common/temp_dir.hpp"

namespace linestation::testing {

class RabbitMqBroker {
  public:
    RabbitMqBroker();  // starts it; throws with the node's log when it does not come up
    ~RabbitMqBroker();
    RabbitMqBroker(const RabbitMqBroker&) = delete;
    RabbitMqBroker& operator=(const RabbitMqBroker&) = delete;

    int port() const { return port_; }
    std::string url() const { return "amqp://127.0.0.1:" + std::to_string(port_); }
    // SIGKILL to the Erlang VM: no shutdown, nothing flushed that was not already.
    void kill();
    // A clean shutdown (SIGTERM, which the node takes as rabbitmqctl stop), waited for.
    void stop();
    // Starts the node again (after kill() or stop()); returns once it accepts AMQP
    // connections.
    void start();
    // How long the last start() took until the node accepted connections.
    std::chrono::milliseconds last_start() const { return last_start_; }
    // For a failing test: the end of the node's log, and its queues as rabbitmqctl lists
    // them (name, durable, messages).
    std::string log_tail() const;
    std::string queues() const;

  private:
    void write_config() const;
    std::vector<std::string> environment() const;

    TempDir dir_;
    std::string node_name_;
    int port_ = 0;
    int dist_port_ = 0;
    int epmd_port_ = 0;
    std::optional<ChildProcess> epmd_;
    std::optional<ChildProcess> node_;  // the rabbitmq-server script
    int vm_pid_ = -1;                   // its Erlang VM (RABBITMQ_PID_FILE)
    std::chrono::milliseconds last_start_{0};
};

}  // namespace linestation::testing
