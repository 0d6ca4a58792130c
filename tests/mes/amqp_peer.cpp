#include "tests/mes/amqp_peer.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <stdexcept>

namespace linestation::testing {

AmqpPeer::AmqpPeer(std::filesystem::path record, AmqpPeerOptions options)
    : record_(std::move(record)), options_(std::move(options)), port_(options_.port) {
    start();
}

void AmqpPeer::start() {
    std::vector<std::string> argv = {
        "/usr/bin/python3", std::string(LS_SOURCE_DIR) + "/tests/mes/amqp_receiver.py",
        "--record",         record_.string(),
        "--port",           std::to_string(port_)};
    if (!options_.reject_containing.empty()) {
        argv.insert(argv.end(), {"--reject-containing", options_.reject_containing});
    }
    if (options_.release_first > 0) {
        argv.insert(argv.end(), {"--release-first", std::to_string(options_.release_first)});
    }
    child_ = std::make_unique<ChildProcess>(argv);
    const auto line = child_->wait_for_line("listening on 127.0.0.1:", 20);
    if (line.empty()) throw std::runtime_error("the AMQP receiver did not start");
    port_ = std::stoi(line.substr(line.rfind(':') + 1));
}

int AmqpPeer::pid() const {
    return child_ ? child_->pid() : -1;
}

void AmqpPeer::kill() {
    if (child_) child_->stop(9);
    child_.reset();
}

std::vector<ReceivedMessage> AmqpPeer::received() const {
    return read_received(record_);
}

std::vector<ReceivedMessage> read_received(const std::filesystem::path& record) {
    std::vector<ReceivedMessage> out;
    std::ifstream in(record);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        Poco::JSON::Object::Ptr o;
        try {
            o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
        } catch (const std::exception&) {
            continue;  // the line being written as we read
        }
        ReceivedMessage m;
        m.address = o->optValue<std::string>("address", "");
        m.message_id = o->optValue<std::string>("message_id", "");
        m.subject = o->optValue<std::string>("subject", "");
        m.content_type = o->optValue<std::string>("content_type", "");
        m.durable = o->optValue<bool>("durable", false);
        m.reply_to = o->optValue<std::string>("reply_to", "");
        m.section = o->optValue<std::string>("section", "");
        m.body = o->optValue<std::string>("body", "");
        if (auto p = o->getObject("properties")) {
            m.cfx_message = p->optValue<std::string>("cfx-message", "");
        }
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace linestation::testing
