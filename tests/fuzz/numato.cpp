// Numato relay modules: the echoed command, the answer and the '>' prompt, as received.
#include <string>
#include <string_view>

#include "drivers/numato/numato_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace numato = linestation::drivers::numato;

// Byte 0 picks the command (read of relay 0..31, or readall) and the relay count; the rest
// is what the board sent back.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const int relay = data[0] % 32;
    const bool readall = (data[0] & 0x20) != 0;
    const std::string command = readall ? numato::relay_readall() : numato::relay_read(relay);
    const std::string_view received(reinterpret_cast<const char*>(data + 1), size - 1);
    (void)numato::parse_relay_index(received);
    auto body = numato::response_body(received, command);
    if (!body) return 0;
    if (body->find_first_of("\r\n") != std::string::npos) {
        linestation::fuzz::broken("numato", "a response body keeps a line end");
    }
    if (readall) {
        const int relays = 1 + relay;  // 1..32, as sold
        if (auto states = numato::parse_readall(*body, relays)) {
            if (states->size() != static_cast<std::size_t>(relays)) {
                linestation::fuzz::broken("numato", "readall without one state per relay");
            }
        }
    } else {
        (void)numato::parse_state(*body);
    }
    return 0;
}
