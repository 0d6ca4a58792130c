#pragma once
// What the slow-client tests (HTTP and HTTPS) read back from the connections they held open.

#include <Poco/Exception.h>
#include <Poco/Timespan.h>

#include <string>
#include <vector>

namespace linestation::testing {

// How many of `sockets` (StreamSocket or SecureStreamSocket) got an answer starting with
// `status_line` (e.g. "HTTP/1.1 408") within a second each.
template <typename Socket>
std::size_t answered_with(std::vector<Socket>& sockets, const std::string& status_line) {
    std::size_t answered = 0;
    for (auto& s : sockets) {
        s.setReceiveTimeout(Poco::Timespan(1, 0));
        char buffer[512];
        try {
            int n = s.receiveBytes(buffer, sizeof buffer);
            if (n > 0 &&
                std::string(buffer, static_cast<std::size_t>(n)).rfind(status_line, 0) == 0)
                ++answered;
        } catch (const Poco::Exception&) {
            // Reset: not answered.
        }
    }
    return answered;
}

}  // namespace linestation::testing
