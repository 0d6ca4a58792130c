#include "station/vision/camera_feed.hpp"

#include <algorithm>
#include <cstring>

#include <Poco/Logger.h>

namespace linestation::vision {

namespace {

// FNV-1a over 8-byte words: well under a millisecond for a 1080p frame.
std::uint64_t content_hash(const cv::Mat& image) {
    std::uint64_t h = 1469598103934665603ULL;
    const auto row_bytes = static_cast<std::size_t>(image.cols) * image.elemSize();
    for (int y = 0; y < image.rows; ++y) {
        const auto* p = image.ptr<std::uint8_t>(y);
        std::size_t i = 0;
        for (; i + 8 <= row_bytes; i += 8) {
            std::uint64_t w = 0;
            std::memcpy(&w, p + i, 8);
            h = (h ^ w) * 1099511628211ULL;
        }
        for (; i < row_bytes; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

}  // namespace

CameraFeed::CameraFeed(Opener open, const Clock& clock, BackoffOptions backoff)
    : open_(std::move(open)), clock_(clock), backoff_(backoff) {
    ++attempts_;
    take(open_now());
    thread_ = std::jthread([this](const std::stop_token& stop) { run_opens(stop); });
}

CameraFeed::~CameraFeed() {
    thread_.request_stop();
    wake_.notify_all();
    // jthread joins; the sources left (open or to close) are closed after it.
}

CameraFeed::Opened CameraFeed::open_now() {
    Opened o;
    try {
        o.source = open_();
        if (!o.source) o.error = "the camera source could not be opened";
    } catch (const std::exception& e) {
        o.error = e.what();
    }
    o.ended_s = clock_.now_s();
    return o;
}

void CameraFeed::take(Opened opened) {
    if (opened.source) {
        source_ = std::move(opened.source);
        warnings_passed_ = 0;
        // A freeze is the same picture in a row from one source; the first frame of a new
        // one may well repeat the old one's first (a replayed clip, a still scene).
        last_hash_.reset();
        return;
    }
    error_ = std::move(opened.error);
    schedule_retry(opened.ended_s);
}

void CameraFeed::run_opens(const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, stop, [&] { return open_wanted_ || !to_close_.empty(); });
        if (stop.stop_requested()) return;
        auto closing = std::move(to_close_);
        to_close_.clear();
        bool open = open_wanted_;
        open_wanted_ = false;
        lock.unlock();
        closing.clear();
        std::optional<Opened> opened;
        if (open) opened = open_now();
        lock.lock();
        if (opened) opened_ = std::move(opened);
    }
}

bool CameraFeed::opening() const {
    if (!open_started_) return false;
    std::lock_guard lock(mutex_);
    return !opened_.has_value();
}

void CameraFeed::schedule_retry(double from_s) {
    delay_s_ = delay_s_ <= 0 ? backoff_.first_s : std::min(delay_s_ * 2, backoff_.max_s);
    next_attempt_s_ = from_s + delay_s_;
}

void CameraFeed::pass_on_warnings(Poll& p) {
    const auto& all = source_->warnings();
    for (; warnings_passed_ < all.size(); ++warnings_passed_) {
        Poco::Logger::get("camera").warning(all[warnings_passed_]);
        p.warnings.push_back(all[warnings_passed_]);
    }
}

CameraFeed::Poll CameraFeed::lost() const {
    Poll p;
    p.lost = true;
    p.error = error_;
    return p;
}

CameraFeed::Poll CameraFeed::poll() {
    Poll p;
    if (!source_) {
        if (open_started_) {
            std::optional<Opened> opened;
            {
                std::lock_guard lock(mutex_);
                opened.swap(opened_);
            }
            if (!opened) return lost();
            open_started_ = false;
            take(std::move(*opened));
            if (!source_) return lost();
        } else {
            if (clock_.now_s() < next_attempt_s_) return lost();
            ++attempts_;
            open_started_ = true;
            {
                std::lock_guard lock(mutex_);
                open_wanted_ = true;
            }
            wake_.notify_all();
            return lost();
        }
    }
    auto frame = source_->read();
    pass_on_warnings(p);
    if (frame && source_->live() && frozen(*frame)) {
        return drop("the camera's frames froze (the same picture for " +
                        std::to_string(backoff_.frozen_after_s) + " s or more)",
                    std::move(p));
    }
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
    return drop("the camera stopped delivering frames", std::move(p));
}

CameraFeed::Poll CameraFeed::drop(const std::string& why, Poll p) {
    error_ = why;
    {
        std::lock_guard lock(mutex_);
        to_close_.push_back(std::move(source_));
    }
    wake_.notify_all();
    schedule_retry(clock_.now_s());
    auto l = lost();
    l.warnings = std::move(p.warnings);
    return l;
}

bool CameraFeed::frozen(const drivers::CameraFrame& frame) {
    const auto h = content_hash(frame.image);
    const double now = clock_.now_s();
    // Still the picture it froze on, reopened or not: lost at once, no stale frame passes.
    if (frozen_hash_ == h) return true;
    frozen_hash_.reset();
    if (last_hash_ != h) {
        last_hash_ = h;
        same_since_s_ = now;
        return false;
    }
    if (now - same_since_s_ < backoff_.frozen_after_s) return false;
    frozen_hash_ = h;
    last_hash_.reset();
    return true;
}

}  // namespace linestation::vision
