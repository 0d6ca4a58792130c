#pragma once
// The annotated snapshot for the dashboard: the frame with each slot's ROI, the colour it
// shows now and its decided reading.

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "station/vision/led_scanner.hpp"

namespace linestation::vision {

cv::Mat annotate(const cv::Mat& bgr, const LedScanner& scanner);
// The same as PNG bytes.
std::vector<std::uint8_t> snapshot_png(const cv::Mat& bgr, const LedScanner& scanner);

// Only ROIs and their names (calibration proposals).
cv::Mat annotate_rois(const cv::Mat& bgr, const std::vector<SlotRoi>& rois);

}  // namespace linestation::vision
