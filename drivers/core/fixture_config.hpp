#pragma once
// A fixture as data: the boards, the camera, and per slot which board channel presses its
// reset, which switches its power, and where its LED sits in the image. Plain structs, so
// the drivers (board factory, supervisor) can take them without depending on the station;
// station/config/fixture.hpp reads them from a fixture file and validates them. They keep
// the `config` namespace because every part names them as fixture configuration.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace linestation::config {

struct SerialSettings {
    int baud = 9600;
    int data_bits = 8;
    char parity = 'N';  // N E O
    int stop_bits = 1;
    int timeout_ms = 500;
};

struct BoardConfig {
    std::string id;
    std::string driver;  // modbus-rtu lcus numato ascii dcttech-hid usb-hub virtual
    std::string port;    // serial device, tcp://host:port, USB id (VID:PID[:serial])
    int channels = 8;
    SerialSettings serial;
    int modbus_address = 1;
    int retries = 2;
};

struct ChannelRef {
    std::string board;
    int channel = 0;
};

struct Roi {
    int x = 0, y = 0, w = 0, h = 0;
};

// How a power relay is wired: through its normally-open contact (energized = powered) or
// its normally-closed one (energized = cut). A USB hub port is always "normally open".
enum class PowerWiring { NormallyOpen, NormallyClosed };

struct SlotConfig {
    std::string id;
    std::optional<ChannelRef> reset;
    std::optional<ChannelRef> power;
    // Power state when the station starts, stops or a slot is faulted.
    bool power_safe_on = true;
    PowerWiring power_wiring = PowerWiring::NormallyOpen;
    Roi led;

    // The relay level that gives the slot's device power `on`.
    bool power_energized(bool on) const {
        return on == (power_wiring == PowerWiring::NormallyOpen);
    }
};

struct CameraConfig {
    std::string source = "virtual";  // virtual, /dev/videoN, an index, rtsp://..., a file or folder
    int width = 640;
    int height = 480;
    double fps = 10;
    std::optional<double> exposure;
    std::optional<double> gain;
    std::optional<double> white_balance_k;
};

// How the station hands a pairing token to a wired gateway it found on the LAN: a frame
// protocol, the TCP port on the gateway's announced address, and a deadline. The only
// protocol is "linestation-lan-1" (drivers/lan_handover), ours: Tuya does not document
// the gateway's LAN pairing frame, so a real gateway needs an adapter that speaks it.
struct WiredHandoverConfig {
    std::string protocol = "linestation-lan-1";
    int port = 0;  // 0 in a twins' fixture until the twins fill in theirs
    int timeout_ms = 3000;
};

struct FixtureConfig {
    std::filesystem::path source;
    std::string name;
    std::vector<BoardConfig> boards;
    CameraConfig camera;
    std::vector<SlotConfig> slots;
    // Absent: this fixture cannot hand a token to a wired gateway (wired batches refused).
    std::optional<WiredHandoverConfig> wired_handover;

    const BoardConfig* board(const std::string& id) const;
    const SlotConfig* slot(const std::string& id) const;
};

}  // namespace linestation::config
