#pragma once
// The station's subcommands. Each takes its own arguments (without the subcommand
// name) and returns the process exit status.

#include <string>
#include <vector>

namespace linestation::app {

using Args = std::vector<std::string>;

struct Subcommand {
    const char* name;
    const char* summary;
    int (*run)(const Args& args);
};

int run_serve(const Args& args);
int run_user(const Args& args);
int run_fixture(const Args& args);
int run_qr(const Args& args);
int run_cloud(const Args& args);
int run_led_scan(const Args& args);  // and run_calibrate: app/led_scan_command.cpp
int run_calibrate(const Args& args);
int run_simulate(const Args& args);
int run_batch(const Args& args);
int run_twins(const Args& args);
int run_fleet(const Args& args);

}  // namespace linestation::app
