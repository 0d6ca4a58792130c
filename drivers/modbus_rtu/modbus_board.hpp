#pragma once
// A Modbus RTU relay module (coils) over a serial line or a TCP device server.

#include <chrono>
#include <memory>
#include <mutex>

#include "drivers/core/clock.hpp"
#include "drivers/core/digital_output.hpp"
#include "drivers/core/transport.hpp"
#include "drivers/modbus_rtu/modbus_codec.hpp"

namespace linestation::drivers {

struct ModbusOptions {
    int slave = 1;
    int channels = 8;
    int retries = 2;  // extra attempts after a timeout or a bad frame
    int timeout_ms = 300;
    // The clock the frame gap is kept on (null: the wall clock). Reply timeouts are the
    // transport's waits for bytes and stay in wall time.
    const Clock* clock = nullptr;
};

class ModbusRelayBoard final : public DigitalOutput {
  public:
    ModbusRelayBoard(std::unique_ptr<Transport> transport, ModbusOptions options);
    int channels() const override { return options_.channels; }
    void set(int channel, bool on) override;
    bool get(int channel) override;
    std::string describe() const override;

    std::vector<bool> read_all();
    void write_all(const std::vector<bool>& states);

  private:
    modbus::Reply transact(const modbus::Bytes& request, const std::string& what);
    void check_channel(int channel) const;
    std::string board_name() const;

    std::unique_ptr<Transport> transport_;
    ModbusOptions options_;
    std::mutex mutex_;  // one request on the line at a time
    const Clock& clock_;
    double last_traffic_s_ = -1e300;
};

}  // namespace linestation::drivers
