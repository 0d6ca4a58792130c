#pragma once
// Where frames come from: a V4L2 camera (index or /dev/videoN), a network stream
// (rtsp://, http://), a video file, or a folder of numbered images played at a given fps.
// Each frame carries its capture time. A source that stops delivering says so; reopening
// with backoff is the caller's policy (station/vision/camera_feed.hpp).

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

namespace linestation::drivers {

struct CameraFrame {
    cv::Mat image;   // BGR8
    double t = 0;    // capture time (s): stream time for files and folders, else the source's
    long index = 0;  // frame number as the source counts it
    // Live sources: how long before read() returned the frame was captured, from the
    // camera's own timestamp (0 when only the arrival time is known).
    double age_s = 0;
};

struct CameraSettings {
    std::string source;  // /dev/videoN, an index, rtsp://..., http://..., a file, a folder
    int width = 0;       // 0 = leave as is
    int height = 0;
    double fps = 0;  // folders: required; cameras: requested
    std::optional<double> exposure;
    std::optional<double> gain;
    std::optional<double> white_balance_k;
};

enum class SourceKind { Camera, Stream, File, ImageFolder };
SourceKind source_kind(const std::string& source);

class FrameSource {
  public:
    virtual ~FrameSource() = default;
    // The next frame, or nothing at the end of a file or when a live source stops.
    virtual std::optional<CameraFrame> read() = 0;
    virtual bool live() const = 0;
    // What was asked for and could not be set or read back (one line each).
    virtual const std::vector<std::string>& warnings() const = 0;
};

class CameraError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A network camera's frame times (its presentation times, on its own clock) mapped onto
// our monotonic clock. The first frame is taken as captured when the connection began
// (FFmpeg reads ahead while it probes, so the first frames arrive together: their arrival
// says nothing). After that the mapping follows the lower envelope of arrival minus
// presentation time: a frame never arrives before it was captured (the mapping moves back
// at once when one would), and between such frames it creeps forward at most kCreep
// seconds per second, which follows a camera clock slower than ours by up to that much
// (crystals: 100 ppm) without letting arrival jitter into the frame times.
class StreamClock {
  public:
    static constexpr double kCreep = 0.002;
    static constexpr double kMaxLag_s = 2.0;
    explicit StreamClock(double opened_at_s) : opened_at_s_(opened_at_s) {}
    struct Mapped {
        double capture_s;  // on our clock
        bool restarted;    // the mapping had fallen kMaxLag_s behind: restarted from arrival
    };
    // `stamp_s` must increase from call to call.
    Mapped map(double stamp_s, double arrival_s);

  private:
    double opened_at_s_;
    bool first_ = true;
    double offset_s_ = 0;  // our clock minus the camera's
    double last_stamp_s_ = 0;
};

// Frames through OpenCV's VideoCapture (V4L2, streams, video files).
class VideoCaptureSource final : public FrameSource {
  public:
    explicit VideoCaptureSource(const CameraSettings& settings);
    std::optional<CameraFrame> read() override;
    bool live() const override { return kind_ != SourceKind::File; }
    const std::vector<std::string>& warnings() const override { return warnings_; }
    double fps() const { return fps_; }

  private:
    void apply(int property, double value, const char* name, double tolerance);
    void apply_size(int width, int height);
    // The frame's capture time on the monotonic clock (s) from the camera's own timestamp
    // (V4L2 buffer time, RTSP presentation time), or nothing (and a warning, once per
    // cause) when it is missing or not believable.
    std::optional<double> capture_time(double arrival_s);
    void warn_once(const std::string& cause, const std::string& text);
    cv::VideoCapture capture_;
    SourceKind kind_;
    std::string name_;
    double opened_at_s_ = 0;         // when opening began, on the monotonic clock (steady_clock)
    bool timed_by_capture_ = false;  // V4L2 cameras and RTSP streams carry capture times
    std::optional<StreamClock> stream_clock_;  // RTSP
    double fps_ = 0;
    long index_ = 0;
    double last_t_ = -1;
    double last_stamp_s_ = -1;
    std::vector<std::string> warnings_;
    std::vector<std::string> warned_causes_;
};

// Numbered images (frame_000012.jpg, 12.png ...) sorted by their number; frame time is
// number / fps, so gaps in the numbering are dropped frames. A timestamps.txt beside them
// ("<number> <seconds>" per line) gives exact capture times instead.
class ImageFolderSource final : public FrameSource {
  public:
    ImageFolderSource(const std::filesystem::path& folder, double fps);
    std::optional<CameraFrame> read() override;
    bool live() const override { return false; }
    const std::vector<std::string>& warnings() const override { return warnings_; }
    std::size_t size() const { return files_.size(); }

  private:
    struct Entry {
        long number;
        std::filesystem::path path;
        double t;
    };
    std::vector<Entry> files_;
    std::size_t next_ = 0;
    std::vector<std::string> warnings_;
};

// The source for `settings.source`; throws CameraError naming the source when it cannot open.
std::unique_ptr<FrameSource> open_frame_source(const CameraSettings& settings);

// `text` with the password of every `scheme://user:password@` in it replaced by ***: camera
// URLs carry credentials, and errors, warnings, logs and API answers name the camera.
std::string without_url_passwords(const std::string& text);

}  // namespace linestation::drivers
