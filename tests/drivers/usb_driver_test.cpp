// The USB drivers' real libusb code against twins on a umockdev testbed (this binary runs
// under libumockdev-preload.so; see tests/drivers/CMakeLists.txt).

#include <gtest/gtest.h>

#include "drivers/core/board_factory.hpp"
#include "drivers/core/serial_transport.hpp"
#include "drivers/dcttech_hid/hid_relay_board.hpp"
#include "drivers/usb_hub/hub_port_power.hpp"
#include "fixtures/virtual/usb/usb_twin.hpp"
#include "station/clock/clock.hpp"
#include "tests/common/process.hpp"

using namespace linestation;
using namespace linestation::drivers;

namespace {

bool logged(const fixtures::UsbTwin& twin, const std::string& what) {
    for (const auto& r : twin.log()) {
        if (r.what == what) return true;
    }
    return false;
}

}  // namespace

TEST(HidRelayDriver, SwitchesAndReadsBackThroughLibusb) {
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::HidRelayTwin twin(bed, 5, "QWERT", 2, clock);
    {
        HidRelayBoard board("16c0:05df");
        EXPECT_EQ(board.channels(), 2);
        EXPECT_FALSE(twin.kernel_driver_bound());  // detached to claim the interface
        EXPECT_TRUE(logged(twin, "kernel driver detached from interface 0"));
        EXPECT_EQ(board.state().board_id, "QWERT");
        board.set(1, true);
        EXPECT_TRUE(twin.relay(2));
        EXPECT_FALSE(twin.relay(1));
        EXPECT_TRUE(board.get(1));
        EXPECT_TRUE(logged(twin, "SET_REPORT ff 02 00 00 00 00 00 00"));
        board.set(1, false);
        EXPECT_FALSE(twin.relay(2));
        EXPECT_TRUE(logged(twin, "SET_REPORT fd 02 00 00 00 00 00 00"));
        EXPECT_NE(board.describe().find("USBRelay2"), std::string::npos);
    }
    EXPECT_TRUE(twin.kernel_driver_bound());  // given back on close
}

TEST(HidRelayDriver, FoundByBoardIdAndOpenedFromAFixtureEntry) {
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::HidRelayTwin first(bed, 5, "AAAAA", 1, clock);
    fixtures::HidRelayTwin second(bed, 6, "BBBBB", 4, clock);
    config::BoardConfig entry;
    entry.id = "power";
    entry.driver = "dcttech-hid";
    entry.port = "16c0:05df:BBBBB";
    entry.channels = 4;
    auto board = open_board(entry);
    board->set(3, true);
    EXPECT_TRUE(second.relay(4));
    EXPECT_FALSE(first.relay(1));
    config::BoardConfig missing = entry;
    missing.port = "16c0:05df:ZZZZZ";
    try {
        open_board(missing);
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("no HID relay with board id \"ZZZZZ\""), std::string::npos)
            << e.what();
    }
}

TEST(HidRelayDriver, AStuckRelayAndAnUnpluggedBoardAreErrors) {
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::HidRelayTwin twin(bed, 5, "QWERT", 2, clock);
    HidRelayBoard board("16c0:05df:QWERT");
    twin.stick(1);
    try {
        board.set(0, true);
        FAIL() << "a relay that did not switch was reported switched";
    } catch (const DriverError& e) {
        EXPECT_NE(e.cause().find("relay 1 still off after the command (read back)"),
                  std::string::npos)
            << e.what();
    }
    twin.unplug();
    EXPECT_THROW(board.get(1), DriverError);
}

TEST(UsbHubDriver, SwitchesPortPowerWithUhubctlsRequests) {
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::UsbHubTwin hub(bed, 7, 4, true, clock);
    HubPortPower power("2109:2817");
    EXPECT_EQ(power.channels(), 4);
    EXPECT_TRUE(power.get(3));
    power.set(3, false);
    EXPECT_FALSE(hub.port_power(3));
    EXPECT_TRUE(hub.port_power(2));
    EXPECT_FALSE(power.get(3));
    power.set(3, true);
    EXPECT_TRUE(hub.port_power(3));
    EXPECT_TRUE(logged(hub, "CLEAR_FEATURE PORT_POWER port 3"));
    EXPECT_TRUE(logged(hub, "SET_FEATURE PORT_POWER port 3"));
    EXPECT_THROW(power.set(5, true), DriverError);
    EXPECT_THROW(power.set(0, true), DriverError);
}

TEST(UsbHubDriver, ASuperSpeedHubUsesItsOwnDescriptorAndPowerBit) {
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::UsbHubTwin hub(bed, 8, 4, true, clock, true);
    HubPortPower power("1-8");  // by bus path, as uhubctl names hubs
    EXPECT_EQ(power.channels(), 4);
    EXPECT_TRUE(power.get(4));
    power.set(4, false);
    EXPECT_FALSE(hub.port_power(4));
    EXPECT_FALSE(power.get(4));
    EXPECT_TRUE(logged(hub, "GET_DESCRIPTOR superspeed hub"));
}

TEST(UsbHubDriver, AHubWithoutPerPortSwitchingIsRefused) {
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::UsbHubTwin hub(bed, 7, 4, false, clock);
    try {
        HubPortPower power("2109:2817");
        FAIL() << "no error";
    } catch (const DriverError& e) {
        EXPECT_EQ(e.board(), "usb-hub");
        EXPECT_NE(e.cause().find("cannot switch port power per port"), std::string::npos)
            << e.what();
    }
}

TEST(SerialPortLookup, AUsbAdapterIsFoundByIdsAndSerialAgainAfterAReplug) {
    fixtures::UsbTestbed bed;
    {
        fixtures::UsbSerialAdapterTwin adapter(bed, "1-2", "ttyUSB0", 0x0403, 0x6001, "FT123");
        fixtures::UsbSerialAdapterTwin other(bed, "1-4", "ttyUSB1", 0x1a86, 0x7523, "CH1");
        bool listed = false;
        for (const auto& port : list_serial_ports()) {
            if (port.device != "/dev/ttyUSB0") continue;
            listed = true;
            EXPECT_TRUE(port.usb);
            EXPECT_EQ(port.vid, 0x0403);
            EXPECT_EQ(port.pid, 0x6001);
            EXPECT_EQ(port.serial, "FT123");
        }
        EXPECT_TRUE(listed);
        EXPECT_EQ(find_serial_port(UsbId{0x0403, 0x6001, "FT123"}), "/dev/ttyUSB0");
        EXPECT_EQ(find_serial_port(UsbId{0x1a86, 0x7523, ""}), "/dev/ttyUSB1");
    }
    // Replugged into another socket, it comes back under another name.
    fixtures::UsbSerialAdapterTwin adapter(bed, "1-3", "ttyUSB2", 0x0403, 0x6001, "FT123");
    fixtures::UsbSerialAdapterTwin twin_model(bed, "1-5", "ttyUSB3", 0x0403, 0x6001, "FT999");
    EXPECT_EQ(find_serial_port(UsbId{0x0403, 0x6001, "FT123"}), "/dev/ttyUSB2");
    try {
        find_serial_port(UsbId{0x0403, 0x6001, ""});
        FAIL() << "two adapters of one model were not told apart";
    } catch (const TransportError& e) {
        EXPECT_NE(std::string(e.what()).find("matches 2 ports"), std::string::npos) << e.what();
    }
    try {
        find_serial_port(UsbId{0x0403, 0x6001, "NOPE"});
        FAIL() << "no error";
    } catch (const TransportError& e) {
        EXPECT_NE(std::string(e.what()).find("0403:6001 serial \"NOPE\" is not attached"),
                  std::string::npos)
            << e.what();
    }
}

TEST(FixtureCliUsb, ListsAndSwitchesUsbBoardsOnTheTestbed) {
    // The child inherits the preload and UMOCKDEV_DIR, so it sees this testbed and its ioctls
    // reach the twins' handlers in this process.
    SystemClock clock;
    fixtures::UsbTestbed bed;
    fixtures::HidRelayTwin relay(bed, 5, "QWERT", 2, clock);
    fixtures::UsbHubTwin hub(bed, 7, 4, true, clock);
    fixtures::UsbSerialAdapterTwin adapter(bed, "1-2", "ttyUSB0", 0x0403, 0x6001, "FT123");
    auto r = linestation::testing::run_process({LS_STATION_BINARY, "fixture", "list"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("serial    /dev/ttyUSB0  usb:0403:6001:FT123"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("hid-relay 1-5  16c0:05df  USBRelay2  id QWERT"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("usb-hub   1-7  2109:2817  4 ports, per-port power switching"),
              std::string::npos)
        << r.out;
    r = linestation::testing::run_process({LS_STATION_BINARY, "fixture", "on", "--driver",
                                           "dcttech-hid", "--port", "16c0:05df:QWERT", "--channel",
                                           "1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(relay.relay(2));
    r = linestation::testing::run_process({LS_STATION_BINARY, "fixture", "off", "--driver",
                                           "usb-hub", "--port", "2109:2817", "--channel", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(hub.port_power(2));
    r = linestation::testing::run_process({LS_STATION_BINARY, "fixture", "on", "--driver",
                                           "usb-hub", "--port", "2109:2817", "--channel", "9"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("usb-hub on 2109:2817: channel 9 out of range 1..4"), std::string::npos)
        << r.err;
}
