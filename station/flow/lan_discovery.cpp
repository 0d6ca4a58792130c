#include "station/flow/lan_discovery.hpp"

#include <Poco/Checksum.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <openssl/evp.h>
#include <openssl/md5.h>

#include <algorithm>
#include <memory>

namespace linestation::flow {

namespace {

constexpr std::uint32_t kPrefix = 0x000055AA;
constexpr std::uint32_t kSuffix = 0x0000AA55;
constexpr std::uint32_t kDiscoveryCommand = 0x13;  // UDP_NEW

std::array<unsigned char, 16> udp_key() {
    static constexpr char kSeed[] = "yGAdlopoPVldABfn";
    std::array<unsigned char, 16> key{};
    unsigned int n = 0;
    EVP_Digest(kSeed, sizeof kSeed - 1, key.data(), &n, EVP_md5(), nullptr);
    return key;
}

struct CipherContext {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
    CipherContext() = default;
    CipherContext(const CipherContext&) = delete;
    CipherContext& operator=(const CipherContext&) = delete;
};

std::optional<std::string> aes_ecb(std::span<const std::uint8_t> in, bool encrypt) {
    const auto key = udp_key();
    CipherContext c;
    if (!c.ctx || EVP_CipherInit_ex(c.ctx, EVP_aes_128_ecb(), nullptr, key.data(), nullptr,
                                    encrypt ? 1 : 0) != 1) {
        return std::nullopt;
    }
    std::string out(in.size() + 16, '\0');
    int n1 = 0, n2 = 0;
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    if (EVP_CipherUpdate(c.ctx, o, &n1, in.data(), static_cast<int>(in.size())) != 1 ||
        EVP_CipherFinal_ex(c.ctx, o + n1, &n2) != 1) {
        return std::nullopt;  // wrong key or padding: not ours
    }
    out.resize(static_cast<std::size_t>(n1 + n2));
    return out;
}

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

std::uint32_t crc32(std::span<const std::uint8_t> b) {
    Poco::Checksum c(Poco::Checksum::TYPE_CRC32);
    c.update(reinterpret_cast<const char*>(b.data()), static_cast<unsigned>(b.size()));
    return c.checksum();
}

std::optional<LanDevice> parse_json(const std::string& text) {
    try {
        auto o = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
        if (!o->has("gwId")) return std::nullopt;
        LanDevice d;
        d.gw_id = o->getValue<std::string>("gwId");
        d.product_key = o->optValue<std::string>("productKey", "");
        d.ip = o->optValue<std::string>("ip", "");
        d.version = o->optValue<std::string>("version", "");
        d.active = o->optValue<int>("active", 0) != 0;
        if (d.gw_id.empty()) return std::nullopt;
        return d;
    } catch (const Poco::Exception&) {
        return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

std::vector<std::uint8_t> encode_announcement(const std::string& json, bool encrypted,
                                              std::uint32_t sequence) {
    std::vector<std::uint8_t> payload(json.begin(), json.end());
    if (encrypted) {
        auto e = aes_ecb(payload, true);
        payload.assign(e->begin(), e->end());
    }
    std::vector<std::uint8_t> out;
    put32(out, kPrefix);
    put32(out, sequence);
    put32(out, kDiscoveryCommand);
    put32(out, static_cast<std::uint32_t>(4 + payload.size() + 8));  // retcode..suffix
    put32(out, 0);                                                   // return code
    out.insert(out.end(), payload.begin(), payload.end());
    put32(out, crc32(out));
    put32(out, kSuffix);
    return out;
}

std::optional<LanDevice> decode_announcement(std::span<const std::uint8_t> d) {
    if (!d.empty() && d[0] == '{') {
        return parse_json(std::string(d.begin(), d.end()));
    }
    if (d.size() < 24 || be32(d, 0) != kPrefix || be32(d, d.size() - 4) != kSuffix) {
        return std::nullopt;
    }
    const std::size_t len = be32(d, 12);
    if (16 + len != d.size()) return std::nullopt;
    if (crc32(d.subspan(0, d.size() - 8)) != be32(d, d.size() - 8)) return std::nullopt;
    std::size_t start = 16;
    // Device-sent frames carry a return code; its high bytes are zero. A frame with no
    // payload has no room for one (its CRC sits at 16).
    if (d.size() >= 28 && (be32(d, 16) & 0xFFFFFF00u) == 0) start = 20;
    auto payload = d.subspan(start, d.size() - 8 - start);
    if (!payload.empty() && payload[0] == '{') {
        if (auto device = parse_json(std::string(payload.begin(), payload.end()))) return device;
        // One ciphertext in 256 starts with '{' too, and a device repeats the same frame: not
        // plain JSON, so try it as encrypted rather than never hearing that device.
    }
    if (payload.empty() || payload.size() % 16 != 0) return std::nullopt;
    auto text = aes_ecb(payload, false);
    if (!text) return std::nullopt;
    return parse_json(*text);
}

struct LanDiscovery::Sockets {
    Poco::Net::DatagramSocket plain;
    Poco::Net::DatagramSocket encrypted;
};

LanDiscovery::LanDiscovery(const Clock& clock, int plain_port, int encrypted_port,
                           const std::string& bind)
    : clock_(clock), sockets_(std::make_unique<Sockets>()) {
    auto open = [&](Poco::Net::DatagramSocket& s, int port) {
        s.bind(Poco::Net::SocketAddress(bind, static_cast<Poco::UInt16>(port)), true, true);
        s.setBroadcast(true);
        s.setReceiveTimeout(Poco::Timespan(0, 100'000));
        return static_cast<int>(s.address().port());
    };
    plain_port_ = open(sockets_->plain, plain_port);
    encrypted_port_ = open(sockets_->encrypted, encrypted_port);
    thread_ = std::jthread([this](std::stop_token stop) { listen(stop); });
}

LanDiscovery::~LanDiscovery() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void LanDiscovery::listen(std::stop_token stop) {
    std::vector<std::uint8_t> buffer(2048);
    Poco::Net::Socket::SocketList readable{sockets_->plain, sockets_->encrypted};
    while (!stop.stop_requested()) {
        Poco::Net::Socket::SocketList r = readable, w, e;
        if (Poco::Net::Socket::select(r, w, e, Poco::Timespan(0, 100'000)) == 0) continue;
        for (auto& s : r) {
            Poco::Net::DatagramSocket ds(s);
            int n = 0;
            try {
                n = ds.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
            } catch (const Poco::Exception&) {
                continue;
            }
            if (n <= 0) continue;
            auto d = decode_announcement(std::span(buffer.data(), static_cast<std::size_t>(n)));
            if (d) {
                note(*d);
            } else {
                std::lock_guard lock(mutex_);
                ++rejected_;
            }
        }
    }
}

void LanDiscovery::note(const LanDevice& d) {
    std::lock_guard lock(mutex_);
    ++heard_;
    auto& entry = devices_[d.gw_id];
    entry = d;
    entry.heard_at = clock_.now_s();
}

std::optional<double> LanDiscovery::heard(const std::string& device_id) const {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(device_id);
    if (it == devices_.end()) return std::nullopt;
    return it->second.heard_at;
}

std::optional<std::string> LanDiscovery::address(const std::string& device_id) const {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(device_id);
    if (it == devices_.end()) return std::nullopt;
    return it->second.ip;
}

std::vector<LanDevice> LanDiscovery::devices() const {
    std::lock_guard lock(mutex_);
    std::vector<LanDevice> v;
    for (const auto& [id, d] : devices_) v.push_back(d);
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return !a.active && b.active; });
    return v;
}

int LanDiscovery::announcements_heard() const {
    std::lock_guard lock(mutex_);
    return heard_;
}

int LanDiscovery::datagrams_rejected() const {
    std::lock_guard lock(mutex_);
    return rejected_;
}

}  // namespace linestation::flow
