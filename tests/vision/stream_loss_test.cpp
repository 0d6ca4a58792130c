// Camera loss with the real driver: an MJPEG-over-HTTP camera (multipart/x-mixed-replace,
// as IP cameras serve it) on loopback, opened through OpenCV, that goes away and returns.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "drivers/camera/frame_source.hpp"
#include "station/clock/clock.hpp"
#include "station/vision/camera_feed.hpp"
#include "station/vision/led_scanner.hpp"
#include "tests/vision/vision_clips.hpp"

namespace linestation::vision {
namespace {

using testing::phase;
using testing::script;

// Serves the same few JPEG frames round and round, at about 30 fps, while `on`.
class MjpegCamera {
  public:
    explicit MjpegCamera(std::vector<std::vector<std::uint8_t>> frames)
        : frames_(std::move(frames)), socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
        port_ = socket_.address().port();
    }
    ~MjpegCamera() { stop(); }
    MjpegCamera(const MjpegCamera&) = delete;
    MjpegCamera& operator=(const MjpegCamera&) = delete;

    void start() {
        on_ = true;
        auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
        params->setMaxThreads(2);
        if (!bound_) {
            socket_ = Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", port_));
        }
        bound_ = false;
        // Poco takes ownership of the factory (raw pointer by its API).
        server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
        server_->start();
    }
    void stop() {
        on_ = false;
        if (server_) {
            server_->stopAll(true);
            server_.reset();
        }
        socket_.close();
        // Poco's pool threads outlive the server: a handler still in its loop would read
        // this camera after it is gone (a crash in whichever test runs next).
        while (streaming_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/video.mjpg"; }

  private:
    class Stream final : public Poco::Net::HTTPRequestHandler {
      public:
        explicit Stream(MjpegCamera& camera) : camera_(camera) {}
        void handleRequest(Poco::Net::HTTPServerRequest&,
                           Poco::Net::HTTPServerResponse& response) override {
            ++camera_.streaming_;
            struct Done {
                std::atomic<int>& n;
                ~Done() { --n; }
            } done{camera_.streaming_};
            response.setContentType("multipart/x-mixed-replace; boundary=frame");
            response.setChunkedTransferEncoding(false);
            auto& out = response.send();
            for (std::size_t i = 0; camera_.on_ && out.good(); ++i) {
                const auto& jpeg = camera_.frames_[i % camera_.frames_.size()];
                out << "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " << jpeg.size()
                    << "\r\n\r\n";
                out.write(reinterpret_cast<const char*>(jpeg.data()),
                          static_cast<std::streamsize>(jpeg.size()));
                out << "\r\n";
                out.flush();
                std::this_thread::sleep_for(std::chrono::milliseconds(33));
            }
        }

      private:
        MjpegCamera& camera_;
    };
    class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
      public:
        explicit Factory(MjpegCamera& camera) : camera_(camera) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(
            const Poco::Net::HTTPServerRequest&) override {
            return new Stream(camera_);  // Poco owns and deletes the handler
        }

      private:
        MjpegCamera& camera_;
    };

    std::vector<std::vector<std::uint8_t>> frames_;
    Poco::Net::ServerSocket socket_;
    Poco::UInt16 port_ = 0;
    bool bound_ = true;
    std::atomic<bool> on_{false};
    std::atomic<int> streaming_{0};  // handlers inside handleRequest
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

TEST(VisionCameraFeed, NetworkCameraThatGoesAwayIsLostThenReopened) {
    auto spec = testing::clip_of({script({phase(0, "green", "steady")})}, 0.3, {});
    std::vector<std::vector<std::uint8_t>> jpegs;
    virtual_line::ClipPlayer player(spec);
    while (auto f = player.next()) {
        jpegs.emplace_back();
        cv::imencode(".jpg", f->image, jpegs.back());
    }
    MjpegCamera camera(jpegs);
    camera.start();
    SystemClock clock;
    drivers::CameraSettings settings;
    settings.source = camera.url();
    CameraFeed feed([&] { return drivers::open_frame_source(settings); }, clock, {0.2, 0.8});
    LedScanner scanner({{"A1", spec.rois[0]}}, nullptr, TrackerOptions{});
    std::vector<LedObservation> seen;
    double start = clock.now_s();
    bool stopped = false, restarted = false;
    int frames_after_restart = 0;
    while (clock.now_s() - start < 25) {
        double now = clock.now_s() - start;
        if (!stopped && now > 2.0) {
            camera.stop();
            stopped = true;
        }
        if (stopped && !restarted && now > 4.5) {
            camera.start();
            restarted = true;
        }
        auto p = feed.poll();
        if (p.frame) {
            if (restarted) ++frames_after_restart;
            for (auto& o : scanner.process(p.frame->image, p.frame->t)) seen.push_back(o);
        } else if (p.lost) {
            for (auto& o : scanner.camera_lost(clock.now_s())) seen.push_back(o);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else if (p.ended) {
            break;
        }
        if (frames_after_restart > 30 && seen.size() >= 3) break;
    }
    ASSERT_GE(seen.size(), 3u) << "frames after restart: " << frames_after_restart;
    EXPECT_EQ(seen[0].pattern, "steady");
    EXPECT_EQ(seen[0].color, "green");
    EXPECT_TRUE(seen[1].camera_lost);
    EXPECT_GE(seen[1].t - start, 2.0);
    EXPECT_EQ(seen[2].pattern, "steady");
    EXPECT_GE(seen[2].since - start, 4.5);
    EXPECT_GE(feed.reopen_attempts(), 3);
}

}  // namespace
}  // namespace linestation::vision
