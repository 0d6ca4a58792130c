#pragma once
// A fixture's own microcontroller speaking the line protocol in PROTOCOL.md.

#include <memory>
#include <mutex>

#include "drivers/ascii/ascii_codec.hpp"
#include "drivers/core/digital_output.hpp"
#include "drivers/core/transport.hpp"

namespace linestation::drivers {

struct AsciiOptions {
    int channels = 8;
    int timeout_ms = 300;
};

class AsciiFixtureBoard final : public DigitalOutput {
  public:
    AsciiFixtureBoard(std::unique_ptr<Transport> transport, AsciiOptions options);
    int channels() const override { return options_.channels; }
    void set(int channel, bool on) override;
    bool get(int channel) override;
    std::string describe() const override;
    // The board times the pulse itself; returns once it has accepted the request.
    void pulse(int channel, int ms);

  private:
    ascii::Reply exchange(const std::string& command);
    std::string board_name() const { return "ascii fixture board"; }

    std::unique_ptr<Transport> transport_;
    AsciiOptions options_;
    std::mutex mutex_;
};

}  // namespace linestation::drivers
