#pragma once
// A Numato Lab USB relay module over its CDC-ACM serial port (or a device server).

#include <memory>
#include <mutex>

#include "drivers/core/digital_output.hpp"
#include "drivers/core/transport.hpp"

namespace linestation::drivers {

struct NumatoOptions {
    int channels = 8;
    int timeout_ms = 300;
};

class NumatoRelayBoard final : public DigitalOutput {
  public:
    NumatoRelayBoard(std::unique_ptr<Transport> transport, NumatoOptions options);
    int channels() const override { return options_.channels; }
    void set(int channel, bool on) override;
    bool get(int channel) override;
    std::string describe() const override;
    std::vector<bool> read_all();

  private:
    std::string exchange(const std::string& command);
    std::string board_name() const;

    std::unique_ptr<Transport> transport_;
    NumatoOptions options_;
    std::mutex mutex_;
};

}  // namespace linestation::drivers
