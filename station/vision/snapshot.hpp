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

// One slot's evidence: its ROI with as much again of its surroundings on each side (the
// LED and the unit's face around it), the ROI outlined, scaled so that its longer side is
// at most `max_side` px (at least 4x the ROI's own size for a tiny one), as PNG. A bounded
// image: a 24 px ROI gives a 72 px crop of a few kB. Empty for an empty frame.
std::vector<std::uint8_t> slot_crop_png(const cv::Mat& bgr, const RoiRect& roi, int max_side = 192);

// Only ROIs and their names (calibration proposals).
cv::Mat annotate_rois(const cv::Mat& bgr, const std::vector<SlotRoi>& rois);

}  // namespace linestation::vision
