#pragma once
// Modbus RTU coils (FC01 read coils, FC05 write single coil, FC0F write multiple coils):
// pure functions from commands to frames and from received bytes to replies.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace linestation::drivers::modbus {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t kReadCoils = 0x01;
constexpr std::uint8_t kWriteSingleCoil = 0x05;
constexpr std::uint8_t kWriteMultipleCoils = 0x0F;

// CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first.
std::uint16_t crc16(std::span<const std::uint8_t> bytes);
// True when the last two bytes are the CRC of the ones before.
bool crc_ok(std::span<const std::uint8_t> frame);
void append_crc(Bytes& frame);

Bytes read_coils(std::uint8_t slave, std::uint16_t first, std::uint16_t count);
Bytes write_coil(std::uint8_t slave, std::uint16_t coil, bool on);
// Coil `first + i` takes bit i of `states` (LSB of the first byte first).
Bytes write_coils(std::uint8_t slave, std::uint16_t first, const std::vector<bool>& states);

// Modbus exception codes in words ("illegal data address (exception 2)").
std::string exception_text(std::uint8_t code);

struct Reply {
    std::size_t offset = 0;  // where the frame starts in the buffer (bytes before: noise)
    std::size_t length = 0;
    std::optional<std::uint8_t> exception;  // the slave refused the request
    std::vector<bool> coils;                // FC01: the coils asked for
};

struct Scan {
    std::optional<Reply> reply;  // a complete frame, CRC-checked, that answers `request`
    bool bad_crc = false;        // a frame of the right shape failed its CRC
};

// Looks through `received` for the reply to `request` (a frame built above). Bytes before
// the reply (line noise, a late answer to an earlier request) are skipped; a frame is
// accepted only when its CRC is right and it answers exactly this request, so garbage is
// never misread as a reply. No reply yet: keep reading, or time out.
Scan find_reply(std::span<const std::uint8_t> request, std::span<const std::uint8_t> received);

// Silence that separates frames: 3.5 characters, fixed at 1.75 ms above 19200 baud.
double frame_gap_us(double char_time_us, int baud);

}  // namespace linestation::drivers::modbus
