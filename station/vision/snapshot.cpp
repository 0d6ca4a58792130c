#include "station/vision/snapshot.hpp"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace linestation::vision {

namespace {

cv::Scalar swatch(LedColor c) {
    switch (c) {
        case LedColor::Red:
            return {40, 40, 230};
        case LedColor::Green:
            return {60, 200, 60};
        case LedColor::Blue:
            return {230, 120, 40};
        case LedColor::Amber:
            return {0, 170, 255};
        case LedColor::White:
            return {245, 245, 245};
        case LedColor::Unknown:
            return {200, 0, 200};
        case LedColor::Off:
            break;
    }
    return {90, 90, 90};
}

void label(cv::Mat& img, const std::string& text, cv::Point at, double scale) {
    cv::putText(img, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 3,
                cv::LINE_AA);
    cv::putText(img, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255), 1,
                cv::LINE_AA);
}

cv::Mat canvas_of(const cv::Mat& bgr) {
    cv::Mat img = bgr.clone();
    // Small frames get enlarged so the labels stay readable.
    if (img.cols < 640) {
        double k = 640.0 / img.cols;
        cv::resize(img, img, cv::Size(), k, k, cv::INTER_NEAREST);
    }
    return img;
}

}  // namespace

cv::Mat annotate(const cv::Mat& bgr, const LedScanner& scanner) {
    cv::Mat img = canvas_of(bgr);
    double k = static_cast<double>(img.cols) / bgr.cols;
    double scale = std::max(0.35, 0.4 * k / 1.5);
    for (std::size_t i = 0; i < scanner.slots().size(); ++i) {
        const auto& s = scanner.slots()[i];
        cv::Rect r(static_cast<int>(s.roi.x * k), static_cast<int>(s.roi.y * k),
                   static_cast<int>(s.roi.w * k), static_cast<int>(s.roi.h * k));
        auto color = scanner.frame_color(i);
        cv::rectangle(img, r, swatch(color), 2);
        const auto& o = scanner.current(i);
        std::string reading;
        if (o.camera_lost) {
            reading = "camera lost";
        } else if (o.pattern.empty()) {
            reading = "deciding";
        } else {
            reading = o.color + " " + o.pattern;
            if (o.freq_hz) reading += " " + cv::format("%.1fHz", *o.freq_hz);
            if (o.unsure) reading += "?";
            if (o.state) reading += " (" + *o.state + ")";
        }
        label(img, s.slot, cv::Point(r.x, std::max(12, r.y - 4)), scale);
        label(img, reading, cv::Point(r.x, r.y + r.height + static_cast<int>(14 * scale / 0.4)),
              scale);
    }
    return img;
}

std::vector<std::uint8_t> slot_crop_png(const cv::Mat& bgr, const RoiRect& roi, int max_side) {
    if (bgr.empty() || roi.w <= 0 || roi.h <= 0) return {};
    const cv::Rect area = cv::Rect(roi.x - roi.w, roi.y - roi.h, 3 * roi.w, 3 * roi.h) &
                          cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (area.empty()) return {};
    cv::Mat crop = bgr(area).clone();
    const int longer = std::max(crop.cols, crop.rows);
    // Nearest neighbour: the pixels the tracker measured, not a blur of them.
    const double scale = longer * 4 <= max_side ? 4.0 : std::min(1.0, double(max_side) / longer);
    if (scale != 1.0) cv::resize(crop, crop, {}, scale, scale, cv::INTER_NEAREST);
    const cv::Rect inner(static_cast<int>((roi.x - area.x) * scale),
                         static_cast<int>((roi.y - area.y) * scale),
                         static_cast<int>(roi.w * scale), static_cast<int>(roi.h * scale));
    cv::rectangle(crop, inner, {255, 255, 0}, 1);
    std::vector<std::uint8_t> png;
    cv::imencode(".png", crop, png);
    return png;
}

std::vector<std::uint8_t> snapshot_png(const cv::Mat& bgr, const LedScanner& scanner) {
    std::vector<std::uint8_t> png;
    cv::imencode(".png", annotate(bgr, scanner), png);
    return png;
}

cv::Mat annotate_rois(const cv::Mat& bgr, const std::vector<SlotRoi>& rois) {
    cv::Mat img = canvas_of(bgr);
    double k = static_cast<double>(img.cols) / bgr.cols;
    for (const auto& s : rois) {
        cv::Rect r(static_cast<int>(s.roi.x * k), static_cast<int>(s.roi.y * k),
                   static_cast<int>(s.roi.w * k), static_cast<int>(s.roi.h * k));
        cv::rectangle(img, r, cv::Scalar(0, 255, 255), 2);
        label(img, s.slot, cv::Point(r.x, std::max(12, r.y - 4)), 0.5);
    }
    return img;
}

}  // namespace linestation::vision
