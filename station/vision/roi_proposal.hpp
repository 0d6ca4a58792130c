#pragma once
// Calibration: from a short clip in which the LEDs blink, find the spots that change and
// propose one ROI per slot, named by rows (A, B, ...) and columns (1, 2, ...).

#include <vector>

#include <opencv2/core.hpp>

#include "station/vision/led_scanner.hpp"

namespace linestation::vision {

class RoiProposer {
  public:
    void add(const cv::Mat& bgr);
    // Up to `slots` ROIs (all spots found when 0), `size` pixels square (0 = from the spot).
    std::vector<SlotRoi> propose(int slots, int size = 0) const;
    int frames() const { return frames_; }
    // The frame with the largest change seen, for the annotated picture.
    const cv::Mat& sample() const { return sample_; }

  private:
    cv::Mat min_, max_;  // per-pixel luminance range (CV_8U) and chroma peak
    cv::Mat sample_;
    int frames_ = 0;
};

}  // namespace linestation::vision
