#include "station/config/fixture.hpp"

#include <set>

namespace linestation::config {

const std::vector<std::string>& known_board_drivers() {
    static const std::vector<std::string> drivers{"modbus-rtu",  "lcus",    "numato", "ascii",
                                                  "dcttech-hid", "usb-hub", "virtual"};
    return drivers;
}

namespace {

SerialSettings parse_serial(const JsonNode& node) {
    node.allow_only({"baud", "data_bits", "parity", "stop_bits", "timeout_ms"});
    SerialSettings s;
    s.baud = static_cast<int>(node.int_or("baud", s.baud, 300, 4000000));
    s.data_bits = static_cast<int>(node.int_or("data_bits", s.data_bits, 5, 8));
    if (auto p = node.find("parity")) s.parity = p->as_one_of({"N", "E", "O"})[0];
    s.stop_bits = static_cast<int>(node.int_or("stop_bits", s.stop_bits, 1, 2));
    s.timeout_ms = static_cast<int>(node.int_or("timeout_ms", s.timeout_ms, 1, 60000));
    return s;
}

ChannelRef parse_channel(const JsonNode& node, const FixtureConfig& fixture, bool power) {
    if (!power && node.has("wiring")) {
        node.at("wiring").fail_problem(
            "only a power channel has a wiring; a reset relay presses its button when energized");
    }
    if (power) {
        node.allow_only({"board", "channel", "wiring"});
    } else {
        node.allow_only({"board", "channel"});
    }
    ChannelRef ref;
    auto board_node = node.at("board");
    ref.board = board_node.as_nonempty_string();
    const auto* board = fixture.board(ref.board);
    if (!board) {
        std::string ids;
        for (const auto& b : fixture.boards) ids += (ids.empty() ? "" : ", ") + b.id;
        board_node.fail("the id of a board in $.boards (" + ids + ")");
    }
    // USB hub ports count from 1, as the hub and uhubctl number them; relays from 0.
    const int first = board->driver == "usb-hub" ? 1 : 0;
    ref.channel = static_cast<int>(node.at("channel").as_int(first, first + board->channels - 1));
    return ref;
}

Roi parse_roi(const JsonNode& node, const CameraConfig& camera) {
    auto parts = node.items();
    if (parts.size() != 4) node.fail("[x, y, width, height] in pixels");
    Roi roi;
    roi.x = static_cast<int>(parts[0].as_int(0, camera.width - 1));
    roi.y = static_cast<int>(parts[1].as_int(0, camera.height - 1));
    roi.w = static_cast<int>(parts[2].as_int(1, camera.width - roi.x));
    roi.h = static_cast<int>(parts[3].as_int(1, camera.height - roi.y));
    return roi;
}

}  // namespace

FixtureConfig parse_fixture(const JsonNode& root) {
    root.allow_only(
        {"schema", "name", "description", "boards", "camera", "slots", "wired_handover"});
    FixtureConfig f;
    f.source = root.file();
    if (auto schema = root.find("schema")) schema->as_int(1, 1);
    f.name = root.at("name").as_nonempty_string();

    std::set<std::string> board_ids;
    for (const auto& node : root.at("boards").items()) {
        node.allow_only({"id", "driver", "port", "channels", "serial", "modbus_address", "retries",
                         "description"});
        BoardConfig b;
        b.id = node.at("id").as_nonempty_string();
        if (!board_ids.insert(b.id).second) node.at("id").fail_problem("board id used twice");
        auto driver = node.at("driver");
        b.driver = driver.as_nonempty_string();
        bool known = false;
        std::string list;
        for (const auto& d : known_board_drivers()) {
            known = known || d == b.driver;
            list += (list.empty() ? "" : ", ") + d;
        }
        if (!known) driver.fail("a driver name (" + list + ")");
        b.port = node.at("port").as_nonempty_string();
        b.channels = static_cast<int>(node.int_or("channels", b.channels, 1, 256));
        if (auto serial = node.find("serial")) b.serial = parse_serial(*serial);
        b.modbus_address = static_cast<int>(node.int_or("modbus_address", 1, 1, 247));
        b.retries = static_cast<int>(node.int_or("retries", b.retries, 0, 10));
        f.boards.push_back(b);
    }

    if (auto cam = root.find("camera")) {
        cam->allow_only(
            {"source", "width", "height", "fps", "exposure", "gain", "white_balance_k"});
        f.camera.source = cam->at("source").as_nonempty_string();
        f.camera.width = static_cast<int>(cam->int_or("width", f.camera.width, 16, 8192));
        f.camera.height = static_cast<int>(cam->int_or("height", f.camera.height, 16, 8192));
        f.camera.fps = cam->positive_or("fps", f.camera.fps);
        if (auto e = cam->find("exposure")) f.camera.exposure = e->as_number();
        if (auto g = cam->find("gain")) f.camera.gain = g->as_number();
        if (auto w = cam->find("white_balance_k"))
            f.camera.white_balance_k = w->as_positive_number();
    }

    if (auto h = root.find("wired_handover")) {
        h->allow_only({"protocol", "port", "timeout_ms", "description"});
        WiredHandoverConfig w;
        w.protocol = h->at("protocol").as_one_of({"linestation-lan-1"});
        w.port = static_cast<int>(h->at("port").as_int(0, 65535));
        w.timeout_ms = static_cast<int>(h->int_or("timeout_ms", w.timeout_ms, 100, 60000));
        f.wired_handover = w;
    }

    std::set<std::string> slot_ids;
    auto slots = root.at("slots");
    if (slots.items().empty()) slots.fail("a non-empty array of slots");
    for (const auto& node : slots.items()) {
        node.allow_only({"id", "reset", "power", "power_safe_state", "led"});
        SlotConfig s;
        s.id = node.at("id").as_nonempty_string();
        if (!slot_ids.insert(s.id).second) node.at("id").fail_problem("slot id used twice");
        if (auto r = node.find("reset")) s.reset = parse_channel(*r, f, false);
        if (auto p = node.find("power")) {
            s.power = parse_channel(*p, f, true);
            if (auto wiring = p->find("wiring")) {
                const bool closed =
                    wiring->as_one_of({"normally_open", "normally_closed"}) == "normally_closed";
                if (closed && f.board(s.power->board)->driver == "usb-hub") {
                    wiring->fail_problem(
                        "a USB hub port powers its device when switched on; normally_closed is "
                        "for a relay wired through its normally-closed contact");
                }
                s.power_wiring = closed ? PowerWiring::NormallyClosed : PowerWiring::NormallyOpen;
            }
        }
        if (!s.reset && !s.power) {
            node.fail_problem("a slot needs a reset or a power channel (or both)");
        }
        if (auto safe = node.find("power_safe_state")) {
            s.power_safe_on = safe->as_one_of({"on", "off"}) == "on";
        }
        s.led = parse_roi(node.at("led"), f.camera);
        f.slots.push_back(s);
    }
    return f;
}

FixtureConfig load_fixture(const std::filesystem::path& file) {
    return parse_fixture(JsonNode::load(file));
}

}  // namespace linestation::config
