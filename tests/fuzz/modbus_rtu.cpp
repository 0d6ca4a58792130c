// Modbus RTU replies as a board (or line noise) may send them: find_reply must never read
// outside the bytes it got, and what it accepts is a CRC-checked frame inside them.
#include <span>
#include <vector>

#include "drivers/modbus_rtu/modbus_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace modbus = linestation::drivers::modbus;

// Byte 0 picks the request (FC01, FC05, FC0F), byte 1 the slave, byte 2 the coil count;
// the rest is what came back on the line.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::uint8_t slave = data[1];
    const auto count = static_cast<std::uint16_t>(1 + data[2] % 32);
    modbus::Bytes request;
    switch (data[0] % 3) {
        case 0:
            request = modbus::read_coils(slave, 0, count);
            break;
        case 1:
            request = modbus::write_coil(slave, count, (data[0] & 0x80) != 0);
            break;
        default:
            request = modbus::write_coils(slave, 0, std::vector<bool>(count, true));
            break;
    }
    const std::span<const std::uint8_t> received(data + 3, size - 3);
    (void)modbus::crc_ok(received);
    const auto scan = modbus::find_reply(request, received);
    if (scan.reply) {
        const auto& r = *scan.reply;
        if (r.offset + r.length > received.size()) {
            linestation::fuzz::broken("modbus_rtu", "reply lies outside the received bytes");
        }
        if (!modbus::crc_ok(received.subspan(r.offset, r.length))) {
            linestation::fuzz::broken("modbus_rtu", "accepted a frame whose CRC is wrong");
        }
        if (!r.exception && data[0] % 3 == 0 && r.coils.size() != count) {
            linestation::fuzz::broken("modbus_rtu", "FC01 reply without the coils asked for");
        }
        if (r.exception) (void)modbus::exception_text(*r.exception);
    }
    return 0;
}
