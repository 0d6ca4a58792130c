// `station twins`: the virtual line's twins as a process of their own, for a station that
// runs exactly as on a rig (`station serve --config DIR/station.json`): board twins behind
// device servers on loopback TCP, the camera as an MJPEG network camera, the cloud
// emulator over HTTP. They write the fixture (ports filled in) and a station config naming
// it; the devices look at the station's QR screen through its API (as a kiosk browser
// would, logged in), and a small control API on loopback lets a test be the operator:
//   POST /slots/SLOT/load   a fresh unit into the slot, answers {"slot","serial"}
//   GET  /record            every unit loaded: its label, its cloud device id, its hidden
//                           truth and who the cloud has it bound to now, the cloud's count
//                           of today's unbinds per product, and the LAN hand-overs the
//                           gateways took over TCP
//   POST /cloud/refuse-removals, /cloud/allow-removals
//                           the cloud refuses every "Remove device" (1106 permission deny)
//                           until allowed again: a device bound to the station's account stays

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "app/station_session.hpp"
#include "fixtures/virtual/camera/mjpeg_server.hpp"
#include "fixtures/virtual/line/virtual_line.hpp"
#include "station/config/shipped_files.hpp"
#include "web/http.hpp"

namespace linestation::app {

namespace {

struct LoadedUnit {
    std::string slot;
    std::string serial;     // its label (uuid, sn, MAC or device id, as the recipe says)
    std::string device_id;  // the cloud's name for it: whom it is bound to is asked by this
    virtual_line::DeviceTruth truth;
};

// The twins and what was done with them, behind one lock: the control API, the camera
// stream and the stepping loop each run on their own thread.
struct World {
    std::mutex mutex;
    virtual_line::VirtualLine* line = nullptr;
    std::unique_ptr<drivers::FrameSource> cable;
    std::vector<LoadedUnit> units;

    std::optional<cv::Mat> capture() {
        std::lock_guard lock(mutex);
        try {
            if (!cable) cable = line->open_camera();
            auto f = cable->read();
            if (!f) cable.reset();
            return f ? std::optional(f->image) : std::nullopt;
        } catch (const drivers::CameraError&) {
            return std::nullopt;
        }
    }

    std::string record_json() {
        std::lock_guard lock(mutex);
        Poco::JSON::Array devices;
        for (const auto& u : units) {
            Poco::JSON::Object o;
            o.set("slot", u.slot);
            o.set("serial", u.serial);
            o.set("device_id", u.device_id);
            o.set("kind", u.truth.kind);
            o.set("expect_verdict", u.truth.expect_verdict);
            o.set("expect_reason", u.truth.expect_reason);
            if (auto owner = line->cloud().bound_to(u.device_id)) {
                o.set("bound_to", *owner);
            } else {
                o.set("bound_to", Poco::Dynamic::Var());
            }
            devices.add(o);
        }
        Poco::JSON::Object out;
        out.set("units", devices);
        // The cloud's own count of the day's unbinds per product (its daily quota).
        std::map<std::string, int> unbinds;
        for (const auto& u : line->cloud().unbinds()) {
            if (u.utc_day == line->cloud().utc_day()) ++unbinds[u.product_id];
        }
        Poco::JSON::Object today;
        for (const auto& [product, n] : unbinds) today.set(product, n);
        out.set("unbinds_today", today);
        // The LAN hand-over requests the gateways' listener took (over TCP).
        out.set("handovers", line->handovers_requested());
        return web::to_json(out);
    }
};

class ControlHandler final : public Poco::Net::HTTPRequestHandler {
  public:
    explicit ControlHandler(World& world) : world_(world) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        const auto& uri = request.getURI();
        response.setContentType("application/json");
        const std::string prefix = "/slots/", suffix = "/load";
        if (request.getMethod() == "GET" && uri == "/record") {
            response.send() << world_.record_json();
            return;
        }
        if (request.getMethod() == "POST" &&
            (uri == "/cloud/refuse-removals" || uri == "/cloud/allow-removals")) {
            std::lock_guard lock(world_.mutex);
            if (uri == "/cloud/refuse-removals") {
                world_.line->cloud().refuse_removals(
                    virtual_line::Refusal{"1106", "permission deny"});
            } else {
                world_.line->cloud().refuse_removals(std::nullopt);
            }
            response.send() << R"({"ok":true})";
            return;
        }
        if (request.getMethod() == "POST" && uri.rfind(prefix, 0) == 0 &&
            uri.size() > prefix.size() + suffix.size() &&
            uri.compare(uri.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const auto slot = uri.substr(prefix.size(), uri.size() - prefix.size() - suffix.size());
            std::lock_guard lock(world_.mutex);
            if (!world_.line->fixture().slot(slot)) {
                response.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
                response.send() << R"({"error":"no slot \")" << slot << R"(\" on the fixture"})";
                return;
            }
            const auto serial = world_.line->load(slot);
            const auto* device = world_.line->device(slot);
            world_.units.push_back({slot, serial, device->id(), device->truth()});
            Poco::JSON::Object o;
            o.set("slot", slot);
            o.set("serial", serial);
            response.send() << web::to_json(o);
            return;
        }
        response.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
        response.send()
            << R"({"error":"expected POST /slots/SLOT/load, GET /record or POST /cloud/refuse-removals|allow-removals"})";
    }

  private:
    World& world_;
};

class ControlFactory final : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit ControlFactory(World& world) : world_(world) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new ControlHandler(world_);  // Poco owns and deletes the handler
    }

  private:
    World& world_;
};

int free_port() {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    return s.address().port();
}

// The station's LAN listener, on ports the twins chose so their gateways know where to
// announce themselves (Tuya's 6666/6667 on a real LAN).
struct LanListener {
    int plain_port = 0;
    int encrypted_port = 0;
};

// Two free UDP ports on loopback (both held while they are picked, so they differ).
LanListener free_lan_ports() {
    Poco::Net::DatagramSocket plain(Poco::Net::SocketAddress("127.0.0.1", 0));
    Poco::Net::DatagramSocket encrypted(Poco::Net::SocketAddress("127.0.0.1", 0));
    return {plain.address().port(), encrypted.address().port()};
}

void write_file(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file);
    out << text << "\n";
    if (!out) throw std::runtime_error(file.string() + ": cannot write");
}

// The fixture file as given, with the twins' ports (boards, the gateways' LAN hand-over)
// and the camera's URL in it.
std::string fixture_json(const std::filesystem::path& given, const config::FixtureConfig& served,
                         const std::string& camera_url) {
    std::ifstream in(given);
    std::stringstream text;
    text << in.rdbuf();
    auto root = Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
    auto boards = root->getArray("boards");
    for (std::size_t i = 0; boards && i < boards->size(); ++i) {
        auto b = boards->getObject(static_cast<unsigned>(i));
        if (const auto* s = served.board(b->getValue<std::string>("id"))) b->set("port", s->port);
    }
    auto camera = root->getObject("camera");
    if (!camera) {
        camera = new Poco::JSON::Object;  // Poco counts references
        root->set("camera", camera);
    }
    camera->set("source", camera_url);
    if (auto handover = root->getObject("wired_handover"); handover && served.wired_handover) {
        handover->set("port", served.wired_handover->port);
    }
    return web::to_json(*root);
}

std::string station_json(const std::filesystem::path& dir, int http_port,
                         const config::CloudSettings& cloud, const config::WifiSettings& wifi,
                         const LanListener& listener) {
    Poco::JSON::Object station, http, store, log, c, w, root;
    station.set("id", "virtual-station");
    station.set("name", "Virtual line (twins)");
    http.set("port", http_port);
    store.set("path", "station.db");
    log.set("file", "log/station.log");
    c.set("endpoint", cloud.endpoint);
    c.set("client_id", cloud.client_id);
    c.set("secret", cloud.secret);
    c.set("uid", cloud.uid);
    c.set("unbind_quota_per_account", cloud.unbind_quota_per_account);
    c.set("unbind_quota_per_product", cloud.unbind_quota_per_product);
    Poco::JSON::Object lan;  // the station's LAN listener on loopback
    lan.set("bind", "127.0.0.1");
    lan.set("plain_port", listener.plain_port);
    lan.set("encrypted_port", listener.encrypted_port);
    w.set("ssid", wifi.ssid);
    w.set("password", wifi.password);
    root.set("schema", 1);
    root.set("description", "written by station twins: the virtual line's twins in " +
                                dir.string() + " (secrets are the emulator's)");
    root.set("station", station);
    root.set("http", http);
    root.set("store", store);
    root.set("log", log);
    root.set("fixture", "fixture.json");
    root.set("recipes", config::default_station_config().recipes_dir.string());
    root.set("cloud", c);
    root.set("wifi", w);
    root.set("lan", lan);
    return web::to_json(root);
}

}  // namespace

int run_twins(const Args& args) {
    CommandLine cli(
        "twins",
        "--write-config DIR [--fixture FILE] [--seed S] [--mix FILE] "
        "[--station-port N] [--screen-login NAME --password-stdin|--screen-password-env VAR]",
        "Runs the virtual line's twins as a process of their own and writes "
        "DIR/fixture.json (the twins' ports filled in) and DIR/station.json for "
        "`station serve --config DIR/station.json`. Stops on SIGINT or SIGTERM.");
    cli.option("write-config", "DIR", "where to write fixture.json and station.json", true)
        .option("fixture", "FILE", "the fixture (default fixtures/virtual-8.json)")
        .option("seed", "S", "random seed of the devices (default 1)")
        .option("label", "KIND",
                "what the units' labels carry: uuid (default, as the shipped recipes say), sn, "
                "mac or device_id")
        .option("mix", "FILE", "JSON mix of hidden truths and shift settings")
        .option("station-port", "N", "the station's HTTP port to write (default: a free one)")
        .option("screen-login", "NAME", "the user the devices' view of the QR screen logs in as")
        .flag("password-stdin", "read that user's password from standard input")
        .option("screen-password-env", "VAR", "or from this environment variable");
    if (!cli.parse(args, std::cout)) return 0;
    const std::filesystem::path dir = cli.value("write-config");
    const std::filesystem::path fixture_file =
        cli.value_or("fixture", (config::shipped_files().fixtures_dir / "virtual-8.json").string());
    const int station_port =
        cli.has("station-port") ? cli.int_value("station-port", 0, 1, 65535) : free_port();
    std::string screen_password;
    if (cli.has("screen-login")) {
        if (cli.has("screen-password-env")) {
            const char* value = std::getenv(cli.value("screen-password-env").c_str());
            if (!value || !*value) {
                throw UsageError("twins: --screen-password-env: " +
                                 cli.value("screen-password-env") + " is not set");
            }
            screen_password = value;
        } else if (cli.has("password-stdin")) {
            screen_password = read_password_line();
        } else {
            throw UsageError(
                "twins: --screen-login needs --password-stdin or "
                "--screen-password-env (passwords never go on the command line)");
        }
    }
    std::filesystem::create_directories(dir);

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    SystemClock clock;
    virtual_line::VirtualLineOptions vo;
    vo.fixture = config::load_fixture(fixture_file);
    vo.seed = static_cast<std::uint64_t>(cli.int_value("seed", 1, 0, 2'000'000'000));
    if (cli.has("mix")) vo.mix = virtual_line::load_mix(cli.value("mix"));
    vo.mix.accounts = 1;  // a station config names one account
    vo.label = cli.value_or("label", "uuid");
    if (vo.label != "uuid" && vo.label != "sn" && vo.label != "mac" && vo.label != "device_id") {
        throw UsageError("twins: --label: expected uuid, sn, mac or device_id, got \"" + vo.label +
                         "\"");
    }
    virtual_line::VirtualLine line(clock, vo);
    World world;
    world.line = &line;
    virtual_line::MjpegServer camera([&world] { return world.capture(); }, vo.fixture.camera.fps);

    write_file(dir / "fixture.json", fixture_json(fixture_file, line.fixture(), camera.url()));
    const auto listener = free_lan_ports();
    line.announce_to(listener.encrypted_port);
    write_file(dir / "station.json",
               station_json(dir, station_port, line.cloud_accounts().front(), vo.wifi, listener));

    Poco::Net::ServerSocket control_socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    Poco::Net::HTTPServer control(new ControlFactory(world), control_socket,
                                  new Poco::Net::HTTPServerParams);  // Poco owns both
    control.start();

    std::jthread stepping([&](std::stop_token stop) {
        std::unique_ptr<StationSession> screen;
        double next_look = 0;
        const double tick = 1.0 / std::max(1.0, vo.fixture.camera.fps);
        while (!stop.stop_requested()) {
            {
                std::lock_guard lock(world.mutex);
                line.step();
            }
            if (!screen_password.empty() && clock.now_s() >= next_look) {
                // The devices look at the station's screen about twice a second.
                next_look = clock.now_s() + 0.5;
                cv::Mat image;
                try {
                    if (!screen) {
                        screen = std::make_unique<StationSession>(
                            "http://127.0.0.1:" + std::to_string(station_port), "");
                        screen->login(cli.value("screen-login"), screen_password);
                    }
                    const auto a = screen->call("GET", "/api/qr.png");
                    if (a.status == 200) {
                        const std::vector<std::uint8_t> png(a.body.begin(), a.body.end());
                        image = cv::imdecode(png, cv::IMREAD_COLOR);
                    }
                    if (a.status == 401) screen.reset();
                } catch (const std::exception&) {
                    screen.reset();  // the station is not up (yet): blank, look again
                }
                std::lock_guard lock(world.mutex);
                line.screen().show_image(image);
            }
            std::this_thread::sleep_for(std::chrono::duration<double>(tick));
        }
    });

    // Scripts and tests read the control API's address from this line.
    std::cout << "twins ready on http://127.0.0.1:" << control_socket.address().port()
              << "/ config " << (dir / "station.json").string() << std::endl;
    int signal = 0;
    sigwait(&stop_signals, &signal);
    stepping.request_stop();
    stepping.join();
    control.stopAll(true);
    return 0;
}

}  // namespace linestation::app
