#include "drivers/ascii/ascii_codec.hpp"

#include <sstream>

namespace linestation::drivers::ascii {

std::string set_command(int channel, bool on) {
    return "SET " + std::to_string(channel) + (on ? " 1\n" : " 0\n");
}
std::string get_command(int channel) {
    return "GET " + std::to_string(channel) + "\n";
}
std::string pulse_command(int channel, int ms) {
    return "PULSE " + std::to_string(channel) + " " + std::to_string(ms) + "\n";
}
std::string id_command() {
    return "ID\n";
}

std::optional<std::string> take_line(std::string& buffer) {
    const auto end = buffer.find('\n');
    if (end == std::string::npos) return std::nullopt;
    std::string line = buffer.substr(0, end);
    buffer.erase(0, end + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

std::optional<Reply> parse_reply(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string head;
    in >> head;
    Reply reply;
    if (head == "OK") {
        reply.ok = true;
        std::string word;
        while (in >> word) reply.words.push_back(word);
        return reply;
    }
    if (head == "ERR") {
        in >> reply.error_code;
        std::getline(in >> std::ws, reply.error_text);
        if (reply.error_code.empty()) return std::nullopt;
        return reply;
    }
    return std::nullopt;
}

}  // namespace linestation::drivers::ascii
