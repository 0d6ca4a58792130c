// The pairing QR payload as a device (or the virtual line) reads it: nullopt or the three
// fields, and what the station would encode from them reads back the same.
#include <string>

#include "station/qr/pairing_qr.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace linestation::qr;
    const std::string payload(reinterpret_cast<const char*>(data), size);
    auto info = parse_pairing_payload(payload);
    if (!info) return 0;
    std::string again;
    try {
        again = pairing_payload(*info);
    } catch (const QrError&) {
        return 0;  // out of range for the station to show: refused with a reason
    }
    auto back = parse_pairing_payload(again);
    if (!back || back->ssid != info->ssid || back->password != info->password ||
        back->token != info->token) {
        linestation::fuzz::broken("qr", "a payload the station encodes does not read back");
    }
    return 0;
}
