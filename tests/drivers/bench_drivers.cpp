// How fast the Modbus codec finds a reply behind line noise, and how long one confirmed
// switch takes through the real driver to a twin behind a TCP device server (9600 baud
// pacing included: the 3.5-character gap is ~3.6 ms).

#include <benchmark/benchmark.h>

#include "drivers/modbus_rtu/modbus_board.hpp"
#include "drivers/modbus_rtu/modbus_codec.hpp"
#include "fixtures/virtual/boards/board_endpoints.hpp"
#include "fixtures/virtual/boards/serial_board_twins.hpp"

using namespace linestation;

static void BM_ModbusFindReplyBehindNoise(benchmark::State& state) {
    const auto request = drivers::modbus::read_coils(1, 0, 8);
    drivers::modbus::Bytes received;
    for (int i = 0; i < state.range(0); ++i) received.push_back(static_cast<std::uint8_t>(i * 37));
    const drivers::modbus::Bytes reply{0x01, 0x01, 0x01, 0x05, 0x91, 0x8B};
    received.insert(received.end(), reply.begin(), reply.end());
    for (auto _ : state) {
        auto scan = drivers::modbus::find_reply(request, received);
        benchmark::DoNotOptimize(scan);
    }
}
BENCHMARK(BM_ModbusFindReplyBehindNoise)->Arg(0)->Arg(64)->Arg(256);

static void BM_ModbusSwitchOverTcpTwin(benchmark::State& state) {
    SystemClock clock;
    fixtures::ModbusTwin twin(1, 8, clock);
    fixtures::TcpEndpoint server(twin);
    drivers::ModbusRelayBoard board(drivers::open_transport(server.url(), {9600, 8, 'N', 1}),
                                    drivers::ModbusOptions{1, 8, 0, 200});
    bool on = false;
    for (auto _ : state) {
        on = !on;
        board.set(3, on);
    }
}
BENCHMARK(BM_ModbusSwitchOverTcpTwin)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
