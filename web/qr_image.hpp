#pragma once
// The pairing QR as the display shows it: libqrencode, error correction M (some device
// cameras cannot read H), with the 4-module quiet zone the QR standard asks for.

#include <string>

namespace linestation::web {

// An SVG of the QR code for `payload`, each module `module_px` wide, with a 4-module
// white border. Throws std::runtime_error when the payload cannot be encoded.
std::string qr_svg(const std::string& payload, int module_px = 8);

}  // namespace linestation::web
