// The fixture microcontroller's line protocol: lines out of a receive buffer, then OK/ERR.
#include <string>

#include "drivers/ascii/ascii_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace ascii = linestation::drivers::ascii;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string buffer(reinterpret_cast<const char*>(data), size);
    for (;;) {
        const auto before = buffer.size();
        auto line = ascii::take_line(buffer);
        if (!line) break;
        if (buffer.size() >= before) {
            linestation::fuzz::broken("ascii", "take_line returned a line but kept the buffer");
        }
        if (auto reply = ascii::parse_reply(*line)) {
            if (reply->ok && !reply->error_code.empty()) {
                linestation::fuzz::broken("ascii", "an OK reply with an error code");
            }
        }
    }
    return 0;
}
