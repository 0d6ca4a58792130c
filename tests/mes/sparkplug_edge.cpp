// The Sparkplug sink as its own process: `sparkplug_edge STORE URL GROUP NODE`. Prints
// "born" once its births are out, then drains the store's outbox until it is killed.
#include <chrono>
#include <iostream>
#include <thread>

#include "station/mes/sparkplug/sparkplug_sink.hpp"

using namespace linestation;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: sparkplug_edge STORE URL GROUP NODE\n";
        return 2;
    }
    mes::sparkplug::SparkplugSettings settings;
    settings.url = argv[2];
    settings.group_id = argv[3];
    settings.edge_node_id = argv[4];
    settings.keepalive_s = 60;  // the Will must come from the killed socket, not a timeout
    mes::sparkplug::SparkplugOptions options;
    options.slots = {"A1", "A2"};
    mes::sparkplug::StationSparkplug edge(settings, argv[1], options);
    while (!edge.sink().state().born) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::cout << "born bdSeq " << edge.sink().state().bd_seq << std::endl;
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
