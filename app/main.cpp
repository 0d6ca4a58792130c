#include <iostream>
#include <string>

#include "app/command_line.hpp"
#include "app/commands.hpp"
#include "linestation/version.hpp"
#include "station/config/json_reader.hpp"

namespace {

using linestation::app::Subcommand;

constexpr Subcommand kSubcommands[] = {
    {"serve", "run the station (HTTP dashboard and API); without --config, on the virtual line",
     linestation::app::run_serve},
    {"user", "manage dashboard users (user add ...)", linestation::app::run_user},
    {"fixture", "switch, read and pulse fixture board channels; list attached boards",
     linestation::app::run_fixture},
    {"qr", "write the pairing QR code (read back before it is written)", linestation::app::run_qr},
    {"cloud", "cloud: pairing-token (check credentials), emulator", linestation::app::run_cloud},
    {"led-scan", "read slots' LEDs from a video, print state changes as JSON lines",
     linestation::app::run_led_scan},
    {"calibrate", "propose LED regions (ROIs) from a clip of blinking LEDs",
     linestation::app::run_calibrate},
    {"simulate", "run a shift on the virtual line on virtual time", linestation::app::run_simulate},
    {"batch", "start, stop and follow batches on a running station (through its API)",
     linestation::app::run_batch},
    {"twins", "run the virtual line's twins as a process (TCP boards, MJPEG camera, HTTP cloud)",
     linestation::app::run_twins},
    {"fleet", "the fleet's PostgreSQL: status (results, quotas, backlogs), serve (dashboard views)",
     linestation::app::run_fleet},
};

void print_help(std::ostream& out) {
    out << "usage: station <subcommand> [options]\n\n"
        << "LineStation " << linestation::kVersion
        << ": station controller for smart-device production and return lines.\n\n"
        << "subcommands:\n";
    for (const auto& c : kSubcommands) {
        std::string name = c.name;
        name.resize(16, ' ');
        out << "  " << name << c.summary << "\n";
    }
    out << "\nRun 'station <subcommand> --help' for its options.\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_help(std::cerr);
        return 2;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_help(std::cout);
        return 0;
    }
    if (name == "--version") {
        std::cout << linestation::kVersion << "\n";
        return 0;
    }
    linestation::app::Args args(argv + 2, argv + argc);
    for (const auto& c : kSubcommands) {
        if (name != c.name) continue;
        try {
            return c.run(args);
        } catch (const linestation::app::UsageError& e) {
            std::cerr << "station " << e.what() << "\n";
            return 2;
        } catch (const linestation::config::ConfigError& e) {
            std::cerr << "station " << name << ": " << e.what() << "\n";
            return 3;
        } catch (const std::exception& e) {
            std::cerr << "station " << name << ": " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "station: unknown subcommand \"" << name << "\"; see station --help\n";
    return 2;
}
