// Codecs byte for byte against the frames in the issue and the boards' manuals.

#include <gtest/gtest.h>

#include "drivers/ascii/ascii_codec.hpp"
#include "drivers/dcttech_hid/hid_relay_codec.hpp"
#include "drivers/lcus/lcus_codec.hpp"
#include "drivers/modbus_rtu/modbus_codec.hpp"
#include "drivers/numato/numato_codec.hpp"
#include "drivers/usb_hub/hub_codec.hpp"

using namespace linestation::drivers;
using B = std::vector<std::uint8_t>;

TEST(ModbusCodec, WriteSingleCoilFramesMatchTheManual) {
    EXPECT_EQ(modbus::write_coil(1, 0, true), (B{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A}));
    EXPECT_EQ(modbus::write_coil(1, 0, false), (B{0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA}));
}

TEST(ModbusCodec, ReadCoilsRequestAndReply) {
    const auto request = modbus::read_coils(1, 0, 8);
    EXPECT_EQ(request, (B{0x01, 0x01, 0x00, 0x00, 0x00, 0x08, 0x3D, 0xCC}));
    const B reply{0x01, 0x01, 0x01, 0x05, 0x91, 0x8B};
    const auto scan = modbus::find_reply(request, reply);
    ASSERT_TRUE(scan.reply);
    EXPECT_EQ(scan.reply->coils,
              (std::vector<bool>{true, false, true, false, false, false, false, false}));
}

TEST(ModbusCodec, WriteMultipleCoilsRequestAndReply) {
    std::vector<bool> states{false, false, false, false, false, true, false, true};  // 0xA0
    const auto request = modbus::write_coils(1, 0, states);
    EXPECT_EQ(request, (B{0x01, 0x0F, 0x00, 0x00, 0x00, 0x08, 0x01, 0xA0, 0xFE, 0xED}));
    const auto scan =
        modbus::find_reply(request, B{0x01, 0x0F, 0x00, 0x00, 0x00, 0x08, 0x54, 0x0D});
    ASSERT_TRUE(scan.reply);
    EXPECT_FALSE(scan.reply->exception);
}

TEST(ModbusCodec, ExceptionReplyIsDecodedAndNamed) {
    const auto request = modbus::write_coil(1, 50, true);
    const auto scan = modbus::find_reply(request, B{0x01, 0x85, 0x02, 0xC3, 0x51});
    ASSERT_TRUE(scan.reply);
    ASSERT_TRUE(scan.reply->exception);
    EXPECT_EQ(*scan.reply->exception, 2);
    EXPECT_EQ(modbus::exception_text(2), "illegal data address (exception 2)");
}

TEST(ModbusCodec, CrcOfKnownFrames) {
    EXPECT_EQ(modbus::crc16(B{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00}), 0x3A8C);
    EXPECT_TRUE(modbus::crc_ok(B{0x01, 0x01, 0x01, 0x05, 0x91, 0x8B}));
    EXPECT_FALSE(modbus::crc_ok(B{0x01, 0x01, 0x01, 0x05, 0x91, 0x8C}));
}

TEST(ModbusCodec, GarbageBeforeTheReplyIsSkipped) {
    const auto request = modbus::read_coils(1, 0, 8);
    // Noise that even starts with the slave address and function code.
    const B received{0x00, 0xFF, 0x01, 0x01, 0x01, 0x07, 0x01, 0x01, 0x01, 0x05, 0x91, 0x8B};
    const auto scan = modbus::find_reply(request, received);
    ASSERT_TRUE(scan.reply);
    EXPECT_EQ(scan.reply->offset, 6u);
    EXPECT_TRUE(scan.reply->coils[0]);
    EXPECT_TRUE(scan.reply->coils[2]);
    EXPECT_FALSE(scan.reply->coils[1]);
}

TEST(ModbusCodec, CorruptOrForeignFramesAreNeverReplies) {
    const auto request = modbus::write_coil(1, 0, true);
    // Bad CRC.
    auto scan = modbus::find_reply(request, B{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3B});
    EXPECT_FALSE(scan.reply);
    EXPECT_TRUE(scan.bad_crc);
    // A valid frame that answers another request (coil 0 off) is not our confirmation.
    scan = modbus::find_reply(request, modbus::write_coil(1, 0, false));
    EXPECT_FALSE(scan.reply);
    // Another slave's reply.
    scan = modbus::find_reply(request, modbus::write_coil(2, 0, true));
    EXPECT_FALSE(scan.reply);
    // A truncated reply waits for more.
    scan = modbus::find_reply(request, B{0x01, 0x05, 0x00, 0x00, 0xFF});
    EXPECT_FALSE(scan.reply);
    EXPECT_FALSE(scan.bad_crc);
}

TEST(ModbusCodec, FrameGapIsThreeAndAHalfCharacters) {
    EXPECT_NEAR(modbus::frame_gap_us(1e6 * 10 / 9600, 9600), 3645.8, 0.1);
    EXPECT_DOUBLE_EQ(modbus::frame_gap_us(1e6 * 10 / 115200, 115200), 1750.0);
}

TEST(LcusCodec, SwitchFramesMatchTheManual) {
    EXPECT_EQ(lcus::switch_frame(1, true), (B{0xA0, 0x01, 0x01, 0xA2}));
    EXPECT_EQ(lcus::switch_frame(1, false), (B{0xA0, 0x01, 0x00, 0xA1}));
    EXPECT_EQ(lcus::switch_frame(8, true), (B{0xA0, 0x08, 0x01, 0xA9}));
    const B bad{0xA0, 0x01, 0x01, 0xA3};
    EXPECT_FALSE(lcus::parse_frame(bad.data()));
    const B good{0xA0, 0x04, 0x00, 0xA4};
    auto command = lcus::parse_frame(good.data());
    ASSERT_TRUE(command);
    EXPECT_EQ(command->relay, 4);
    EXPECT_FALSE(command->on);
}

TEST(LcusCodec, StatusLines) {
    EXPECT_EQ(lcus::status_text({false, true}), "CH1: OFF\r\nCH2: ON\r\n");
    EXPECT_FALSE(lcus::parse_status("CH1: OFF\r\nCH2: O", 2));
    auto states = lcus::parse_status("CH1: OFF\r\nCH2: ON\r\n", 2);
    ASSERT_TRUE(states);
    EXPECT_EQ(*states, (std::vector<bool>{false, true}));
}

TEST(NumatoCodec, CommandsAndRelayLetters) {
    EXPECT_EQ(numato::relay_on(0), "relay on 0\r");
    EXPECT_EQ(numato::relay_off(9), "relay off 9\r");
    EXPECT_EQ(numato::relay_read(10), "relay read A\r");
    EXPECT_EQ(numato::relay_on(31), "relay on V\r");
    EXPECT_THROW(numato::relay_index(32), std::out_of_range);
    EXPECT_EQ(numato::parse_relay_index("F"), 15);
    EXPECT_EQ(numato::relay_readall(), "relay readall\r");
}

TEST(NumatoCodec, EchoPromptAndBody) {
    EXPECT_FALSE(numato::response_body("relay read 3\n\ron", "relay read 3\r"));
    auto body = numato::response_body("relay read 3\n\ron\n\r>", "relay read 3\r");
    ASSERT_TRUE(body);
    EXPECT_EQ(*body, "on");
    EXPECT_EQ(numato::parse_state(*body), true);
    body = numato::response_body("relay on 3\n\r>", "relay on 3\r");
    ASSERT_TRUE(body);
    EXPECT_EQ(*body, "");
    auto all = numato::parse_readall("a5", 8);
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, (std::vector<bool>{true, false, true, false, false, true, false, true}));
}

TEST(AsciiCodec, RequestsAndReplies) {
    EXPECT_EQ(ascii::set_command(3, true), "SET 3 1\n");
    EXPECT_EQ(ascii::pulse_command(2, 4000), "PULSE 2 4000\n");
    std::string buffer = "boot v1.2\r\nOK 3 1\nERR CHANNEL no channel 9\n";
    auto line = ascii::take_line(buffer);
    ASSERT_TRUE(line);
    EXPECT_FALSE(ascii::parse_reply(*line));  // banner: noise
    auto ok = ascii::parse_reply(*ascii::take_line(buffer));
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->ok);
    EXPECT_EQ(ok->words, (std::vector<std::string>{"3", "1"}));
    auto err = ascii::parse_reply(*ascii::take_line(buffer));
    ASSERT_TRUE(err);
    EXPECT_FALSE(err->ok);
    EXPECT_EQ(err->error_code, "CHANNEL");
    EXPECT_EQ(err->error_text, "no channel 9");
    EXPECT_FALSE(ascii::take_line(buffer));
}

TEST(HidRelayCodec, ReportsMatchTheProtocol) {
    EXPECT_EQ(hid_relay::switch_report(1, true), (hid_relay::Report{0xFF, 1, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(hid_relay::switch_report(2, false), (hid_relay::Report{0xFD, 2, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(hid_relay::switch_all_report(true)[0], 0xFE);
    const hid_relay::Report report{'Q', 'W', 'E', 'R', 'T', 0, 0, 0x05};
    auto state = hid_relay::parse_state(report);
    EXPECT_EQ(state.board_id, "QWERT");
    EXPECT_EQ(state.relays, 0x05);
    EXPECT_EQ(hid_relay::state_report(state), report);
    EXPECT_EQ(hid_relay::relays_from_product("USBRelay2"), 2);
    EXPECT_FALSE(hid_relay::relays_from_product("USBasp"));
    // Found by fuzzing: a long run of digits overflowed the relay count (signed overflow).
    EXPECT_FALSE(hid_relay::relays_from_product("USBRelay44444444444444444"));
    EXPECT_FALSE(hid_relay::relays_from_product("USBRelay9"));
}

TEST(UsbHubCodec, DescriptorAndPortStatus) {
    // 4-port hub, wHubCharacteristics 0x0009: per-port power switching.
    const B per_port{0x09, 0x29, 0x04, 0x09, 0x00, 0x32, 0x64, 0x00, 0xFF};
    auto d = usb_hub::parse_hub_descriptor(per_port);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ports, 4);
    EXPECT_EQ(d->switching, usb_hub::PowerSwitching::per_port);
    const B none{0x09, 0x29, 0x04, 0x0A, 0x00, 0x32, 0x64, 0x00, 0xFF};
    EXPECT_EQ(usb_hub::parse_hub_descriptor(none)->switching, usb_hub::PowerSwitching::none);
    EXPECT_FALSE(usb_hub::parse_hub_descriptor(B{0x09, 0x02, 0x04, 0x09, 0x00}));
    EXPECT_EQ(usb_hub::hub_descriptor_value(false), 0x2900);
    EXPECT_EQ(usb_hub::hub_descriptor_value(true), 0x2A00);
    EXPECT_EQ(usb_hub::port_status(B{0x03, 0x01, 0x00, 0x00}), 0x0103);
    EXPECT_TRUE(usb_hub::port_status(B{0x03, 0x01, 0, 0}) & usb_hub::port_power_bit(false));
    EXPECT_FALSE(usb_hub::port_status(B{0x03, 0x01, 0, 0}) & usb_hub::port_power_bit(true));
}
