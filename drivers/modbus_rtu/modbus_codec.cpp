#include "drivers/modbus_rtu/modbus_codec.hpp"

namespace linestation::drivers::modbus {

std::uint16_t crc16(std::span<const std::uint8_t> bytes) {
    std::uint16_t crc = 0xFFFF;
    for (auto b : bytes) {
        crc ^= b;
        for (int i = 0; i < 8; ++i) {
            crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001)
                            : static_cast<std::uint16_t>(crc >> 1);
        }
    }
    return crc;
}

bool crc_ok(std::span<const std::uint8_t> frame) {
    if (frame.size() < 4) return false;
    const auto crc = crc16(frame.first(frame.size() - 2));
    return frame[frame.size() - 2] == (crc & 0xFF) && frame[frame.size() - 1] == (crc >> 8);
}

void append_crc(Bytes& frame) {
    const auto crc = crc16(frame);
    frame.push_back(static_cast<std::uint8_t>(crc & 0xFF));
    frame.push_back(static_cast<std::uint8_t>(crc >> 8));
}

namespace {

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

}  // namespace

Bytes read_coils(std::uint8_t slave, std::uint16_t first, std::uint16_t count) {
    Bytes f{slave, kReadCoils};
    put16(f, first);
    put16(f, count);
    append_crc(f);
    return f;
}

Bytes write_coil(std::uint8_t slave, std::uint16_t coil, bool on) {
    Bytes f{slave, kWriteSingleCoil};
    put16(f, coil);
    put16(f, on ? 0xFF00 : 0x0000);
    append_crc(f);
    return f;
}

Bytes write_coils(std::uint8_t slave, std::uint16_t first, const std::vector<bool>& states) {
    Bytes f{slave, kWriteMultipleCoils};
    put16(f, first);
    put16(f, static_cast<std::uint16_t>(states.size()));
    const auto byte_count = (states.size() + 7) / 8;
    f.push_back(static_cast<std::uint8_t>(byte_count));
    for (std::size_t i = 0; i < byte_count; ++i) {
        std::uint8_t v = 0;
        for (std::size_t bit = 0; bit < 8 && i * 8 + bit < states.size(); ++bit) {
            if (states[i * 8 + bit]) v |= static_cast<std::uint8_t>(1u << bit);
        }
        f.push_back(v);
    }
    append_crc(f);
    return f;
}

std::string exception_text(std::uint8_t code) {
    std::string name;
    switch (code) {
        case 1:
            name = "illegal function";
            break;
        case 2:
            name = "illegal data address";
            break;
        case 3:
            name = "illegal data value";
            break;
        case 4:
            name = "slave device failure";
            break;
        case 5:
            name = "acknowledge (busy with a long command)";
            break;
        case 6:
            name = "slave device busy";
            break;
        case 8:
            name = "memory parity error";
            break;
        case 10:
            name = "gateway path unavailable";
            break;
        case 11:
            name = "gateway target failed to respond";
            break;
        default:
            name = "unknown exception";
            break;
    }
    return name + " (exception " + std::to_string(code) + ")";
}

Scan find_reply(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received) {
    Scan scan;
    if (request.size() < 8) return scan;
    const auto slave = request[0];
    const auto function = request[1];
    const auto count = get16(request, 4);
    const auto coil_bytes = static_cast<std::size_t>((count + 7) / 8);
    for (std::size_t at = 0; at + 2 <= received.size(); ++at) {
        if (received[at] != slave) continue;
        const auto fc = received[at + 1];
        std::size_t length = 0;
        if (fc == (function | 0x80)) {
            length = 5;
        } else if (fc != function) {
            continue;
        } else if (function == kReadCoils) {
            if (at + 3 > received.size()) continue;
            if (received[at + 2] != coil_bytes) continue;
            length = 3 + coil_bytes + 2;
        } else {
            length = 8;
        }
        if (at + length > received.size()) continue;
        const auto frame = received.subspan(at, length);
        if (!crc_ok(frame)) {
            scan.bad_crc = true;
            continue;
        }
        Reply reply;
        reply.offset = at;
        reply.length = length;
        if (length == 5) {
            reply.exception = frame[2];
        } else if (function == kWriteSingleCoil) {
            // The slave echoes the request; anything else is not our answer.
            if (!std::equal(frame.begin(), frame.end(), request.begin())) continue;
        } else if (function == kWriteMultipleCoils) {
            if (!std::equal(frame.begin(), frame.begin() + 6, request.begin())) continue;
        } else {
            for (std::size_t i = 0; i < count; ++i) {
                reply.coils.push_back(((frame[3 + i / 8] >> (i % 8)) & 1) != 0);
            }
        }
        scan.reply = std::move(reply);
        return scan;
    }
    return scan;
}

double frame_gap_us(double char_time_us, int baud) {
    return baud > 19200 ? 1750.0 : 3.5 * char_time_us;
}

}  // namespace linestation::drivers::modbus
