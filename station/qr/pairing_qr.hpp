#pragma once
// The pairing QR code the station shows to the device cameras: Tuya's pairing JSON,
// encoded by libqrencode at error-correction level M with a 4-module quiet zone, rendered
// at a requested size, and read back with zxing-cpp before anyone may show it. A code that
// does not read back as its own payload is never returned.

#include <opencv2/core.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace linestation::qr {

class QrError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct PairingInfo {
    std::string ssid;      // 1..32 bytes of UTF-8 (802.11 limit)
    std::string password;  // 0..64 bytes of UTF-8 (empty: open network)
    std::string token;     // region + token + secret: 14 letters/digits
};

// {"s":"<ssid>","p":"<password>","t":"<token>"} in that order (Poco::JSON). Quotes, backslashes and
// control characters are escaped; other UTF-8 stays as it is (valid JSON, and the shortest
// code; device firmware parsers handle raw UTF-8 more often than \u escapes).
// Throws QrError naming the field when a value is out of range or not UTF-8.
std::string pairing_payload(const PairingInfo& info);

// The reverse, for the devices' side (virtual devices "scanning" the code): nullopt unless
// `payload` is a JSON object with string fields s, p and t.
std::optional<PairingInfo> parse_pairing_payload(const std::string& payload);

inline constexpr int kQuietZoneModules = 4;

// The module grid of one QR code, quiet zone included.
class QrMatrix {
  public:
    // Level M. Throws QrError when the payload does not fit a QR code.
    static QrMatrix encode(const std::string& payload);

    int version() const { return version_; }
    int side() const { return side_; }  // modules per side, quiet zone included
    bool dark(int x, int y) const { return cells_[static_cast<std::size_t>(y * side_ + x)] != 0; }

    // 8-bit gray image of size_px x size_px, whole pixels per module, centred (the leftover
    // pixels widen the quiet zone). Throws QrError below 2 pixels per module.
    cv::Mat render(int size_px) const;
    // SVG of size_px x size_px drawing the same modules.
    std::string svg(int size_px) const;

  private:
    int version_ = 0;
    int side_ = 0;
    std::vector<unsigned char> cells_;
};

// The payload of the first QR code found in `image` (gray or BGR), or nullopt.
std::optional<std::string> read_qr(const cv::Mat& image);

// A code that has been read back and matched its payload.
struct VerifiedQr {
    std::string payload;
    int version = 0;
    int modules = 0;  // per side, quiet zone included
    cv::Mat image;    // 8-bit gray, size_px x size_px: exactly what was read back
    std::string svg;  // the same module grid, as SVG

    std::vector<unsigned char> png() const;
};

// Throws QrError unless `image` reads back as exactly `payload`.
void require_reads_back(const cv::Mat& image, const std::string& payload);

// Encodes, renders and reads back; throws QrError when the read-back differs.
VerifiedQr make_verified_qr(const std::string& payload, int size_px);

}  // namespace linestation::qr
