// Tuya LAN broadcasts as any host on the factory network may send them to 6666 (plain JSON)
// and 6667 (a 55AA frame, AES-ECB): every datagram is an announcement or nullopt.
#include <span>
#include <string>

#include "station/flow/lan_discovery.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace linestation::flow;
    const std::span<const std::uint8_t> datagram(data, size);
    if (auto device = decode_announcement(datagram)) {
        if (device->gw_id.empty())
            linestation::fuzz::broken("lan_discovery", "a device without gwId");
    }
    // The same bytes as the JSON inside a frame (the CRC the fuzzer cannot guess): what 6667
    // carries after decryption reaches the same JSON reading.
    const std::string json(reinterpret_cast<const char*>(data), size);
    if (json.empty() || json[0] != '{') return 0;  // a frame's payload is told plain by its '{'
    const auto plain = decode_announcement(encode_announcement(json, false));
    const auto encrypted = decode_announcement(encode_announcement(json, true));
    if (plain.has_value() != encrypted.has_value() ||
        (plain && (plain->gw_id != encrypted->gw_id || plain->active != encrypted->active))) {
        linestation::fuzz::broken("lan_discovery", "6666 and 6667 read the same JSON differently");
    }
    return 0;
}
