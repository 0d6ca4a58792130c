#pragma once
// What a line is made of, as the controller sees it: interfaces only, so the same
// flows run on the real fixture and on the virtual line.

#include <string>
#include <vector>

#include "station/vision/led_observation.hpp"

namespace linestation::flow {

// The LED vision, fed by the camera: every call returns the state changes decided
// since the last call (one LedObservation per slot and change).
class LedFeed {
  public:
    virtual ~LedFeed() = default;
    virtual std::vector<vision::LedObservation> poll(double now_s) = 0;
    // The last frame annotated with every slot's reading, as PNG; empty without a camera.
    virtual std::string snapshot_png() { return {}; }
    // The slot's crop of the last frame (vision::slot_crop_png), as PNG: the frame whose
    // reading the last poll handed on. Empty without a camera or a frame.
    virtual std::string slot_crop_png(const std::string& /*slot*/) { return {}; }
    // False while the camera is lost or reopening (no frames, or frozen ones).
    virtual bool camera_ok() const { return true; }
};

// Where the pairing QR code is shown to the devices' cameras. An empty payload blanks it.
class QrScreen {
  public:
    virtual ~QrScreen() = default;
    virtual void show(const std::string& payload) = 0;
};

// Verdicts and the reasons a unit can fail, as stored and reported.
namespace verdict {
inline constexpr const char* kPass = "PASS";
inline constexpr const char* kFail = "FAIL";
inline constexpr const char* kInconclusive = "INCONCLUSIVE";
inline constexpr const char* kInterrupted = "INTERRUPTED";
}  // namespace verdict

namespace reason {
inline constexpr const char* kNotReady = "not_ready";
inline constexpr const char* kStillBound = "still_bound";
inline constexpr const char* kNoPermission = "no_permission";
inline constexpr const char* kTokenExpired = "token_expired";
inline constexpr const char* kQuotaExceeded = "quota_exceeded";
inline constexpr const char* kWifiRejected = "wifi_rejected";
inline constexpr const char* kFixtureFault = "fixture_fault";
inline constexpr const char* kOperatorAbort = "operator_abort";
inline constexpr const char* kCameraLost = "camera_lost";
inline constexpr const char* kQrNotRead = "qr_not_read";
inline constexpr const char* kCloudRefused = "cloud_refused";
inline constexpr const char* kCloudUnavailable = "cloud_unavailable";
// The station's clock is off (Tuya 1013) / the cloud's host does not resolve: the station's
// state, not the unit's (INCONCLUSIVE).
inline constexpr const char* kClockSkew = "clock_skew";
inline constexpr const char* kCloudHostUnknown = "cloud_host_unknown";
inline constexpr const char* kOutOfLimits = "out_of_limits";
inline constexpr const char* kNotClean = "not_clean";
inline constexpr const char* kNotDiscovered = "not_discovered";
// The gateway found on the LAN did not take its token: refused, no answer, or a bad one.
inline constexpr const char* kHandoverFailed = "handover_failed";
inline constexpr const char* kUnidentified = "unidentified";
// The station was stopped cleanly while the unit was in flight (INTERRUPTED).
inline constexpr const char* kStationStopped = "station_stopped";
inline constexpr const char* kPassed = "ok";
}  // namespace reason

}  // namespace linestation::flow
