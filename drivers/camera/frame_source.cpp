#include "drivers/camera/frame_source.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
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

}  // namespace

SourceKind source_kind(const std::string& source) {
    if (source.rfind("/dev/video", 0) == 0 || all_digits(source)) return SourceKind::Camera;
    if (source.find("://") != std::string::npos) return SourceKind::Stream;
    if (std::filesystem::is_directory(source)) return SourceKind::ImageFolder;
    return SourceKind::File;
}

VideoCaptureSource::VideoCaptureSource(const CameraSettings& settings)
    : kind_(source_kind(settings.source)) {
    bool opened = false;
    if (kind_ == SourceKind::Camera) {
        int index = all_digits(settings.source) ? std::stoi(settings.source) : -1;
        opened = index >= 0 ? capture_.open(index, cv::CAP_V4L2)
                            : capture_.open(settings.source, cv::CAP_V4L2);
    } else {
        if (kind_ == SourceKind::File && !std::filesystem::exists(settings.source)) {
            throw CameraError(settings.source + ": no such video file");
        }
        if (kind_ == SourceKind::Stream) {
            // A stream that stalls must come back as "no frame" soon, so the feed can
            // report the camera lost and reopen it, instead of blocking the station.
            opened = capture_.open(
                settings.source, cv::CAP_FFMPEG,
                {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv::CAP_PROP_READ_TIMEOUT_MSEC, 2000});
        } else {
            opened = capture_.open(settings.source);
        }
    }
    if (!opened || !capture_.isOpened()) {
        throw CameraError(settings.source + ": cannot open (OpenCV VideoCapture refused it)");
    }
    if (kind_ == SourceKind::Camera) {
        // MJPG lets USB cameras deliver full resolution at full rate.
        capture_.set(cv::CAP_PROP_FOURCC, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'));
        if (settings.width > 0) apply(cv::CAP_PROP_FRAME_WIDTH, settings.width, "width", 0.5);
        if (settings.height > 0) apply(cv::CAP_PROP_FRAME_HEIGHT, settings.height, "height", 0.5);
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
    opened_at_ = std::chrono::steady_clock::now();
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

std::optional<CameraFrame> VideoCaptureSource::read() {
    CameraFrame f;
    if (!capture_.grab() || !capture_.retrieve(f.image) || f.image.empty()) return std::nullopt;
    f.index = index_++;
    double t;
    if (kind_ == SourceKind::File) {
        // Stream time; backends disagree on whether POS_MSEC is before or after the frame.
        t = static_cast<double>(f.index) / fps_;
    } else {
        // Live: arrival time since the source opened (drivers disagree on what their
        // timestamps mean; the station's feed restamps on its own clock anyway).
        t = std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_at_).count();
    }
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

}  // namespace linestation::drivers
