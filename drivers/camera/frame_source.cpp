#include "drivers/camera/frame_source.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

namespace linestation::drivers {

namespace {

bool all_digits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The last run of digits in a file name's stem, if any.
std::optional<long> number_in(const std::filesystem::path& p) {
    auto stem = p.stem().string();
    auto end = stem.find_last_of("0123456789");
    if (end == std::string::npos) return std::nullopt;
    auto begin = end;
    while (begin > 0 && std::isdigit(static_cast<unsigned char>(stem[begin - 1]))) --begin;
    return std::stol(stem.substr(begin, end - begin + 1));
}

bool is_image(const std::filesystem::path& p) {
    auto ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".ppm" ||
           ext == ".tif" || ext == ".tiff";
}

double monotonic_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Longer than any driver keeps a frame queued (10 buffers at 5 fps).
constexpr double kMaxFrameAge_s = 2.0;

}  // namespace

SourceKind source_kind(const std::string& source) {
    if (source.rfind("/dev/video", 0) == 0 || all_digits(source)) return SourceKind::Camera;
    if (source.find("://") != std::string::npos) return SourceKind::Stream;
    if (std::filesystem::is_directory(source)) return SourceKind::ImageFolder;
    return SourceKind::File;
}

VideoCaptureSource::VideoCaptureSource(const CameraSettings& settings)
    : kind_(source_kind(settings.source)),
      name_(without_url_passwords(settings.source)),
      opened_at_s_(monotonic_s()),
      timed_by_capture_(kind_ == SourceKind::Camera || settings.source.rfind("rtsp://", 0) == 0 ||
                        settings.source.rfind("rtsps://", 0) == 0) {
    bool opened = false;
    if (kind_ == SourceKind::Camera) {
        int index = all_digits(settings.source) ? std::stoi(settings.source) : -1;
        opened = index >= 0 ? capture_.open(index, cv::CAP_V4L2)
                            : capture_.open(settings.source, cv::CAP_V4L2);
    } else {
        if (kind_ == SourceKind::File && !std::filesystem::exists(settings.source)) {
            throw CameraError(name_ + ": no such video file");
        }
        if (kind_ == SourceKind::Stream) {
            // A stream that stalls must come back as "no frame" soon, so the feed can
            // report the camera lost and reopen it, instead of blocking the station.
            // RTSP goes over TCP: OpenCV's FFmpeg backend asks for it unless
            // OPENCV_FFMPEG_CAPTURE_OPTIONS says otherwise (see station/vision/README.md).
            opened = capture_.open(
                settings.source, cv::CAP_FFMPEG,
                {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv::CAP_PROP_READ_TIMEOUT_MSEC, 2000});
        } else {
            opened = capture_.open(settings.source);
        }
    }
    if (!opened || !capture_.isOpened()) {
        throw CameraError(name_ + ": cannot open (OpenCV VideoCapture refused it)");
    }
    if (kind_ == SourceKind::Camera) {
        // MJPG lets USB cameras deliver full resolution at full rate.
        capture_.set(cv::CAP_PROP_FOURCC, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'));
        apply_size(settings.width, settings.height);
        if (settings.fps > 0) apply(cv::CAP_PROP_FPS, settings.fps, "fps", 0.5);
        if (settings.exposure) {
            // V4L2: 1 = manual exposure, 3 = aperture priority (auto).
            apply(cv::CAP_PROP_AUTO_EXPOSURE, 1, "manual exposure", 0.01);
            apply(cv::CAP_PROP_EXPOSURE, *settings.exposure, "exposure",
                  0.05 * *settings.exposure + 1);
        }
        if (settings.gain)
            apply(cv::CAP_PROP_GAIN, *settings.gain, "gain", 0.05 * *settings.gain + 1);
        if (settings.white_balance_k) {
            apply(cv::CAP_PROP_AUTO_WB, 0, "manual white balance", 0.01);
            apply(cv::CAP_PROP_WB_TEMPERATURE, *settings.white_balance_k, "white balance",
                  0.05 * *settings.white_balance_k);
        }
    }
    fps_ = capture_.get(cv::CAP_PROP_FPS);
    if (!(fps_ > 0 && fps_ < 1000)) fps_ = settings.fps > 0 ? settings.fps : 30;
}

void VideoCaptureSource::apply(int property, double value, const char* name, double tolerance) {
    bool accepted = capture_.set(property, value);
    double got = capture_.get(property);
    if (!accepted || std::abs(got - value) > tolerance) {
        std::ostringstream w;
        w << "camera " << name << ": asked for " << value << ", camera reports " << got
          << (accepted ? "" : " (setting refused)");
        warnings_.push_back(w.str());
    }
}

void VideoCaptureSource::apply_size(int width, int height) {
    if (width <= 0 && height <= 0) return;
    // OpenCV's V4L2 backend changes the format only once it has both width and height,
    // so a size is asked for as a pair and read back as a pair.
    if (width <= 0) width = static_cast<int>(capture_.get(cv::CAP_PROP_FRAME_WIDTH));
    if (height <= 0) height = static_cast<int>(capture_.get(cv::CAP_PROP_FRAME_HEIGHT));
    bool accepted = capture_.set(cv::CAP_PROP_FRAME_WIDTH, width) &&
                    capture_.set(cv::CAP_PROP_FRAME_HEIGHT, height);
    int got_w = static_cast<int>(capture_.get(cv::CAP_PROP_FRAME_WIDTH));
    int got_h = static_cast<int>(capture_.get(cv::CAP_PROP_FRAME_HEIGHT));
    if (!accepted || got_w != width || got_h != height) {
        std::ostringstream w;
        w << "camera size: asked for " << width << "x" << height << ", camera reports " << got_w
          << "x" << got_h << (accepted ? "" : " (setting refused)");
        warnings_.push_back(w.str());
    }
}

void VideoCaptureSource::warn_once(const std::string& cause, const std::string& text) {
    if (std::find(warned_causes_.begin(), warned_causes_.end(), cause) != warned_causes_.end())
        return;
    warned_causes_.push_back(cause);
    warnings_.push_back("camera " + name_ + ": " + text);
}

std::optional<double> VideoCaptureSource::capture_time(double arrival_s) {
    double stamp_s = capture_.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
    if (kind_ == SourceKind::Camera) {
        // OpenCV's V4L2 backend reports the dequeued buffer's timestamp as POS_MSEC; UVC
        // and most capture drivers stamp on CLOCK_MONOTONIC, which is steady_clock here.
        if (!(stamp_s > 0)) {
            warn_once("missing", "no capture timestamps; frames are timed by arrival");
            return std::nullopt;
        }
        double age = arrival_s - stamp_s;
        // A frame is neither from the future nor older than the driver could have kept
        // it queued; anything else is a timestamp on another clock.
        if (age < -0.002 || age > kMaxFrameAge_s) {
            warn_once("clock", "capture timestamps are not on the monotonic clock (frame " +
                                   std::to_string(index_) + " is " + std::to_string(age) +
                                   " s old); frames are timed by arrival");
            return std::nullopt;
        }
    }
    if (index_ > 0 && stamp_s <= last_stamp_s_) {
        warn_once("backwards", "capture timestamp went backwards at frame " +
                                   std::to_string(index_) + "; such frames are timed by arrival");
        return std::nullopt;
    }
    last_stamp_s_ = stamp_s;
    if (kind_ == SourceKind::Camera) return stamp_s;
    // RTSP: POS_MSEC is the frame's presentation time from the camera's RTP timestamps.
    if (!stream_clock_) stream_clock_.emplace(opened_at_s_);
    auto mapped = stream_clock_->map(stamp_s, arrival_s);
    if (mapped.restarted) {
        warn_once("drift", "stream timestamps fell more than " +
                               std::to_string(StreamClock::kMaxLag_s) + " s behind at frame " +
                               std::to_string(index_) + "; timing restarted from arrival");
    }
    return mapped.capture_s;
}

StreamClock::Mapped StreamClock::map(double stamp_s, double arrival_s) {
    if (first_) {
        first_ = false;
        offset_s_ = opened_at_s_ - stamp_s;
    } else {
        offset_s_ += kCreep * (stamp_s - last_stamp_s_);
    }
    last_stamp_s_ = stamp_s;
    double capture = offset_s_ + stamp_s;
    if (capture > arrival_s) {
        offset_s_ -= capture - arrival_s;
        return {arrival_s, false};
    }
    if (arrival_s - capture > kMaxLag_s) {
        offset_s_ = arrival_s - stamp_s;
        return {arrival_s, true};
    }
    return {capture, false};
}

std::optional<CameraFrame> VideoCaptureSource::read() {
    CameraFrame f;
    if (!capture_.grab()) return std::nullopt;
    // H.264 over RTSP: where a camera sends its parameter sets (SPS/PPS) ahead of a key
    // frame, OpenCV's FFmpeg backend hands the picture it has out once more with the same
    // presentation time. That is no new capture: counting it would put one picture into
    // the LED trackers twice. A stream stuck on one time is left to the checks below.
    for (int repeats = 0;
         kind_ == SourceKind::Stream && timed_by_capture_ && index_ > 0 && repeats < 2 &&
         capture_.get(cv::CAP_PROP_POS_MSEC) / 1000.0 == last_stamp_s_;
         ++repeats) {
        if (!capture_.grab()) return std::nullopt;
    }
    double arrival_s = monotonic_s();
    if (!capture_.retrieve(f.image) || f.image.empty()) return std::nullopt;
    f.index = index_;
    double t;
    if (kind_ == SourceKind::File) {
        // Stream time; backends disagree on whether POS_MSEC is before or after the frame.
        t = static_cast<double>(f.index) / fps_;
    } else if (auto stamp = timed_by_capture_ ? capture_time(arrival_s) : std::nullopt) {
        t = *stamp - opened_at_s_;
        f.age_s = monotonic_s() - *stamp;  // as read() returns it (decoding included)
    } else {
        // HTTP streams (whose FFmpeg timestamps are made up) and frames without a
        // believable timestamp: arrival time.
        t = arrival_s - opened_at_s_;
    }
    ++index_;
    if (t <= last_t_) t = last_t_ + 1e-6;
    last_t_ = t;
    f.t = t;
    return f;
}

ImageFolderSource::ImageFolderSource(const std::filesystem::path& folder, double fps) {
    if (!std::filesystem::is_directory(folder)) {
        throw CameraError(folder.string() + ": not a folder of images");
    }
    if (!(fps > 0)) {
        throw CameraError(folder.string() + ": a folder of images needs a frame rate (--fps)");
    }
    std::map<long, double> stamps;
    if (std::ifstream in(folder / "timestamps.txt"); in) {
        long n;
        double t;
        while (in >> n >> t) stamps[n] = t;
    }
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        if (!entry.is_regular_file() || !is_image(entry.path())) continue;
        auto n = number_in(entry.path());
        if (!n) {
            warnings_.push_back(entry.path().filename().string() + ": no frame number, skipped");
            continue;
        }
        auto it = stamps.find(*n);
        files_.push_back({*n, entry.path(), it != stamps.end() ? it->second : *n / fps});
    }
    std::sort(files_.begin(), files_.end(),
              [](const Entry& a, const Entry& b) { return a.number < b.number; });
    if (files_.empty()) throw CameraError(folder.string() + ": no numbered images in it");
}

std::optional<CameraFrame> ImageFolderSource::read() {
    while (next_ < files_.size()) {
        const auto& e = files_[next_++];
        CameraFrame f;
        f.image = cv::imread(e.path.string(), cv::IMREAD_COLOR);
        if (f.image.empty()) {
            warnings_.push_back(e.path.filename().string() + ": unreadable image, skipped");
            continue;
        }
        f.t = e.t;
        f.index = e.number;
        return f;
    }
    return std::nullopt;
}

std::unique_ptr<FrameSource> open_frame_source(const CameraSettings& settings) {
    if (settings.source.empty()) throw CameraError("no camera source given");
    if (source_kind(settings.source) == SourceKind::ImageFolder) {
        return std::make_unique<ImageFolderSource>(settings.source, settings.fps);
    }
    return std::make_unique<VideoCaptureSource>(settings);
}

std::string without_url_passwords(const std::string& text) {
    // scheme://user:password@ -> scheme://user:***@ (user and password stop at the first
    // character a URL's authority cannot hold there, so a path's '@' is left alone).
    static const std::regex credentials(R"(([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']*):[^/\s@"']*@)");
    return std::regex_replace(text, credentials, "$1:***@");
}

}  // namespace linestation::drivers
