#include "tests/mes/mosquitto_broker.hpp"

#include <chrono>
#include <fstream>

#include "tests/common/loopback.hpp"

namespace linestation::testing {

MosquittoBroker::MosquittoBroker() : port_(free_loopback_port()) {
    std::ofstream conf(dir_ / "mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << "persistence false\n"
         << "log_dest none\n";
    conf.close();
    start();
}

MosquittoBroker::~MosquittoBroker() {
    stop();
}

void MosquittoBroker::start() {
    process_.emplace(
        std::vector<std::string>{"/usr/sbin/mosquitto", "-c", (dir_ / "mosquitto.conf").string()});
    wait_until_loopback_accepts(port_, std::chrono::seconds(10), "mosquitto");
}

void MosquittoBroker::stop() {
    if (process_) process_->stop();
    process_.reset();
}

}  // namespace linestation::testing
