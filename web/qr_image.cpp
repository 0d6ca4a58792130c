#include "web/qr_image.hpp"

#include <qrencode.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace linestation::web {

std::string qr_svg(const std::string& payload, int module_px) {
    std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
        QRcode_encodeString8bit(payload.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
    if (!code) throw std::runtime_error("the QR payload cannot be encoded");
    constexpr int kQuietZone = 4;
    const int width = code->width;
    const int size = (width + 2 * kQuietZone) * module_px;
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << size << "\" height=\"" << size
        << "\" viewBox=\"0 0 " << width + 2 * kQuietZone << ' ' << width + 2 * kQuietZone
        << "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" "
           "fill=\"#fff\"/><path fill=\"#000\" d=\"";
    for (int y = 0; y < width; ++y) {
        for (int x = 0; x < width; ++x) {
            if (code->data[y * width + x] & 1) {
                svg << 'M' << x + kQuietZone << ' ' << y + kQuietZone << "h1v1h-1z";
            }
        }
    }
    svg << "\"/></svg>";
    return svg.str();
}

}  // namespace linestation::web
