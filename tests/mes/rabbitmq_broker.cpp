#include "tests/mes/rabbitmq_broker.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/common/loopback.hpp"

namespace linestation::testing {

namespace {

// Debian's rabbitmq-server: /usr/sbin/rabbitmq-server would switch to the rabbitmq user
// and the system's node; the script under it runs the node as we configure it.
constexpr const char* kServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";
constexpr const char* kCtl = "/usr/lib/rabbitmq/bin/rabbitmqctl";
constexpr const char* kEpmd = "/usr/bin/epmd";
// A cold boot of 3.10 takes 7-8 s here when the machine is idle; much longer when the
// machine is busy building.
constexpr std::chrono::seconds kBootTimeout{180};

}  // namespace

RabbitMqBroker::RabbitMqBroker()
    : port_(free_loopback_port()),
      dist_port_(free_loopback_port()),
      epmd_port_(free_loopback_port()) {
    if (!std::filesystem::exists(kServer)) {
        throw std::runtime_error(std::string("no RabbitMQ at ") + kServer +
                                 " (package rabbitmq-server, scripts/packages.txt)");
    }
    node_name_ = "linestation-test-" + std::to_string(port_) + "@localhost";
    write_config();
    epmd_.emplace(std::vector<std::string>{kEpmd, "-port", std::to_string(epmd_port_), "-address",
                                           "127.0.0.1"});
    // Asked as a client asks it (a bare connect makes it complain of a partial packet).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (run_process({kEpmd, "-port", std::to_string(epmd_port_), "-names"}).exit_code != 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("epmd does not answer on port " + std::to_string(epmd_port_));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    start();
}

RabbitMqBroker::~RabbitMqBroker() {
    // The folder goes with the test: no graceful shutdown to wait for.
    kill();
    if (epmd_) epmd_->stop();
}

void RabbitMqBroker::write_config() const {
    // The plugin enabled offline: the node reads this file at boot (no rabbitmq-plugins,
    // which would talk to a running node).
    std::ofstream(dir_ / "enabled_plugins") << "[rabbitmq_amqp1_0].\n";
    std::ofstream(dir_ / "rabbitmq.conf") << "log.console = false\n"
                                          << "log.file.level = info\n"
                                          << "disk_free_limit.absolute = 50MB\n";
    // Read instead of /etc/rabbitmq/rabbitmq-env.conf: the system's settings stay out.
    std::ofstream(dir_ / "rabbitmq-env.conf") << "";
}

std::vector<std::string> RabbitMqBroker::environment() const {
    const auto dir = dir_.path().string();
    return {"/usr/bin/env",
            "HOME=" + dir,  // the Erlang cookie
            "ERL_EPMD_PORT=" + std::to_string(epmd_port_),
            "RABBITMQ_NODENAME=" + node_name_,
            "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
            "RABBITMQ_NODE_PORT=" + std::to_string(port_),
            "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CONF_ENV_FILE=" + dir + "/rabbitmq-env.conf",
            "RABBITMQ_CONFIG_FILE=" + dir + "/rabbitmq",
            "RABBITMQ_ADVANCED_CONFIG_FILE=" + dir + "/advanced.config",
            "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir + "/enabled_plugins",
            "RABBITMQ_MNESIA_BASE=" + dir + "/mnesia",
            "RABBITMQ_LOG_BASE=" + dir + "/log",
            "RABBITMQ_PID_FILE=" + dir + "/node.pid"};
}

void RabbitMqBroker::start() {
    std::filesystem::remove(dir_ / "node.pid");
    const auto began = std::chrono::steady_clock::now();
    auto argv = environment();
    argv.emplace_back(kServer);
    node_.emplace(argv);
    // The banner's last line; the listeners are up once the boot completed.
    if (node_->wait_for_line("completed with", static_cast<double>(kBootTimeout.count())).empty()) {
        const auto log = log_tail();
        kill();
        throw std::runtime_error("RabbitMQ node " + node_name_ + " did not boot within " +
                                 std::to_string(kBootTimeout.count()) + " s; its log:\n" + log);
    }
    wait_until_loopback_accepts(port_, std::chrono::seconds(30), "RabbitMQ " + node_name_);
    std::ifstream pid_file(dir_ / "node.pid");
    if (!(pid_file >> vm_pid_) || vm_pid_ <= 0) {
        kill();
        throw std::runtime_error("RabbitMQ node " + node_name_ + " wrote no pid to " +
                                 (dir_ / "node.pid").string());
    }
    last_start_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
}

void RabbitMqBroker::kill() {
    if (vm_pid_ > 0) ::kill(vm_pid_, SIGKILL);
    vm_pid_ = -1;
    // The script waits on its VM and ends with it. One whose VM did not boot in time is
    // ended by SIGTERM: its trap stops the VM it started, and waits for it.
    if (node_) node_->stop(SIGTERM);
    node_.reset();
}

void RabbitMqBroker::stop() {
    // The script's trap sends the VM SIGTERM and waits for it to finish.
    if (node_) node_->stop(SIGTERM);
    node_.reset();
    vm_pid_ = -1;
}

std::string RabbitMqBroker::queues() const {
    auto argv = environment();
    argv.insert(argv.end(), {kCtl, "-n", node_name_, "list_queues", "name", "durable", "messages"});
    const auto r = run_process(argv);
    return r.out + r.err;
}

std::string RabbitMqBroker::log_tail() const {
    std::ostringstream out;
    const auto log = dir_ / "log" / (node_name_ + ".log");
    std::ifstream in(log);
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    const std::size_t from = lines.size() > 80 ? lines.size() - 80 : 0;
    for (std::size_t i = from; i < lines.size(); ++i) out << lines[i] << '\n';
    return lines.empty() ? "(nothing in " + log.string() + ")" : out.str();
}

}  // namespace linestation::testing
