#include "station/vision/roi_proposal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace linestation::vision {

void RoiProposer::add(const cv::Mat& bgr) {
    cv::Mat gray;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    if (frames_ == 0) {
        min_ = gray.clone();
        max_ = gray.clone();
        sample_ = bgr.clone();
    } else if (gray.size() == min_.size()) {
        cv::min(min_, gray, min_);
        cv::max(max_, gray, max_);
        if (frames_ % 8 == 0) sample_ = bgr.clone();
    }
    ++frames_;
}

std::vector<SlotRoi> RoiProposer::propose(int slots, int size) const {
    std::vector<SlotRoi> out;
    if (frames_ < 2) return out;
    cv::Mat change;
    cv::subtract(max_, min_, change);
    // Noise and flicker change a little everywhere; an LED changes a lot in one spot.
    cv::GaussianBlur(change, change, cv::Size(3, 3), 0);
    double peak = 0;
    cv::minMaxLoc(change, nullptr, &peak);
    if (peak < 25) return out;
    cv::Mat mask;
    cv::threshold(change, mask, std::max(20.0, 0.35 * peak), 255, cv::THRESH_BINARY);
    cv::dilate(mask, mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));
    cv::Mat labels, stats, centroids;
    int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
    struct Spot {
        double x, y, score;
        int w, h;
    };
    std::vector<Spot> spots;
    for (int i = 1; i < n; ++i) {
        int area = stats.at<int>(i, cv::CC_STAT_AREA);
        if (area < 4) continue;
        cv::Mat component = labels == i;
        double score = cv::sum(change & component)[0];
        spots.push_back({centroids.at<double>(i, 0), centroids.at<double>(i, 1), score,
                         stats.at<int>(i, cv::CC_STAT_WIDTH),
                         stats.at<int>(i, cv::CC_STAT_HEIGHT)});
    }
    std::sort(spots.begin(), spots.end(),
              [](const Spot& a, const Spot& b) { return a.score > b.score; });
    if (slots > 0 && static_cast<int>(spots.size()) > slots)
        spots.resize(static_cast<std::size_t>(slots));
    // Reading order: rows (spots whose centres are within a spot's height), then columns.
    std::sort(spots.begin(), spots.end(), [](const Spot& a, const Spot& b) { return a.y < b.y; });
    std::vector<std::vector<Spot>> rows;
    for (const auto& s : spots) {
        double tol = std::max(12.0, 0.75 * s.h);
        if (rows.empty() || std::abs(rows.back().front().y - s.y) > tol) rows.emplace_back();
        rows.back().push_back(s);
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
        auto& row = rows[r];
        std::sort(row.begin(), row.end(), [](const Spot& a, const Spot& b) { return a.x < b.x; });
        for (std::size_t c = 0; c < row.size(); ++c) {
            const auto& s = row[c];
            int side =
                size > 0 ? size : std::max(16, static_cast<int>(1.5 * std::max(s.w, s.h)) + 4);
            SlotRoi roi;
            roi.slot = std::string(1, static_cast<char>('A' + std::min<std::size_t>(r, 25))) +
                       std::to_string(c + 1);
            roi.roi.x = std::max(0, static_cast<int>(std::lround(s.x)) - side / 2);
            roi.roi.y = std::max(0, static_cast<int>(std::lround(s.y)) - side / 2);
            roi.roi.w = std::min(side, max_.cols - roi.roi.x);
            roi.roi.h = std::min(side, max_.rows - roi.roi.y);
            out.push_back(roi);
        }
    }
    return out;
}

}  // namespace linestation::vision
