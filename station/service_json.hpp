#pragma once
// The service views as JSON, for REST answers and live events alike. The QR event leaves the
// payload out (it holds the Wi-Fi password): a screen that shows the code fetches it when the
// generation changes.

#include <string>

#include "station/service.hpp"

namespace linestation {

std::string to_json(const SlotView& v);
std::string to_json(const BatchView& v);
std::string to_json(const QrView& v);

}  // namespace linestation
