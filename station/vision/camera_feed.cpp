#include "station/vision/camera_feed.hpp"

#include <algorithm>

#include <Poco/Logger.h>

namespace linestation::vision {

CameraFeed::CameraFeed(Opener open, const Clock& clock, BackoffOptions backoff)
    : open_(std::move(open)), clock_(clock), backoff_(backoff) {}

void CameraFeed::schedule_retry() {
    delay_s_ = delay_s_ <= 0 ? backoff_.first_s : std::min(delay_s_ * 2, backoff_.max_s);
    next_attempt_s_ = clock_.now_s() + delay_s_;
}

void CameraFeed::pass_on_warnings(Poll& p) {
    const auto& all = source_->warnings();
    for (; warnings_passed_ < all.size(); ++warnings_passed_) {
        Poco::Logger::get("camera").warning(all[warnings_passed_]);
        p.warnings.push_back(all[warnings_passed_]);
    }
}

CameraFeed::Poll CameraFeed::poll() {
    Poll p;
    if (!source_) {
        if (ever_opened_ && clock_.now_s() < next_attempt_s_) {
            p.lost = true;
            p.error = error_;
            return p;
        }
        ++attempts_;
        try {
            source_ = open_();
        } catch (const std::exception& e) {
            error_ = e.what();
        }
        if (!source_) {
            ever_opened_ = true;  // a camera that never opened is retried the same way
            schedule_retry();
            p.lost = true;
            p.error = error_;
            return p;
        }
        ever_opened_ = true;
        warnings_passed_ = 0;
    }
    auto frame = source_->read();
    pass_on_warnings(p);
    if (frame) {
        delay_s_ = 0;
        if (source_->live()) {
            // On the station's clock, back-dated by what the camera says the frame's age is
            // (its own capture timestamp), never earlier than the frame before.
            double t = clock_.now_s() - std::max(0.0, frame->age_s);
            frame->t = std::max(t, last_live_t_ + 1e-6);
            last_live_t_ = frame->t;
        }
        p.frame = std::move(frame);
        return p;
    }
    if (!source_->live()) {
        p.ended = true;
        return p;
    }
    error_ = "the camera stopped delivering frames";
    source_.reset();
    schedule_retry();
    p.lost = true;
    p.error = error_;
    return p;
}

}  // namespace linestation::vision
