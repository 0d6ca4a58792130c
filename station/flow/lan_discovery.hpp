#pragma once
// Wired unbinding finds devices on the LAN: Tuya devices announce themselves by UDP
// broadcast, on port 6666 as plain JSON and on 6667 inside a 000055AA...0000AA55 frame
// whose payload is AES-128-ECB encrypted with md5("yGAdlopoPVldABfn"). The JSON holds
// gwId, productKey, ip, version and active. The listener keeps who was heard when, so
// the wired flow can match a freshly reset device to its slot by its id.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "station/clock/clock.hpp"
#include "station/flow/slot_flow.hpp"

namespace linestation::flow {

struct LanDevice {
    std::string gw_id;
    std::string product_key;
    std::string ip;
    std::string version;
    bool active = false;  // already activated (bound)
    double heard_at = 0;
};

// One datagram as received: a plain JSON object or a 55AA frame (plain or encrypted
// payload). nullopt when it is not a Tuya announcement (or fails its CRC).
std::optional<LanDevice> decode_announcement(std::span<const std::uint8_t> datagram);
// A 55AA frame around `json`, AES-ECB encrypted when `encrypted` (what devices send to 6667).
std::vector<std::uint8_t> encode_announcement(const std::string& json, bool encrypted,
                                              std::uint32_t sequence = 0);

class LanDiscovery final : public LanDirectory {
  public:
    // Port 0 picks a free one (tests); the real ports are 6666 and 6667.
    LanDiscovery(const Clock& clock, int plain_port = 6666, int encrypted_port = 6667,
                 const std::string& bind = "0.0.0.0");
    ~LanDiscovery() override;
    LanDiscovery(const LanDiscovery&) = delete;
    LanDiscovery& operator=(const LanDiscovery&) = delete;

    int plain_port() const { return plain_port_; }
    int encrypted_port() const { return encrypted_port_; }
    std::optional<double> heard(const std::string& device_id) const override;
    std::optional<std::string> address(const std::string& device_id) const override;
    // Devices heard, ready to pair (not active) first.
    std::vector<LanDevice> devices() const;
    int datagrams_rejected() const;
    // Announcements taken in since start (a virtual-time caller waits on it).
    int announcements_heard() const;

  private:
    struct Sockets;
    void listen(std::stop_token stop);
    void note(const LanDevice& d);

    const Clock& clock_;
    std::unique_ptr<Sockets> sockets_;
    int plain_port_ = 0;
    int encrypted_port_ = 0;
    mutable std::mutex mutex_;
    std::map<std::string, LanDevice> devices_;
    int rejected_ = 0;
    int heard_ = 0;
    std::jthread thread_;
};

}  // namespace linestation::flow
